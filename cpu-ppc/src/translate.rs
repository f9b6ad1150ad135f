//! Guest code to blocks: decode from a physical address until a block-ending
//! instruction, the end of the page, or the length limit.

use crate::decode::{decode, ends_block, Insn};
use crate::Bus;

/// Longest block, in instructions. Long enough to amortise the lookup; short enough
/// that the instruction budget check between blocks stays fine-grained.
pub const MAX_BLOCK_INSNS: usize = 64;

/// Decode the block starting at physical address `pa` (word aligned). RAM is read
/// directly; anything else (the ROM) through the bus.
pub fn translate_block<B: Bus>(bus: &mut B, pa: u32, now_ns: u64) -> Vec<Insn> {
    let mut insns = Vec::with_capacity(16);
    let mut addr = pa;
    loop {
        let word = match bus.ram().read_u32(addr) {
            Some(w) => w,
            None => bus.read(addr, 4, now_ns),
        };
        let insn = decode(word);
        insns.push(insn);
        addr = addr.wrapping_add(4);
        if ends_block(&insn) || addr & 0xFFF == 0 || insns.len() >= MAX_BLOCK_INSNS {
            return insns;
        }
    }
}
