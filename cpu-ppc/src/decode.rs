//! Instruction decoding: one 32-bit word into a pre-decoded [`Insn`] with its operands
//! resolved (register numbers split out, immediates sign-extended, rotate masks built).
//!
//! Opcode numbers are from the PowerPC 750 user's manual, chapter 12; the set is what
//! QEMU's `750` CPU model accepts (no `fsqrt`, no 64-bit or `tlbia`/`tlbld` forms).

use crate::spr;

/// Declares [`Op`] and [`Op::ALL`] from one list, so the executor can build a
/// handler table indexed by the discriminant.
macro_rules! ops {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// The micro-op set. One variant per operation. The frequent loads and
        /// stores have separate D and X forms, and `addi`/`addis` a separate `li`/`lis`,
        /// so their handlers need not test the form at run time; update forms share a
        /// variant and use the [`Insn::f`] flag bits.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[repr(u8)]
        pub enum Op {
            $($(#[$doc])* $name,)*
        }

        impl Op {
            /// Every op, in discriminant order.
            pub const ALL: &'static [Op] = &[$(Op::$name,)*];
        }

        /// Calls `$m!` with every op name, in discriminant order.
        macro_rules! for_each_op {
            ($m:ident) => { $m! { $($name)* } };
        }
    };
}

ops! {
    Illegal,
    // integer immediate
    Twi,
    Mulli,
    Subfic,
    Cmpli,
    Cmpi,
    Addic,
    AddicRc,
    Addi,
    Addis,
    /// `addi`/`addis` with rA = 0, which reads 0 there: `li`/`lis`.
    Li,
    Lis,
    Ori,
    Oris,
    Xori,
    Xoris,
    AndiRc,
    AndisRc,
    // branches and system
    B,
    /// `b`/`bl` to the same page, translated into the same block: the target's ops
    /// follow it (see `translate_block`).
    Goto,
    Bc,
    Bclr,
    Bcctr,
    /// `bclr`/`bcctr` that always branch (BO ignores CTR and CR): `blr`, `bctr`
    /// and their `l` forms, returns and indirect calls, with no BO to decode.
    Blr,
    Bctr,
    /// A `blr` reached inside the block of the same-page `bl` it would return from
    /// (see `translate_block`): when LR holds that call's return address, the
    /// block goes on there, whose ops follow; `imm` is its offset in the page.
    Ret,
    Sc,
    Rfi,
    Isync,
    Mcrf,
    Crand,
    Crandc,
    Creqv,
    Crnand,
    Crnor,
    Cror,
    Crorc,
    Crxor,
    // rotates
    Rlwimi,
    Rlwinm,
    Rlwnm,
    // XO-form arithmetic (f: RC, OE)
    Add,
    Addc,
    Adde,
    Addme,
    Addze,
    Subf,
    Subfc,
    Subfe,
    Subfme,
    Subfze,
    Neg,
    Mullw,
    Mulhw,
    Mulhwu,
    Divw,
    Divwu,
    // X-form logical (d = rA destination, a = rS source)
    And,
    Andc,
    Or,
    Orc,
    Xor,
    Nand,
    Nor,
    Eqv,
    Slw,
    Srw,
    Sraw,
    Srawi,
    Cntlzw,
    Extsb,
    Extsh,
    Cmp,
    Cmpl,
    Tw,
    // registers
    Mfcr,
    Mtcrf,
    Mcrxr,
    Mfmsr,
    Mtmsr,
    Mfspr,
    Mtspr,
    /// `mtspr` to a register whose write has no side effect on translation, time
    /// or interrupts (XER, SRRs, SPRGs, ...): does not end the block.
    MtsprQuiet,
    /// `mflr`, `mfctr`, `mtlr`, `mtctr`: in every prologue, epilogue and indirect
    /// call, so they are ops of their own with no SPR number to test.
    Mflr,
    Mfctr,
    Mtlr,
    Mtctr,
    Mftb,
    Mfsr,
    Mfsrin,
    Mtsr,
    Mtsrin,
    Tlbie,
    Tlbsync,
    Sync,
    // cache
    Dcbz,
    /// `dcbf`/`dcbst`: translated as a load (may raise DSI), otherwise no effect.
    Dcbst,
    /// `dcbt`/`dcbtst`: hints, never fault.
    DcbNop,
    Dcbi,
    Icbi,
    // loads and stores (f: INDEXED, UPDATE)
    Lwz,
    Lbz,
    Lhz,
    Lha,
    Stw,
    Stb,
    Sth,
    /// The X forms (rA|0 + rB) of the ops above; the D forms add the immediate.
    LwzX,
    LbzX,
    LhzX,
    LhaX,
    StwX,
    StbX,
    SthX,
    Lwbrx,
    Lhbrx,
    Stwbrx,
    Sthbrx,
    Lwarx,
    Stwcx,
    Lmw,
    Stmw,
    Lswi,
    Lswx,
    Stswi,
    Stswx,
    Eciwx,
    Ecowx,
    // floating point
    Lfs,
    Lfd,
    Stfs,
    Stfd,
    LfsX,
    LfdX,
    StfsX,
    StfdX,
    Stfiwx,
    // A-form arithmetic, one op per `fpu::FpOp` (see `Op::fp_arith`), and every op
    // from here on is the FPU's (see `Op::fpu`)
    Fadd,
    Fadds,
    Fsub,
    Fsubs,
    Fmul,
    Fmuls,
    Fdiv,
    Fdivs,
    Fsqrt,
    Fsqrts,
    Fres,
    Frsqrte,
    Fsel,
    Fmadd,
    Fmadds,
    Fmsub,
    Fmsubs,
    Fnmadd,
    Fnmadds,
    Fnmsub,
    Fnmsubs,
    Fcmpu,
    Fcmpo,
    Fmr,
    Fneg,
    Fabs,
    Fnabs,
    Frsp,
    Fctiw,
    Fctiwz,
    Mffs,
    Mtfsf,
    Mtfsfi,
    Mtfsb0,
    Mtfsb1,
    Mcrfs,
}
pub(crate) use for_each_op;

impl Op {
    /// Whether the FPU executes this op (`Fadd` and every op after it in the
    /// list): it writes FPRs, the FPSCR and CR fields, never a GPR.
    pub const fn fpu(self) -> bool {
        self as u8 >= Op::Fadd as u8
    }

    /// The FPU operation of an A-form arithmetic op.
    pub const fn fp_arith(self) -> Option<crate::fpu::FpOp> {
        use crate::fpu::FpOp as F;
        Some(match self {
            Op::Fadd => F::Fadd,
            Op::Fadds => F::Fadds,
            Op::Fsub => F::Fsub,
            Op::Fsubs => F::Fsubs,
            Op::Fmul => F::Fmul,
            Op::Fmuls => F::Fmuls,
            Op::Fdiv => F::Fdiv,
            Op::Fdivs => F::Fdivs,
            Op::Fsqrt => F::Fsqrt,
            Op::Fsqrts => F::Fsqrts,
            Op::Fres => F::Fres,
            Op::Frsqrte => F::Frsqrte,
            Op::Fsel => F::Fsel,
            Op::Fmadd => F::Fmadd,
            Op::Fmadds => F::Fmadds,
            Op::Fmsub => F::Fmsub,
            Op::Fmsubs => F::Fmsubs,
            Op::Fnmadd => F::Fnmadd,
            Op::Fnmadds => F::Fnmadds,
            Op::Fnmsub => F::Fnmsub,
            Op::Fnmsubs => F::Fnmsubs,
            _ => return None,
        })
    }
}

/// Flag bits in [`Insn::f`].
pub const F_RC: u8 = 1;
pub const F_OE: u8 = 2;
pub const F_INDEXED: u8 = 4;
pub const F_UPDATE: u8 = 8;
/// Branch: link (LR = next instruction).
pub const F_LK: u8 = 1;
/// Branch: absolute target.
pub const F_AA: u8 = 2;
/// `bc`: a backward branch within the page, which the block goes on at when it is
/// taken (a loop's back edge); when not taken, the block is left for the next
/// instruction (see `translate_block`).
pub const F_BACK: u8 = 4;

/// A 5-bit instruction field: a register number, BO, BI, SH, MB, ME or NB. As an
/// enum its range is known to the compiler, so `gpr[i.d as usize]` needs neither a
/// mask nor a bounds check on the hot path.
#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum U5 {
    F0,
    F1,
    F2,
    F3,
    F4,
    F5,
    F6,
    F7,
    F8,
    F9,
    F10,
    F11,
    F12,
    F13,
    F14,
    F15,
    F16,
    F17,
    F18,
    F19,
    F20,
    F21,
    F22,
    F23,
    F24,
    F25,
    F26,
    F27,
    F28,
    F29,
    F30,
    F31,
}

impl U5 {
    const ALL: [U5; 32] = {
        use U5::*;
        [
            F0, F1, F2, F3, F4, F5, F6, F7, F8, F9, F10, F11, F12, F13, F14, F15, F16, F17, F18,
            F19, F20, F21, F22, F23, F24, F25, F26, F27, F28, F29, F30, F31,
        ]
    };

    /// The low five bits of `v`.
    pub const fn new(v: u32) -> U5 {
        U5::ALL[(v & 31) as usize]
    }
}

impl std::fmt::Debug for U5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (*self as u8).fmt(f)
    }
}

impl PartialEq<u8> for U5 {
    fn eq(&self, v: &u8) -> bool {
        *self as u8 == *v
    }
}

/// A decoded instruction. Register fields hold the architectural operand in the
/// position named below; which ones are meaningful depends on `op`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub op: Op,
    /// rD/rS/frD/frS, BO for branches, crfD for compares.
    pub d: U5,
    /// rA/frA, BI for branches, crfS/crbA.
    pub a: U5,
    /// rB/frB, SH, NB, crbB.
    pub b: U5,
    /// frC or MB/ME for rotates, or flag bits (F_*).
    pub c: U5,
    pub f: u8,
    /// Which executor handler runs this op: `op`'s own, or one that runs it fused
    /// with the next op (set when the block is built; see `exec::fuse`).
    pub handler: u16,
    /// Where `handler`'s code is, for the bus type the block was built for, so a
    /// dispatch is one load (0 until `exec::bind` sets it).
    pub run: usize,
    /// Position in its block, from 0: the op's time is the block's start plus this
    /// many instructions (a block's ops need not be at consecutive addresses).
    pub idx: u8,
    /// Offset from the start of its page (0x1000 for an end marker after the
    /// page's last word): a handler adds it to its block's page to find its own
    /// address, which it then needs only on a branch or an exception, instead of
    /// carrying the address from op to op.
    pub off: u16,
    /// Immediate: sign-extended SIMM, UIMM, branch displacement, rotate mask, SPR
    /// number, CRM/FM field mask, or the raw word for `Illegal`.
    pub imm: u32,
}

impl Insn {
    fn new(op: Op, w: u32) -> Insn {
        Insn {
            op,
            handler: op as u16,
            run: 0,
            d: U5::new(w >> 21),
            a: U5::new(w >> 16),
            b: U5::new(w >> 11),
            c: U5::new(w >> 6),
            f: 0,
            idx: 0,
            off: 0,
            imm: 0,
        }
    }
}

/// The 32-bit rotate mask from MB to ME, wrapping when MB > ME.
pub fn rot_mask(mb: u32, me: u32) -> u32 {
    let m1 = u32::MAX >> mb;
    let m2 = u32::MAX << (31 - me);
    if mb <= me {
        m1 & m2
    } else {
        m1 | m2
    }
}

/// The loads and stores with separate D-form and X-form ops.
const FORMS: [(Op, Op); 11] = [
    (Op::Lwz, Op::LwzX),
    (Op::Lbz, Op::LbzX),
    (Op::Lhz, Op::LhzX),
    (Op::Lha, Op::LhaX),
    (Op::Stw, Op::StwX),
    (Op::Stb, Op::StbX),
    (Op::Sth, Op::SthX),
    (Op::Lfs, Op::LfsX),
    (Op::Lfd, Op::LfdX),
    (Op::Stfs, Op::StfsX),
    (Op::Stfd, Op::StfdX),
];

impl Op {
    /// The X form of a load or store that has a D form; any other op unchanged.
    pub const fn indexed(self) -> Op {
        let mut k = 0;
        while k < FORMS.len() {
            if FORMS[k].0 as u8 == self as u8 {
                return FORMS[k].1;
            }
            k += 1;
        }
        self
    }

    /// For an op of `FORMS`, whether it is the X form; None for any other op
    /// (`Insn::f` says).
    pub const fn form(self) -> Option<bool> {
        let mut k = 0;
        while k < FORMS.len() {
            if FORMS[k].0 as u8 == self as u8 {
                return Some(false);
            }
            if FORMS[k].1 as u8 == self as u8 {
                return Some(true);
            }
            k += 1;
        }
        None
    }
}

/// Whether this instruction ends a translation block: it always changes control
/// flow, or it changes the context later instructions are translated or executed
/// under. A conditional branch does not: when taken it leaves the block like any
/// branch, and when not taken the block goes on, which saves a block lookup.
/// BO bits that make a conditional branch unconditional: no CTR test, no CR test.
const BO_ALWAYS: u32 = 0x14;

pub fn ends_block(insn: &Insn) -> bool {
    match insn.op {
        Op::Bc | Op::Bclr | Op::Bcctr => insn.d as u32 & BO_ALWAYS == BO_ALWAYS,
        op => ends_block_op(op),
    }
}

fn ends_block_op(op: Op) -> bool {
    matches!(
        op,
        Op::Illegal
            | Op::B
            | Op::Blr
            | Op::Bctr
            | Op::Sc
            | Op::Rfi
            | Op::Isync
            | Op::Mtmsr
            | Op::Mtspr
            | Op::Mtsr
            | Op::Mtsrin
            | Op::Tlbie
            | Op::Tlbsync
            | Op::Icbi
            | Op::Mtfsf
            | Op::Mtfsfi
            | Op::Mtfsb0
            | Op::Mtfsb1
    )
}

/// SPRs a write to which changes nothing but the register: XER, DSISR, DAR,
/// SRR0/1, SPRG0-3 and EAR (and LR and CTR, which have ops of their own).
fn quiet_spr(spr: u32) -> bool {
    matches!(spr, 1 | 18 | 19 | 26 | 27 | 272..=275 | 282)
}

/// Decode one instruction word. Never fails: unknown words and invalid forms become
/// `Op::Illegal` (as QEMU raises them: load-with-update with rA = 0 or rA = rD, and
/// store-with-update or FP update forms with rA = 0).
pub fn decode(w: u32) -> Insn {
    let i = decode_raw(w);
    if i.f & F_UPDATE != 0 {
        let int_load = matches!(
            i.op,
            Op::Lwz | Op::Lbz | Op::Lhz | Op::Lha | Op::LwzX | Op::LbzX | Op::LhzX | Op::LhaX
        );
        if i.a == 0 || (int_load && i.a == i.d) {
            return Insn {
                imm: w,
                ..Insn::new(Op::Illegal, w)
            };
        }
    }
    i
}

fn decode_raw(w: u32) -> Insn {
    let primary = w >> 26;
    let simm = w as u16 as i16 as i32 as u32;
    let uimm = w & 0xFFFF;
    let d_form = |op: Op, imm: u32| Insn {
        imm,
        ..Insn::new(op, w)
    };
    let mem = |op: Op, update: bool| Insn {
        imm: simm,
        f: if update { F_UPDATE } else { 0 },
        ..Insn::new(op, w)
    };
    let illegal = Insn {
        imm: w,
        ..Insn::new(Op::Illegal, w)
    };
    match primary {
        3 => d_form(Op::Twi, simm),
        7 => d_form(Op::Mulli, simm),
        8 => d_form(Op::Subfic, simm),
        10 => d_form(Op::Cmpli, uimm),
        11 => d_form(Op::Cmpi, simm),
        12 => d_form(Op::Addic, simm),
        13 => d_form(Op::AddicRc, simm),
        14 if w & 0x001F_0000 == 0 => d_form(Op::Li, simm),
        14 => d_form(Op::Addi, simm),
        15 if w & 0x001F_0000 == 0 => d_form(Op::Lis, uimm << 16),
        15 => d_form(Op::Addis, uimm << 16),
        16 => Insn {
            imm: (w & 0xFFFC) as u16 as i16 as i32 as u32,
            f: (w & 3) as u8,
            ..Insn::new(Op::Bc, w)
        },
        17 if w & 2 != 0 => Insn::new(Op::Sc, w),
        18 => Insn {
            imm: (((w & 0x03FF_FFFC) << 6) as i32 >> 6) as u32,
            f: (w & 3) as u8,
            ..Insn::new(Op::B, w)
        },
        19 => decode_19(w).unwrap_or(illegal),
        20 | 21 | 23 => {
            let op = match primary {
                20 => Op::Rlwimi,
                21 => Op::Rlwinm,
                _ => Op::Rlwnm,
            };
            let mut i = Insn::new(op, w);
            i.imm = rot_mask((w >> 6) & 31, (w >> 1) & 31);
            i.f = (w & 1) as u8;
            i
        }
        24 => d_form(Op::Ori, uimm),
        25 => d_form(Op::Oris, uimm << 16),
        26 => d_form(Op::Xori, uimm),
        27 => d_form(Op::Xoris, uimm << 16),
        28 => d_form(Op::AndiRc, uimm),
        29 => d_form(Op::AndisRc, uimm << 16),
        31 => decode_31(w).unwrap_or(illegal),
        32 => mem(Op::Lwz, false),
        33 => mem(Op::Lwz, true),
        34 => mem(Op::Lbz, false),
        35 => mem(Op::Lbz, true),
        36 => mem(Op::Stw, false),
        37 => mem(Op::Stw, true),
        38 => mem(Op::Stb, false),
        39 => mem(Op::Stb, true),
        40 => mem(Op::Lhz, false),
        41 => mem(Op::Lhz, true),
        42 => mem(Op::Lha, false),
        43 => mem(Op::Lha, true),
        44 => mem(Op::Sth, false),
        45 => mem(Op::Sth, true),
        46 => mem(Op::Lmw, false),
        47 => mem(Op::Stmw, false),
        48 => mem(Op::Lfs, false),
        49 => mem(Op::Lfs, true),
        50 => mem(Op::Lfd, false),
        51 => mem(Op::Lfd, true),
        52 => mem(Op::Stfs, false),
        53 => mem(Op::Stfs, true),
        54 => mem(Op::Stfd, false),
        55 => mem(Op::Stfd, true),
        59 => decode_fp_a(w, true).unwrap_or(illegal),
        63 => decode_63(w).unwrap_or(illegal),
        _ => illegal,
    }
}

fn decode_19(w: u32) -> Option<Insn> {
    let xo = (w >> 1) & 0x3FF;
    let op = match xo {
        0 => Op::Mcrf,
        16 => Op::Bclr,
        33 => Op::Crnor,
        50 => Op::Rfi,
        129 => Op::Crandc,
        150 => Op::Isync,
        193 => Op::Crxor,
        225 => Op::Crnand,
        257 => Op::Crand,
        289 => Op::Creqv,
        417 => Op::Crorc,
        449 => Op::Cror,
        528 => Op::Bcctr,
        _ => return None,
    };
    let always = (w >> 21) & BO_ALWAYS == BO_ALWAYS;
    let op = match op {
        Op::Bclr if always => Op::Blr,
        Op::Bcctr if always => Op::Bctr,
        op => op,
    };
    let mut i = Insn::new(op, w);
    if matches!(op, Op::Bclr | Op::Bcctr | Op::Blr | Op::Bctr) {
        i.f = (w & 1) as u8;
    }
    if op == Op::Mcrf {
        i.d = U5::new(i.d as u32 >> 2);
        i.a = U5::new(i.a as u32 >> 2);
    }
    Some(i)
}

fn decode_31(w: u32) -> Option<Insn> {
    let xo = (w >> 1) & 0x3FF;
    let rc = (w & 1) as u8;
    // XO-form arithmetic: the OE bit is bit 0x200 of the extended opcode.
    let arith = match xo & 0x1FF {
        266 => Some(Op::Add),
        10 => Some(Op::Addc),
        138 => Some(Op::Adde),
        234 => Some(Op::Addme),
        202 => Some(Op::Addze),
        40 => Some(Op::Subf),
        8 => Some(Op::Subfc),
        136 => Some(Op::Subfe),
        232 => Some(Op::Subfme),
        200 => Some(Op::Subfze),
        104 => Some(Op::Neg),
        235 => Some(Op::Mullw),
        75 => Some(Op::Mulhw),
        11 => Some(Op::Mulhwu),
        491 => Some(Op::Divw),
        459 => Some(Op::Divwu),
        _ => None,
    };
    if let Some(op) = arith {
        let mut i = Insn::new(op, w);
        i.f = rc;
        if xo & 0x200 != 0 && !matches!(op, Op::Mulhw | Op::Mulhwu) {
            i.f |= F_OE;
        }
        return Some(i);
    }
    // X-form logical ops write rA from rS: swap into (d = rA, a = rS).
    let logical = |op: Op| {
        let mut i = Insn::new(op, w);
        std::mem::swap(&mut i.d, &mut i.a);
        i.f = rc;
        i
    };
    let idx = |op: Op, update: bool| {
        let mut i = Insn::new(op.indexed(), w);
        i.f = F_INDEXED | if update { F_UPDATE } else { 0 };
        i
    };
    let plain = |op: Op| Insn::new(op, w);
    let spr = ((w >> 16) & 31) | (((w >> 11) & 31) << 5);
    Some(match xo {
        0 => Insn {
            d: U5::new((w >> 23) & 7),
            ..plain(Op::Cmp)
        },
        32 => Insn {
            d: U5::new((w >> 23) & 7),
            ..plain(Op::Cmpl)
        },
        4 => plain(Op::Tw),
        19 => plain(Op::Mfcr),
        20 => idx(Op::Lwarx, false),
        23 => idx(Op::Lwz, false),
        55 => idx(Op::Lwz, true),
        87 => idx(Op::Lbz, false),
        119 => idx(Op::Lbz, true),
        279 => idx(Op::Lhz, false),
        311 => idx(Op::Lhz, true),
        343 => idx(Op::Lha, false),
        375 => idx(Op::Lha, true),
        151 => idx(Op::Stw, false),
        183 => idx(Op::Stw, true),
        215 => idx(Op::Stb, false),
        247 => idx(Op::Stb, true),
        407 => idx(Op::Sth, false),
        439 => idx(Op::Sth, true),
        535 => idx(Op::Lfs, false),
        567 => idx(Op::Lfs, true),
        599 => idx(Op::Lfd, false),
        631 => idx(Op::Lfd, true),
        663 => idx(Op::Stfs, false),
        695 => idx(Op::Stfs, true),
        727 => idx(Op::Stfd, false),
        759 => idx(Op::Stfd, true),
        983 => idx(Op::Stfiwx, false),
        534 => idx(Op::Lwbrx, false),
        790 => idx(Op::Lhbrx, false),
        662 => idx(Op::Stwbrx, false),
        918 => idx(Op::Sthbrx, false),
        150 => idx(Op::Stwcx, false),
        533 => idx(Op::Lswx, false),
        661 => idx(Op::Stswx, false),
        597 => plain(Op::Lswi),
        725 => plain(Op::Stswi),
        310 => idx(Op::Eciwx, false),
        438 => idx(Op::Ecowx, false),
        24 => logical(Op::Slw),
        26 => logical(Op::Cntlzw),
        28 => logical(Op::And),
        60 => logical(Op::Andc),
        124 => logical(Op::Nor),
        284 => logical(Op::Eqv),
        316 => logical(Op::Xor),
        412 => logical(Op::Orc),
        444 => logical(Op::Or),
        476 => logical(Op::Nand),
        536 => logical(Op::Srw),
        792 => logical(Op::Sraw),
        824 => logical(Op::Srawi),
        922 => logical(Op::Extsh),
        954 => logical(Op::Extsb),
        83 => plain(Op::Mfmsr),
        146 => plain(Op::Mtmsr),
        144 => Insn {
            imm: (w >> 12) & 0xFF,
            ..plain(Op::Mtcrf)
        },
        512 => Insn {
            d: U5::new((w >> 23) & 7),
            ..plain(Op::Mcrxr)
        },
        339 => Insn {
            imm: spr,
            ..plain(match spr {
                spr::LR => Op::Mflr,
                spr::CTR => Op::Mfctr,
                _ => Op::Mfspr,
            })
        },
        467 => Insn {
            imm: spr,
            ..plain(match spr {
                spr::LR => Op::Mtlr,
                spr::CTR => Op::Mtctr,
                _ if quiet_spr(spr) => Op::MtsprQuiet,
                _ => Op::Mtspr,
            })
        },
        371 => Insn {
            imm: spr,
            ..plain(Op::Mftb)
        },
        595 => Insn {
            a: U5::new((w >> 16) & 15),
            ..plain(Op::Mfsr)
        },
        659 => plain(Op::Mfsrin),
        210 => Insn {
            a: U5::new((w >> 16) & 15),
            ..plain(Op::Mtsr)
        },
        242 => plain(Op::Mtsrin),
        306 => plain(Op::Tlbie),
        566 => plain(Op::Tlbsync),
        598 | 854 => plain(Op::Sync),
        1014 => idx(Op::Dcbz, false),
        54 | 86 => idx(Op::Dcbst, false),
        246 | 278 => plain(Op::DcbNop),
        470 => idx(Op::Dcbi, false),
        982 => idx(Op::Icbi, false),
        _ => return None,
    })
}

/// A-form arithmetic shared by opcodes 59 (single) and 63 (double).
fn decode_fp_a(w: u32, single: bool) -> Option<Insn> {
    let xo = (w >> 1) & 31;
    // fsqrt/fsqrts are not on the 750; fres is single only, fsel and frsqrte double.
    let op = match (xo, single) {
        (18, false) => Op::Fdiv,
        (18, true) => Op::Fdivs,
        (20, false) => Op::Fsub,
        (20, true) => Op::Fsubs,
        (21, false) => Op::Fadd,
        (21, true) => Op::Fadds,
        (23, false) => Op::Fsel,
        (24, true) => Op::Fres,
        (25, false) => Op::Fmul,
        (25, true) => Op::Fmuls,
        (26, false) => Op::Frsqrte,
        (28, false) => Op::Fmsub,
        (28, true) => Op::Fmsubs,
        (29, false) => Op::Fmadd,
        (29, true) => Op::Fmadds,
        (30, false) => Op::Fnmsub,
        (30, true) => Op::Fnmsubs,
        (31, false) => Op::Fnmadd,
        (31, true) => Op::Fnmadds,
        _ => return None,
    };
    let mut i = Insn::new(op, w);
    i.f = (w & 1) as u8;
    Some(i)
}

fn decode_63(w: u32) -> Option<Insn> {
    if (w >> 1) & 16 != 0 {
        return decode_fp_a(w, false);
    }
    let xo = (w >> 1) & 0x3FF;
    let rc = (w & 1) as u8;
    let x = |op: Op| Insn {
        f: rc,
        ..Insn::new(op, w)
    };
    Some(match xo {
        0 => Insn {
            d: U5::new((w >> 23) & 7),
            ..x(Op::Fcmpu)
        },
        32 => Insn {
            d: U5::new((w >> 23) & 7),
            ..x(Op::Fcmpo)
        },
        12 => x(Op::Frsp),
        14 => x(Op::Fctiw),
        15 => x(Op::Fctiwz),
        40 => x(Op::Fneg),
        72 => x(Op::Fmr),
        136 => x(Op::Fnabs),
        264 => x(Op::Fabs),
        583 => x(Op::Mffs),
        38 => x(Op::Mtfsb1),
        70 => x(Op::Mtfsb0),
        64 => Insn {
            d: U5::new((w >> 23) & 7),
            a: U5::new((w >> 18) & 7),
            ..x(Op::Mcrfs)
        },
        134 => Insn {
            d: U5::new((w >> 23) & 7),
            imm: (w >> 12) & 15,
            ..x(Op::Mtfsfi)
        },
        711 => Insn {
            imm: (w >> 17) & 0xFF,
            ..x(Op::Mtfsf)
        },
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fpu_ops_end_the_op_list() {
        // `Op::fpu` (which the executor trusts never to write a GPR) is a range.
        assert_eq!(Op::ALL.last(), Some(&Op::Mcrfs));
        let fpu: Vec<Op> = Op::ALL.iter().copied().filter(|op| op.fpu()).collect();
        // The 36 ops `Cpu::step` hands to `step_fp`.
        assert_eq!((fpu[0], fpu.len()), (Op::Fadd, 36));
        assert!(!Op::Stfiwx.fpu() && Op::Fctiwz.fpu());
    }

    #[test]
    fn addi_sign_extends_immediate() {
        let i = decode(0x3860_FFFF); // li r3,-1
        assert_eq!(
            (i.op, i.d as u8, i.a as u8, i.imm),
            (Op::Li, 3, 0, 0xFFFF_FFFF)
        );
        let i = decode(0x3863_FFFF); // addi r3,r3,-1
        assert_eq!(
            (i.op, i.d as u8, i.a as u8, i.imm),
            (Op::Addi, 3, 3, 0xFFFF_FFFF)
        );
    }

    #[test]
    fn addo_dot_sets_oe_and_rc() {
        let i = decode(0x7C64_2E15); // addo. r3,r4,r5
        assert_eq!(
            (i.op, i.d as u8, i.a as u8, i.b as u8, i.f),
            (Op::Add, 3, 4, 5, F_RC | F_OE)
        );
    }

    #[test]
    fn logical_ops_put_destination_in_d() {
        let i = decode(0x7C83_2B78); // or r3,r4,r5 (mr-style: rA=3, rS=4)
        assert_eq!((i.op, i.d as u8, i.a as u8, i.b as u8), (Op::Or, 3, 4, 5));
    }

    #[test]
    fn rlwinm_precomputes_mask() {
        let i = decode(0x5463_063E); // rlwinm r3,r3,0,24,31
        assert_eq!((i.op, i.imm), (Op::Rlwinm, 0xFF));
        assert_eq!(rot_mask(30, 1), 0xC000_0003);
    }

    #[test]
    fn branch_displacement_is_signed() {
        let i = decode(0x4BFF_FFFC); // b .-4
        assert_eq!((i.op, i.imm as i32, i.f), (Op::B, -4, 0));
        let i = decode(0x4182_0008); // beq +8
        assert_eq!((i.op, i.d as u8, i.a as u8, i.imm), (Op::Bc, 12, 2, 8));
    }

    #[test]
    fn mfspr_swaps_spr_halves() {
        let i = decode(0x7C68_02A6); // mflr r3
        assert_eq!((i.op, i.imm), (Op::Mflr, 8));
        let i = decode(0x7C70_FAA6); // mfspr r3,1008 (HID0)
        assert_eq!(i.imm, 1008);
    }

    #[test]
    fn fsqrt_and_unknown_words_are_illegal() {
        assert_eq!(decode(0xFC20_102C).op, Op::Illegal); // fsqrt f1,f2
        assert_eq!(decode(0x0000_0000).op, Op::Illegal);
        assert_eq!(decode(0x7C00_07AC).op, Op::Icbi);
    }

    #[test]
    fn load_update_with_ra_equal_rd_is_illegal() {
        assert_eq!(decode(0x8463_0004).op, Op::Illegal); // lwzu r3,4(r3)
        assert_eq!(decode(0x8464_0004).op, Op::Lwz); // lwzu r3,4(r4)
        assert_eq!(decode(0x9460_0004).op, Op::Illegal); // stwu r3,4(0)
    }
}
