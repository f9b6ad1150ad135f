//! Guest code to blocks: decode from a physical address until a block-ending
//! instruction, the end of the page, or the length limit.

use crate::decode::{decode, ends_block, Insn, Op, F_AA, F_BACK, F_LK};
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
///
/// A conditional branch backward within the page is a loop's back edge, taken
/// far more often than not (OpenBIOS's Forth interpreter loop: 10.9 M times
/// against 0.2 M), so translation goes on at its target too (`F_BACK`): the
/// taken branch costs no block lookup, and the one that falls through leaves
/// the block, as a taken branch does otherwise.
///
/// A `bl` of that kind also records its return address, and a `blr` reached in
/// the block afterwards becomes a `Ret` to it: translation goes on at the return
/// address, and at run time the block does too when LR still holds it (a leaf
/// call returns within the block; anything else leaves it as a `blr` would).
pub fn translate_block<B: Bus>(bus: &mut B, pa: u32, now_ns: u64) -> Vec<Insn> {
    let mut insns = Vec::with_capacity(16);
    let page = pa & !0xFFF;
    let mut addr = pa;
    let mut returns = Vec::new();
    loop {
        let word = fetch_word(bus, addr, now_ns);
        let mut insn = decode(word);
        insn.idx = insns.len() as u8;
        insn.off = (addr & 0xFFF) as u16;
        let mut next = addr.wrapping_add(4);
        let mut ends = ends_block(&insn);
        if insn.op == Op::B && insn.f & F_AA == 0 {
            let target = addr.wrapping_add(insn.imm);
            if target & !0xFFF == page {
                insn.op = Op::Goto;
                insn.handler = Op::Goto as u16;
                next = target;
                ends = false;
                if insn.f & F_LK != 0 {
                    returns.push(addr.wrapping_add(4));
                }
            }
        } else if insn.op == Op::Bc && insn.f & (F_AA | F_LK) == 0 && !ends {
            let target = addr.wrapping_add(insn.imm);
            if target & !0xFFF == page && target <= addr {
                insn.f |= F_BACK;
                next = target;
            }
        } else if insn.op == Op::Blr && insn.f & F_LK == 0 {
            if let Some(ret) = returns.pop().filter(|r| r & !0xFFF == page) {
                insn.op = Op::Ret;
                insn.handler = Op::Ret as u16;
                insn.imm = ret & 0xFFF;
                next = ret;
                ends = false;
            }
        }
        debug_assert_eq!(next, next_addr(&insn, addr));
        insns.push(insn);
        addr = next;
        if ends || addr & !0xFFF != page || insns.len() >= MAX_BLOCK_INSNS {
            return insns;
        }
    }
}

/// The address of the op after `i`, translated from `addr`, in its block: where a
/// `Goto`, a `Ret` or a backward `bc` went on, else the next word.
pub fn next_addr(i: &Insn, addr: u32) -> u32 {
    match i.op {
        Op::Goto => addr.wrapping_add(i.imm),
        Op::Ret => (addr & !0xFFF) | i.imm,
        Op::Bc if i.f & F_BACK != 0 => addr.wrapping_add(i.imm),
        _ => addr.wrapping_add(4),
    }
}
