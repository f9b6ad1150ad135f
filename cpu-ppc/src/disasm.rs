//! Disassembler for logs and the debugger, on capstone (PowerPC 32-bit, big-endian).
//!
//! Capstone knows every PowerPC extension (AltiVec, VSX, 64-bit, SPE, 4xx). The 750
//! has none of them, so words outside the 750's opcode map (750 manual, appendix A,
//! and QEMU's `POWERPC_INSNS_750`) print as `.long 0x...`, as do words capstone does
//! not decode: what is printed is what the 750 would execute. Reserved-field bits
//! inside an otherwise valid opcode are left to capstone.

use capstone::arch::ppc::ArchMode;
use capstone::arch::BuildsCapstone;
use capstone::arch::BuildsCapstoneEndian;
use capstone::{Capstone, Endian};
use std::cell::RefCell;
use std::fmt;

thread_local! {
    // Building a capstone handle costs far more than a lookup; keep one per thread.
    static CAPSTONE: RefCell<Option<Capstone>> = RefCell::new(
        Capstone::new()
            .ppc()
            .mode(ArchMode::Mode32)
            .endian(Endian::Big)
            .build()
            .ok(),
    );
}

/// The text for one instruction word at `addr`: `"and r0, r0, r3"`, branch targets
/// as absolute addresses, or `".long 0x..."` for a word the 750 does not decode.
pub fn disassemble(word: u32, addr: u32) -> String {
    if !is_750_opcode(word) {
        return undecoded(word);
    }
    CAPSTONE.with(|cs| {
        let cs = cs.borrow();
        let Some(cs) = cs.as_ref() else {
            return undecoded(word);
        };
        capstone_text(cs, word, addr)
            .or_else(|| capstone_gap(cs, word, addr))
            .unwrap_or_else(|| undecoded(word))
    })
}

fn capstone_text(cs: &Capstone, word: u32, addr: u32) -> Option<String> {
    let insns = cs
        .disasm_count(&word.to_be_bytes(), u64::from(addr), 1)
        .ok()?;
    let insn = insns.iter().next()?;
    let mnemonic = insn.mnemonic().unwrap_or_default();
    let ops = insn.op_str().map(str::trim).unwrap_or_default();
    // capstone prints mftb's TBR number even for plain TBL (268).
    let ops = match mnemonic {
        "mftb" => ops.strip_suffix(", 0x10c").unwrap_or(ops),
        _ => ops,
    };
    Some(if ops.is_empty() {
        mnemonic.to_string()
    } else {
        format!("{mnemonic} {}", wrap_branch_target(word, addr, ops))
    })
}

/// capstone computes branch targets in 64 bits, so a branch across 0 prints
/// `0xfffffffffffffffc` or `0x100000004`; the 750 wraps at 32 bits.
fn wrap_branch_target(word: u32, addr: u32, ops: &str) -> String {
    let disp = match word >> 26 {
        18 => i64::from(((word & 0x03FF_FFFC) << 6) as i32 >> 6),
        16 => i64::from((word & 0xFFFC) as u16 as i16),
        _ => return ops.to_string(),
    };
    let absolute = word & 2 != 0;
    let wide = if absolute {
        disp
    } else {
        i64::from(addr) + disp
    } as u64;
    let target = wide as u32;
    if u64::from(target) == wide {
        return ops.to_string();
    }
    ops.replace(&format!("{wide:#x}"), &format!("{target:#x}"))
}

/// 750 instructions capstone 5 does not decode: the OE forms of XO arithmetic,
/// `mcrxr`, `lswx`, `stswx`, `eciwx`, `ecowx` and `fcmpo`. Same operand style.
fn capstone_gap(cs: &Capstone, word: u32, addr: u32) -> Option<String> {
    const OE: u32 = 0x400;
    let op = word >> 26;
    let xo10 = (word >> 1) & 0x3FF;
    let field = |shift: u32| (word >> shift) & 0x1F;
    let ra0 = |ra: u32| {
        if ra == 0 {
            "0".to_string()
        } else {
            format!("r{ra}")
        }
    };
    match (op, xo10) {
        (31, x) if x & 0x200 != 0 && OP31_OE.contains(&(x & 0x1FF)) => {
            // The OE form prints as the plain form with `o` before any `.`.
            let plain = capstone_text(cs, word & !OE, addr)?;
            let (mnemonic, ops) = plain.split_once(' ').unwrap_or((&plain, ""));
            let mnemonic = match mnemonic.strip_suffix('.') {
                Some(base) => format!("{base}o."),
                None => format!("{mnemonic}o"),
            };
            Some(format!("{mnemonic} {ops}"))
        }
        (31, 512) if word & 0x007F_F801 == 0 => Some(format!("mcrxr cr{}", word >> 23 & 7)),
        (31, 533 | 661 | 310 | 438) if word & 1 == 0 => {
            let name = match xo10 {
                533 => "lswx",
                661 => "stswx",
                310 => "eciwx",
                _ => "ecowx",
            };
            Some(format!(
                "{name} r{}, {}, r{}",
                field(21),
                ra0(field(16)),
                field(11)
            ))
        }
        (63, 32) if word & 0x0060_0001 == 0 => Some(format!(
            "fcmpo cr{}, f{}, f{}",
            word >> 23 & 7,
            field(16),
            field(11)
        )),
        _ => None,
    }
}

fn undecoded(word: u32) -> String {
    format!(".long 0x{word:08x}")
}

/// One disassembled instruction of a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub addr: u32,
    pub word: u32,
    pub text: String,
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}:  {:08x}  {}", self.addr, self.word, self.text)
    }
}

/// Disassembles big-endian `code` loaded at `addr`, one line per whole word; a
/// trailing partial word is ignored. Never stops early: undecodable words become
/// `.long` lines.
pub fn disassemble_block(code: &[u8], addr: u32) -> Vec<Line> {
    code.chunks_exact(4)
        .zip((0u32..).map(|i| addr.wrapping_add(i * 4)))
        .map(|(bytes, addr)| {
            let word = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            Line {
                addr,
                word,
                text: disassemble(word, addr),
            }
        })
        .collect()
}

/// Disassembles `count` words starting at `addr`, fetching each through `read_u32`
/// (for instance guest memory through the MMU). A `None` word ends the listing.
pub fn disassemble_range(
    addr: u32,
    count: usize,
    mut read_u32: impl FnMut(u32) -> Option<u32>,
) -> Vec<Line> {
    (0..count as u32)
        .map(|i| addr.wrapping_add(i * 4))
        .map_while(|addr| {
            let word = read_u32(addr)?;
            Some(Line {
                addr,
                word,
                text: disassemble(word, addr),
            })
        })
        .collect()
}

/// Opcode 19 extended opcodes of the 750 (XL form, bits 21..30).
const OP19: &[u32] = &[0, 16, 33, 50, 129, 150, 193, 225, 257, 289, 417, 449, 528];

/// Opcode 31 extended opcodes of the 750 (X form, bits 21..30), without the OE
/// variants of XO-form arithmetic, which [`OP31_OE`] adds.
const OP31: &[u32] = &[
    0, 4, 8, 10, 11, 19, 20, 23, 24, 26, 28, 32, 40, 54, 55, 60, 75, 83, 86, 87, 104, 119, 124,
    136, 138, 144, 146, 150, 151, 183, 200, 202, 210, 215, 232, 234, 235, 242, 246, 247, 266, 278,
    279, 284, 306, 310, 311, 316, 339, 343, 371, 375, 407, 412, 438, 439, 444, 459, 467, 470, 476,
    491, 512, 533, 534, 535, 536, 566, 567, 595, 597, 598, 599, 631, 659, 661, 662, 663, 695, 725,
    727, 759, 790, 792, 824, 854, 918, 922, 954, 982, 983, 1014,
];

/// XO-form opcode 31 arithmetic that has an OE (overflow) form, XO bits 22..30.
const OP31_OE: &[u32] = &[
    8, 10, 40, 104, 136, 138, 200, 202, 232, 234, 235, 266, 459, 491,
];

/// Opcode 59 (single-precision) A-form extended opcodes, bits 26..30. No fsqrts.
const OP59: &[u32] = &[18, 20, 21, 24, 25, 28, 29, 30, 31];

/// Opcode 63 A-form extended opcodes, bits 26..30. No fsqrt.
const OP63_A: &[u32] = &[18, 20, 21, 23, 25, 26, 28, 29, 30, 31];

/// Opcode 63 X-form extended opcodes, bits 21..30.
const OP63_X: &[u32] = &[
    0, 12, 14, 15, 32, 38, 40, 64, 70, 72, 134, 136, 264, 583, 711,
];

/// Whether the primary and extended opcodes of `word` are in the 750's map.
pub fn is_750_opcode(word: u32) -> bool {
    let xo10 = (word >> 1) & 0x3FF;
    let xo5 = (word >> 1) & 0x1F;
    match word >> 26 {
        3 | 7 | 8 | 10..=18 | 20 | 21 | 23..=29 | 32..=55 => true,
        19 => OP19.contains(&xo10),
        31 => OP31.contains(&xo10) || (xo10 & 0x200 != 0 && OP31_OE.contains(&(xo10 & 0x1FF))),
        59 => OP59.contains(&xo5),
        63 => OP63_A.contains(&xo5) || OP63_X.contains(&xo10),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `assert_asm!(word, "text")` at address 0, or `assert_asm!(word, addr, "text")`.
    macro_rules! assert_asm {
        ($word:expr, $text:expr) => {
            assert_asm!($word, 0, $text)
        };
        ($word:expr, $addr:expr, $text:expr) => {{
            let word: u32 = $word;
            assert_eq!(disassemble(word, $addr), $text, "word {word:#010x}")
        }};
    }

    #[test]
    fn integer_arithmetic() {
        assert_asm!(0x7C642A14, "add r3, r4, r5");
        assert_asm!(0x7C642A15, "add. r3, r4, r5");
        assert_asm!(0x7C642E14, "addo r3, r4, r5");
        assert_asm!(0x7C642E15, "addo. r3, r4, r5");
        assert_asm!(0x7C642814, "addc r3, r4, r5");
        assert_asm!(0x7C642914, "adde r3, r4, r5");
        assert_asm!(0x7C640194, "addze r3, r4");
        assert_asm!(0x7C6401D4, "addme r3, r4");
        assert_asm!(0x3864FFFF, "addi r3, r4, -1");
        assert_asm!(0x38600064, "li r3, 0x64");
        assert_asm!(0x3C601234, "lis r3, 0x1234");
        assert_asm!(0x30640001, "addic r3, r4, 1");
        assert_asm!(0x34640001, "addic. r3, r4, 1");
        assert_asm!(0x3C640010, "addis r3, r4, 0x10");
        assert_asm!(0x7C642850, "subf r3, r4, r5");
        assert_asm!(0x7C642810, "subfc r3, r4, r5");
        assert_asm!(0x7C642910, "subfe r3, r4, r5");
        assert_asm!(0x7C640190, "subfze r3, r4");
        assert_asm!(0x7C6401D0, "subfme r3, r4");
        assert_asm!(0x20640007, "subfic r3, r4, 7");
        assert_asm!(0x7C6400D0, "neg r3, r4");
        assert_asm!(0x7C6404D1, "nego. r3, r4");
        assert_asm!(0x7C6429D6, "mullw r3, r4, r5");
        assert_asm!(0x7C642DD6, "mullwo r3, r4, r5");
        assert_asm!(0x7C642896, "mulhw r3, r4, r5");
        assert_asm!(0x7C642816, "mulhwu r3, r4, r5");
        assert_asm!(0x1C64FFFD, "mulli r3, r4, -3");
        assert_asm!(0x7C642BD6, "divw r3, r4, r5");
        assert_asm!(0x7C642B96, "divwu r3, r4, r5");
        assert_asm!(0x7C642FD7, "divwo. r3, r4, r5");
    }

    #[test]
    fn logical_and_extend() {
        assert_asm!(0x7C832838, "and r3, r4, r5");
        assert_asm!(0x7C832878, "andc r3, r4, r5");
        assert_asm!(0x7C832B78, "or r3, r4, r5");
        assert_asm!(0x7C832378, "mr r3, r4");
        assert_asm!(0x7C832B38, "orc r3, r4, r5");
        assert_asm!(0x7C832A78, "xor r3, r4, r5");
        assert_asm!(0x7C832BB8, "nand r3, r4, r5");
        assert_asm!(0x7C8328F8, "nor r3, r4, r5");
        assert_asm!(0x7C8320F8, "nor r3, r4, r4");
        assert_asm!(0x7C832A38, "eqv r3, r4, r5");
        assert_asm!(0x708300FF, "andi. r3, r4, 0xff");
        assert_asm!(0x748300FF, "andis. r3, r4, 0xff");
        assert_asm!(0x60831234, "ori r3, r4, 0x1234");
        assert_asm!(0x60000000, "nop");
        assert_asm!(0x64831234, "oris r3, r4, 0x1234");
        assert_asm!(0x68830001, "xori r3, r4, 1");
        assert_asm!(0x6C830001, "xoris r3, r4, 1");
        assert_asm!(0x7C830774, "extsb r3, r4");
        assert_asm!(0x7C830734, "extsh r3, r4");
        assert_asm!(0x7C830034, "cntlzw r3, r4");
    }

    #[test]
    fn rotates_and_shifts() {
        assert_asm!(0x5483083C, "slwi r3, r4, 1");
        assert_asm!(0x5483103A, "slwi r3, r4, 2");
        assert_asm!(0x5483F0BE, "srwi r3, r4, 2");
        assert_asm!(0x5483043E, "clrlwi r3, r4, 0x10");
        assert_asm!(0x5483403E, "rotlwi r3, r4, 8");
        assert_asm!(0x5083442E, "rlwimi r3, r4, 8, 0x10, 0x17");
        assert_asm!(0x5C83283E, "rotlw r3, r4, r5");
        assert_asm!(0x7C832830, "slw r3, r4, r5");
        assert_asm!(0x7C832C30, "srw r3, r4, r5");
        assert_asm!(0x7C832E30, "sraw r3, r4, r5");
        assert_asm!(0x7C834E70, "srawi r3, r4, 9");
        assert_asm!(0x7C834E71, "srawi. r3, r4, 9");
    }

    #[test]
    fn compares() {
        assert_asm!(0x7C032000, "cmpw r3, r4");
        assert_asm!(0x7C832000, "cmpw cr1, r3, r4");
        assert_asm!(0x7C032040, "cmplw r3, r4");
        assert_asm!(0x2C03FFFF, "cmpwi r3, -1");
        assert_asm!(0x2B83000A, "cmplwi cr7, r3, 0xa");
    }

    #[test]
    fn branches_print_absolute_targets() {
        assert_asm!(0x4800000C, 0x110C, "b 0x1118");
        assert_asm!(0x4800000D, 0x1110, "bl 0x111c");
        assert_asm!(0x48000102, 0x1114, "ba 0x100");
        assert_asm!(0x4BFFFFFC, 0x1118, "b 0x1114");
        assert_asm!(0x41820008, 0x111C, "beq 0x1124");
        assert_asm!(0x4086FFF8, 0x1120, "bne cr1, 0x1118");
        assert_asm!(0x41800008, 0x1124, "blt 0x112c");
        assert_asm!(0x41810008, 0x1128, "bgt 0x1130");
        assert_asm!(0x4200FFF0, 0x112C, "bdnz 0x111c");
        assert_asm!(0x42400010, 0x1130, "bdz 0x1140");
        assert_asm!(0x40820008, 0x1134, "bne 0x113c");
        assert_asm!(0x4E800020, 0x1138, "blr");
        assert_asm!(0x4E800420, 0x113C, "bctr");
        assert_asm!(0x4E800421, 0x1140, "bctrl");
        assert_asm!(0x4D820020, 0x1144, "beqlr");
        assert_asm!(0x4C820420, 0x1148, "bnectr");
        assert_asm!(0x4E000020, 0x114C, "bdnzlr");
    }

    #[test]
    fn special_and_condition_registers() {
        assert_asm!(0x7C6903A6, "mtctr r3");
        assert_asm!(0x7C6902A6, "mfctr r3");
        assert_asm!(0x7C6803A6, "mtlr r3");
        assert_asm!(0x7C6802A6, "mflr r3");
        assert_asm!(0x7C6102A6, "mfxer r3");
        assert_asm!(0x7C6103A6, "mtxer r3");
        assert_asm!(0x7C600026, "mfcr r3");
        assert_asm!(0x7C6FF120, "mtcrf 0xff, r3");
        assert_asm!(0x7C680120, "mtcrf 0x80, r3");
        assert_asm!(0x4C880000, "mcrf cr1, cr2");
        assert_asm!(0x7D000400, "mcrxr cr2");
        assert_asm!(0x4C221A02, "crand cr0gt, cr0eq, cr0un");
        assert_asm!(0x4C221B82, "cror cr0gt, cr0eq, cr0un");
        assert_asm!(0x4CC63182, "crclr cr1eq");
        assert_asm!(0x4C221842, "crnor cr0gt, cr0eq, cr0un");
        assert_asm!(0x4C221902, "crandc cr0gt, cr0eq, cr0un");
        assert_asm!(0x4C221A42, "creqv cr0gt, cr0eq, cr0un");
        assert_asm!(0x4C2219C2, "crnand cr0gt, cr0eq, cr0un");
        assert_asm!(0x4C221B42, "crorc cr0gt, cr0eq, cr0un");
    }

    #[test]
    fn loads_and_stores() {
        assert_asm!(0x88640001, "lbz r3, 1(r4)");
        assert_asm!(0x8C640001, "lbzu r3, 1(r4)");
        assert_asm!(0x7C6428AE, "lbzx r3, r4, r5");
        assert_asm!(0x7C6428EE, "lbzux r3, r4, r5");
        assert_asm!(0xA0640002, "lhz r3, 2(r4)");
        assert_asm!(0xA4640002, "lhzu r3, 2(r4)");
        assert_asm!(0x7C642A2E, "lhzx r3, r4, r5");
        assert_asm!(0x7C642A6E, "lhzux r3, r4, r5");
        assert_asm!(0xA8640002, "lha r3, 2(r4)");
        assert_asm!(0xAC640002, "lhau r3, 2(r4)");
        assert_asm!(0x7C642AAE, "lhax r3, r4, r5");
        assert_asm!(0x7C642AEE, "lhaux r3, r4, r5");
        assert_asm!(0x8061FFFC, "lwz r3, -4(r1)");
        assert_asm!(0x84610004, "lwzu r3, 4(r1)");
        assert_asm!(0x7C64282E, "lwzx r3, r4, r5");
        assert_asm!(0x7C64286E, "lwzux r3, r4, r5");
        assert_asm!(0x98640001, "stb r3, 1(r4)");
        assert_asm!(0x9C640001, "stbu r3, 1(r4)");
        assert_asm!(0x7C6429AE, "stbx r3, r4, r5");
        assert_asm!(0x7C6429EE, "stbux r3, r4, r5");
        assert_asm!(0xB0640002, "sth r3, 2(r4)");
        assert_asm!(0xB4640002, "sthu r3, 2(r4)");
        assert_asm!(0x7C642B2E, "sthx r3, r4, r5");
        assert_asm!(0x7C642B6E, "sthux r3, r4, r5");
        assert_asm!(0x90610008, "stw r3, 8(r1)");
        assert_asm!(0x9421FFF0, "stwu r1, -0x10(r1)");
        assert_asm!(0x7C64292E, "stwx r3, r4, r5");
        assert_asm!(0x7C64296E, "stwux r3, r4, r5");
        assert_asm!(0x7C642E2C, "lhbrx r3, r4, r5");
        assert_asm!(0x7C602C2C, "lwbrx r3, 0, r5");
        assert_asm!(0x7C642F2C, "sthbrx r3, r4, r5");
        assert_asm!(0x7C642D2C, "stwbrx r3, r4, r5");
    }

    #[test]
    fn multiple_string_and_reservation() {
        assert_asm!(0xBB810008, "lmw r28, 8(r1)");
        assert_asm!(0xBF810008, "stmw r28, 8(r1)");
        assert_asm!(0x7CA444AA, "lswi r5, r4, 8");
        assert_asm!(0x7CC42C2A, "lswx r6, r4, r5");
        assert_asm!(0x7C6445AA, "stswi r3, r4, 8");
        assert_asm!(0x7C642D2A, "stswx r3, r4, r5");
        assert_asm!(0x7C602028, "lwarx r3, 0, r4");
        assert_asm!(0x7C60212D, "stwcx. r3, 0, r4");
    }

    #[test]
    fn barriers_cache_and_timebase() {
        assert_asm!(0x7C0004AC, "sync");
        assert_asm!(0x7C0006AC, "eieio");
        assert_asm!(0x4C00012C, "isync");
        assert_asm!(0x7C001FEC, "dcbz 0, r3");
        assert_asm!(0x7C0018AC, "dcbf 0, r3");
        assert_asm!(0x7C00186C, "dcbst 0, r3");
        assert_asm!(0x7C001BAC, "dcbi 0, r3");
        assert_asm!(0x7C001A2C, "dcbt 0, r3");
        assert_asm!(0x7C0019EC, "dcbtst 0, r3");
        assert_asm!(0x7C001FAC, "icbi 0, r3");
        assert_asm!(0x7C6C42E6, "mftb r3");
        assert_asm!(0x7C6D42E6, "mftbu r3");
    }

    #[test]
    fn traps() {
        assert_asm!(0x7C832008, "tweq r3, r4");
        assert_asm!(0x0FE00000, "twui r0, 0");
        assert_asm!(0x7FE00008, "trap");
        assert_asm!(0x0E030005, "twlti r3, 5");
    }

    #[test]
    fn supervisor_and_mmu() {
        assert_asm!(0x44000002, "sc");
        assert_asm!(0x4C000064, "rfi");
        assert_asm!(0x7C6000A6, "mfmsr r3");
        assert_asm!(0x7C600124, "mtmsr r3");
        assert_asm!(0x7C6504A6, "mfsr r3, 5");
        assert_asm!(0x7C6501A4, "mtsr 5, r3");
        assert_asm!(0x7C602526, "mfsrin r3, r4");
        assert_asm!(0x7C6021E4, "mtsrin r3, r4");
        assert_asm!(0x7C001A64, "tlbie r3");
        assert_asm!(0x7C00046C, "tlbsync");
        assert_asm!(0x7C7042A6, "mfspr r3, 0x110");
        assert_asm!(0x7C7143A6, "mtspr 0x111, r3");
        assert_asm!(0x7C7242A6, "mfspr r3, 0x112");
        assert_asm!(0x7C7343A6, "mtspr 0x113, r3");
        assert_asm!(0x7C7A02A6, "mfspr r3, 0x1a");
        assert_asm!(0x7C7B03A6, "mtspr 0x1b, r3");
        assert_asm!(0x7C7302A6, "mfdar r3");
        assert_asm!(0x7C7202A6, "mfdsisr r3");
        assert_asm!(0x7C7902A6, "mfspr r3, 0x19");
        assert_asm!(0x7C7903A6, "mtspr 0x19, r3");
        assert_asm!(0x7C7F42A6, "mfpvr r3");
        assert_asm!(0x7C7602A6, "mfspr r3, 0x16");
        assert_asm!(0x7C7603A6, "mtspr 0x16, r3");
        assert_asm!(0x7C7083A6, "mtibatu 0, r3");
        assert_asm!(0x7C7883A6, "mtdbatu 0, r3");
        assert_asm!(0x7C70FAA6, "mfspr r3, 0x3f0");
        assert_asm!(0x7C79FBA6, "mtspr 0x3f9, r3");
        assert_asm!(0x7C7C43A6, "mttbl r3");
        assert_asm!(0x7C7D43A6, "mttbu r3");
        assert_asm!(0x7C642A6C, "eciwx r3, r4, r5");
        assert_asm!(0x7C642B6C, "ecowx r3, r4, r5");
    }

    #[test]
    fn float_loads_and_stores() {
        assert_asm!(0xC0230004, "lfs f1, 4(r3)");
        assert_asm!(0xC4230004, "lfsu f1, 4(r3)");
        assert_asm!(0x7C23242E, "lfsx f1, r3, r4");
        assert_asm!(0x7C23246E, "lfsux f1, r3, r4");
        assert_asm!(0xC8230008, "lfd f1, 8(r3)");
        assert_asm!(0xCC230008, "lfdu f1, 8(r3)");
        assert_asm!(0x7C2324AE, "lfdx f1, r3, r4");
        assert_asm!(0x7C2324EE, "lfdux f1, r3, r4");
        assert_asm!(0xD0230004, "stfs f1, 4(r3)");
        assert_asm!(0xD4230004, "stfsu f1, 4(r3)");
        assert_asm!(0x7C23252E, "stfsx f1, r3, r4");
        assert_asm!(0x7C23256E, "stfsux f1, r3, r4");
        assert_asm!(0xD8230008, "stfd f1, 8(r3)");
        assert_asm!(0xDC230008, "stfdu f1, 8(r3)");
        assert_asm!(0x7C2325AE, "stfdx f1, r3, r4");
        assert_asm!(0x7C2325EE, "stfdux f1, r3, r4");
        assert_asm!(0x7C2327AE, "stfiwx f1, r3, r4");
    }

    #[test]
    fn float_arithmetic() {
        assert_asm!(0xFC22182A, "fadd f1, f2, f3");
        assert_asm!(0xFC22182B, "fadd. f1, f2, f3");
        assert_asm!(0xEC22182A, "fadds f1, f2, f3");
        assert_asm!(0xFC221828, "fsub f1, f2, f3");
        assert_asm!(0xEC221828, "fsubs f1, f2, f3");
        assert_asm!(0xFC2200F2, "fmul f1, f2, f3");
        assert_asm!(0xEC2200F2, "fmuls f1, f2, f3");
        assert_asm!(0xFC221824, "fdiv f1, f2, f3");
        assert_asm!(0xEC221824, "fdivs f1, f2, f3");
        assert_asm!(0xFC2220FA, "fmadd f1, f2, f3, f4");
        assert_asm!(0xEC2220FA, "fmadds f1, f2, f3, f4");
        assert_asm!(0xFC2220F8, "fmsub f1, f2, f3, f4");
        assert_asm!(0xEC2220F8, "fmsubs f1, f2, f3, f4");
        assert_asm!(0xFC2220FE, "fnmadd f1, f2, f3, f4");
        assert_asm!(0xEC2220FE, "fnmadds f1, f2, f3, f4");
        assert_asm!(0xFC2220FC, "fnmsub f1, f2, f3, f4");
        assert_asm!(0xEC2220FC, "fnmsubs f1, f2, f3, f4");
        assert_asm!(0xEC201030, "fres f1, f2");
        assert_asm!(0xFC201034, "frsqrte f1, f2");
        assert_asm!(0xFC2220EE, "fsel f1, f2, f3, f4");
        assert_asm!(0xFC201018, "frsp f1, f2");
        assert_asm!(0xFC20101C, "fctiw f1, f2");
        assert_asm!(0xFC20101E, "fctiwz f1, f2");
        assert_asm!(0xFC201090, "fmr f1, f2");
        assert_asm!(0xFC201050, "fneg f1, f2");
        assert_asm!(0xFC201210, "fabs f1, f2");
        assert_asm!(0xFC201110, "fnabs f1, f2");
    }

    #[test]
    fn float_compare_and_fpscr() {
        assert_asm!(0xFC821800, "fcmpu cr1, f2, f3");
        assert_asm!(0xFC021840, "fcmpo cr0, f2, f3");
        assert_asm!(0xFC20048E, "mffs f1");
        assert_asm!(0xFC20048F, "mffs. f1");
        assert_asm!(0xFDFE0D8E, "mtfsf 0xff, f1");
        assert_asm!(0xFF80310C, "mtfsfi cr7, 3");
        assert_asm!(0xFFE0008C, "mtfsb0 0x1f");
        assert_asm!(0xFC60004C, "mtfsb1 3");
        assert_asm!(0xFC880080, "mcrfs cr1, cr2");
    }

    #[test]
    fn branch_targets_wrap_at_32_bits() {
        assert_asm!(0x4BFFFFFC, 0, "b 0xfffffffc");
        assert_asm!(0x48000008, 0xFFFF_FFFC, "b 0x4");
        assert_asm!(0x4182FFF0, 4, "beq 0xfffffff4");
        assert_asm!(0x4BFFFF02, 0x1000, "ba 0xffffff00");
        assert_asm!(0x4BFFFF00, 0xFFF0_0100, "b 0xfff00000");
    }

    #[test]
    fn instructions_capstone_lacks_are_filled_in() {
        assert_asm!(0x7C642E14, "addo r3, r4, r5");
        assert_asm!(0x7C642C11, "subfco. r3, r4, r5");
        assert_asm!(0x7C6005D4, "addmeo r3, r0");
        assert_asm!(0x7C642F96, "divwuo r3, r4, r5");
        assert_asm!(0x7F800400, "mcrxr cr7");
        assert_asm!(0x7CC02C2A, "lswx r6, 0, r5");
        assert_asm!(0x7C642A6C, "eciwx r3, r4, r5");
        assert_asm!(0xFF821840, "fcmpo cr7, f2, f3");
    }

    #[test]
    fn words_outside_the_750_print_as_long() {
        let not_750 = [
            0x0000_0000,              // opcode 0
            0x1000_0000,              // AltiVec vaddubm
            0xE861_0008,              // ld (64-bit)
            0xF861_0008,              // std (64-bit)
            0x0803_0000,              // tdi (64-bit)
            0x7C63_11D2,              // mulld (64-bit)
            0x7863_0020,              // rldicl (64-bit)
            0xF000_0000,              // VSX
            0xFC20_102C,              // fsqrt: not on the 750
            0xEC20_102C,              // fsqrts
            0x7C00_02E4,              // tlbia: not on the 750
            0x7C00_07A4,              // tlbld: 603 only
            0x7C64_2C96,              // mulhw with the reserved OE bit
            0x7C00_012C,              // stwcx without the record bit
            0x4C00_0000 | (999 << 1), // opcode 19, no such XO
        ];
        for word in not_750 {
            assert_eq!(disassemble(word, 0), format!(".long {word:#010x}"));
        }
    }

    #[test]
    fn any_word_disassembles_without_panicking() {
        // A stride prime to 2^32 visits every primary and extended opcode.
        let words = (0..70_000u32)
            .map(|i| i.wrapping_mul(61_363))
            .chain((0..64u32).flat_map(|op| (0..2048u32).map(move |low| op << 26 | low)));
        for word in words {
            let text = disassemble(word, word);
            if !is_750_opcode(word) {
                assert_eq!(text, format!(".long {word:#010x}"));
            } else {
                assert!(!text.is_empty(), "{word:#010x}");
            }
        }
    }

    #[test]
    fn block_lists_every_word_and_ignores_a_partial_tail() {
        let code = [
            0x38, 0x60, 0x00, 0x01, // li r3, 1
            0x00, 0x00, 0x00, 0x00, // not an instruction
            0x4B, 0xFF, 0xFF, 0xF8, // b back to the start
            0x7C, 0x00, // half a word
        ];

        let lines = disassemble_block(&code, 0xFFF0_0100);

        let shown: Vec<String> = lines.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "fff00100:  38600001  li r3, 1",
                "fff00104:  00000000  .long 0x00000000",
                "fff00108:  4bfffff8  b 0xfff00100",
            ]
        );
    }

    #[test]
    fn range_reads_through_the_callback_and_stops_at_unmapped() {
        let mem = |addr: u32| match addr {
            0x100 => Some(0x7C08_02A6),
            0x104 => Some(0x4E80_0020),
            _ => None,
        };

        let lines = disassemble_range(0x100, 5, mem);

        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "mflr r0");
        assert_eq!((lines[1].addr, lines[1].word), (0x104, 0x4E80_0020));
        assert_eq!(lines[1].text, "blr");
    }

    #[test]
    fn opcode_map_accepts_oe_forms_only_for_xo_arithmetic() {
        assert!(is_750_opcode(0x7C64_2E14)); // addo
        assert!(!is_750_opcode(0x7C64_2C96)); // mulhw + OE
        assert!(is_750_opcode(0x7C64_2896)); // mulhw
    }
}
