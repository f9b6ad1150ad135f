//! Guest code to blocks: decode from a physical address until a block-ending
//! instruction, the end of the page, or the length limit.

use crate::decode::{decode, ends_block, Insn, Op, F_AA};
use crate::Bus;

/// Longest block, in instructions. Long enough to amortise the lookup; short enough
/// that the instruction budget check between blocks stays fine-grained.
pub const MAX_BLOCK_INSNS: usize = 64;

/// The instruction word at physical address `addr`: from RAM directly, anything
/// else (the ROM) through the bus.
pub fn fetch_word<B: Bus>(bus: &mut B, addr: u32, now_ns: u64) -> u32 {
    match bus.ram().read_u32(addr) {
        Some(w) => w,
        None => bus.read(addr, 4, now_ns),
    }
}

/// Decode the block starting at physical address `pa` (word aligned).
///
/// A relative `b`/`bl` to the same page does not end the block: translation goes
/// on at its target (a `Goto`), so the jump costs no block lookup. Blocks still
/// never leave their page, so invalidating a page drops exactly the blocks that
/// read it; effective and physical addresses agree within a page, so the target
/// is the same whatever the mapping.
pub fn translate_block<B: Bus>(bus: &mut B, pa: u32, now_ns: u64) -> Vec<Insn> {
    let mut insns = Vec::with_capacity(16);
    let page = pa & !0xFFF;
    let mut addr = pa;
    loop {
        let word = fetch_word(bus, addr, now_ns);
        let mut insn = decode(word);
        insn.idx = insns.len() as u8;
        let mut next = addr.wrapping_add(4);
        let mut ends = ends_block(&insn);
        if insn.op == Op::B && insn.f & F_AA == 0 {
            let target = addr.wrapping_add(insn.imm);
            if target & !0xFFF == page {
                insn.op = Op::Goto;
                insn.handler = Op::Goto as u16;
                next = target;
                ends = false;
            }
        }
        insns.push(insn);
        addr = next;
        if ends || addr & !0xFFF != page || insns.len() >= MAX_BLOCK_INSNS {
            return insns;
        }
    }
}
