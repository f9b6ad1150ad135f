//! Floating point with exact FPSCR semantics, as pure functions over bit patterns.
//!
//! The reference is QEMU's `target/ppc/fpu_helper.c` as built into qemu-ppc 7.2: every
//! result bit and every FPSCR bit (FPRF, FR, FI, FX, FEX, VX and its causes,
//! OX/UX/ZX/XX) matches what it produces, including its choices where the
//! architecture leaves room (FR is never set by arithmetic; UX is raised only for
//! inexact tiny results; tininess is detected before rounding). `tests/fpu_qemu.rs`
//! checks that claim against qemu-ppc itself.
//!
//! The arithmetic is exact integer arithmetic in [`soft`]: each result is computed
//! exactly and rounded once, so single-precision forms have no double rounding and
//! the directed rounding modes never touch the host FPU mode. A host-f64 fast path
//! (`fast.rs`) takes the common case (round to nearest, normal operands well inside
//! the exponent range, not fused) and computes the inexact flag exactly.

mod fast;
pub mod soft;

use soft::{Mode, Prec, Rounding};

/// FPSCR bits as 32-bit masks (architecture bit n is `1 << (31 - n)`).
pub mod fpscr {
    /// Exception summary: set when any exception bit goes 0 -> 1.
    pub const FX: u32 = 1 << 31;
    /// Enabled exception summary (not directly writable).
    pub const FEX: u32 = 1 << 30;
    /// Invalid operation summary: OR of the VX* causes (not directly writable).
    pub const VX: u32 = 1 << 29;
    pub const OX: u32 = 1 << 28;
    pub const UX: u32 = 1 << 27;
    pub const ZX: u32 = 1 << 26;
    pub const XX: u32 = 1 << 25;
    pub const VXSNAN: u32 = 1 << 24;
    pub const VXISI: u32 = 1 << 23;
    pub const VXIDI: u32 = 1 << 22;
    pub const VXZDZ: u32 = 1 << 21;
    pub const VXIMZ: u32 = 1 << 20;
    pub const VXVC: u32 = 1 << 19;
    /// Fraction rounded (magnitude increased).
    pub const FR: u32 = 1 << 18;
    /// Fraction inexact.
    pub const FI: u32 = 1 << 17;
    /// Result class, C then FPCC (FL, FG, FE, FU).
    pub const FPRF: u32 = 0x1f << 12;
    pub const C: u32 = 1 << 16;
    pub const FPCC: u32 = 0xf << 12;
    pub const FL: u32 = 1 << 15;
    pub const FG: u32 = 1 << 14;
    pub const FE: u32 = 1 << 13;
    pub const FU: u32 = 1 << 12;
    /// Architecture bit 20, reserved.
    pub const RESERVED: u32 = 1 << 11;
    pub const VXSOFT: u32 = 1 << 10;
    pub const VXSQRT: u32 = 1 << 9;
    pub const VXCVI: u32 = 1 << 8;
    pub const VE: u32 = 1 << 7;
    pub const OE: u32 = 1 << 6;
    pub const UE: u32 = 1 << 5;
    pub const ZE: u32 = 1 << 4;
    pub const XE: u32 = 1 << 3;
    pub const NI: u32 = 1 << 2;
    /// Rounding mode: 0 nearest, 1 toward zero, 2 toward +inf, 3 toward -inf.
    pub const RN: u32 = 3;
    /// All invalid-operation cause bits.
    pub const VX_CAUSES: u32 =
        VXSNAN | VXISI | VXIDI | VXZDZ | VXIMZ | VXVC | VXSOFT | VXSQRT | VXCVI;
    /// The exception bits that FEX summarises, in the same order as [`ENABLES`] << 22.
    pub const EXCEPTIONS: u32 = VX | OX | UX | ZX | XX;
    pub const ENABLES: u32 = VE | OE | UE | ZE | XE;
}

use fpscr::*;

/// The A-form arithmetic instructions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FpOp {
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
}

/// What an FP instruction did besides its FPSCR update.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The value for FRT, or None when an enabled invalid or zero-divide
    /// exception suppresses the write.
    pub value: Option<u64>,
    /// An enabled exception occurred: the caller raises a program exception
    /// (FP enabled) after writing `value` when MSR[FE0|FE1] allow it (always in
    /// user mode, as qemu-ppc does).
    pub trap: bool,
}

/// Sets FPSCR[FPRF] from the class of a binary64 result.
fn set_fprf(fpscr: &mut u32, x: u64) {
    let neg = soft::sign(x);
    let class = match soft::classify(x) {
        soft::Class::QNan => 0x11,
        soft::Class::SNan => 0x00,
        soft::Class::Inf => {
            if neg {
                0x09
            } else {
                0x05
            }
        }
        soft::Class::Zero => {
            if neg {
                0x12
            } else {
                0x02
            }
        }
        soft::Class::Finite { .. } if x & (0x7ff << 52) == 0 => {
            if neg {
                0x18
            } else {
                0x14
            }
        }
        soft::Class::Finite { .. } => {
            if neg {
                0x08
            } else {
                0x04
            }
        }
    };
    *fpscr = (*fpscr & !FPRF) | (class << 12);
}

/// Records one invalid-operation cause. Returns true when VE makes it trap now.
fn invalid(fpscr: &mut u32, cause: u32, arith: bool, set_fpcc: bool) -> bool {
    *fpscr |= cause;
    if arith {
        *fpscr &= !(FR | FI);
        if *fpscr & VE == 0 && set_fpcc {
            *fpscr = (*fpscr & !FPRF) | (0x11 << 12);
        }
    }
    *fpscr |= VX | FX;
    if *fpscr & VE != 0 {
        *fpscr |= FEX;
        return true;
    }
    false
}

/// Records a zero divide. Returns true when ZE makes it trap now.
fn zero_divide(fpscr: &mut u32) -> bool {
    *fpscr |= ZX | FX;
    *fpscr &= !(FR | FI);
    if *fpscr & ZE != 0 {
        *fpscr |= FEX;
        return true;
    }
    false
}

/// QEMU's float_check_status: overflow, underflow and inexact after FRT is
/// written. Returns true for an enabled (deferred) exception.
fn check_status(fpscr: &mut u32, flags: u8) -> bool {
    let mut trap = false;
    if flags & soft::OVERFLOW != 0 {
        *fpscr |= OX | FX;
        if *fpscr & OE != 0 {
            *fpscr |= FEX;
            trap = true;
        } else {
            *fpscr |= XX | FI;
        }
    } else if flags & soft::UNDERFLOW != 0 {
        *fpscr |= UX | FX;
        if *fpscr & UE != 0 {
            *fpscr |= FEX;
            trap = true;
        }
    }
    if flags & soft::INEXACT != 0 {
        *fpscr |= FI | XX | FX;
        if *fpscr & XE != 0 {
            *fpscr |= FEX;
            trap = true;
        }
    } else {
        *fpscr &= !FI;
    }
    trap
}

fn rounding(fpscr: u32) -> Rounding {
    Rounding::from_rn(fpscr & RN)
}

fn mode(fpscr: u32) -> Mode {
    Mode {
        rm: rounding(fpscr),
        rebias_underflow: fpscr & UE != 0,
        rebias_overflow: fpscr & OE != 0,
    }
}

/// Invalid-operation causes of an arithmetic op, in the order QEMU records them.
fn invalid_causes(op: FpOp, a: u64, b: u64, c: u64) -> ([u32; 3], usize) {
    use soft::{classify, is_snan, Class};
    let inf = |x: u64| matches!(classify(x), Class::Inf);
    let zero = |x: u64| matches!(classify(x), Class::Zero);
    let mut out = [0u32; 3];
    let mut n = 0;
    let mut push = |cause: u32| {
        out[n] = cause;
        n += 1;
    };
    match op {
        FpOp::Fadd | FpOp::Fadds | FpOp::Fsub | FpOp::Fsubs => {
            if inf(a) && inf(b) {
                push(VXISI);
            } else if is_snan(a) || is_snan(b) {
                push(VXSNAN);
            }
        }
        FpOp::Fmul | FpOp::Fmuls => {
            if (inf(a) && zero(c)) || (zero(a) && inf(c)) {
                push(VXIMZ);
            } else if is_snan(a) || is_snan(c) {
                push(VXSNAN);
            }
        }
        FpOp::Fdiv | FpOp::Fdivs => {
            if inf(a) && inf(b) {
                push(VXIDI);
            } else if zero(a) && zero(b) {
                push(VXZDZ);
            } else if is_snan(a) || is_snan(b) {
                push(VXSNAN);
            }
        }
        FpOp::Fsqrt | FpOp::Fsqrts | FpOp::Frsqrte => {
            if is_snan(b) {
                push(VXSNAN);
            } else if !soft::is_nan(b) {
                push(VXSQRT);
            }
        }
        FpOp::Fres => {
            if is_snan(b) {
                push(VXSNAN);
            }
        }
        FpOp::Fsel => {}
        FpOp::Fmadd
        | FpOp::Fmadds
        | FpOp::Fmsub
        | FpOp::Fmsubs
        | FpOp::Fnmadd
        | FpOp::Fnmadds
        | FpOp::Fnmsub
        | FpOp::Fnmsubs => {
            // softfloat reports one cause: inf*0 first, then inf-inf, then SNaN.
            let negate_b = matches!(
                op,
                FpOp::Fmsub | FpOp::Fmsubs | FpOp::Fnmsub | FpOp::Fnmsubs
            );
            let any_nan = soft::is_nan(a) || soft::is_nan(b) || soft::is_nan(c);
            let product_sign = soft::sign(a) ^ soft::sign(c);
            if (inf(a) && zero(c)) || (zero(a) && inf(c)) {
                push(VXIMZ);
            } else if !any_nan
                && (inf(a) || inf(c))
                && inf(b)
                && product_sign != (soft::sign(b) ^ negate_b)
            {
                push(VXISI);
            } else if is_snan(a) || is_snan(b) || is_snan(c) {
                push(VXSNAN);
            }
        }
    }
    (out, n)
}

/// Executes an A-form arithmetic instruction; see [`Outcome`].
#[inline(always)]
pub fn arith_outcome(op: FpOp, fpscr: &mut u32, a: u64, b: u64, c: u64) -> Outcome {
    match arith_fast(op, fpscr, a, b, c) {
        Some((value, trap)) => Outcome {
            value: Some(value),
            trap,
        },
        None => arith_outcome_exact(op, fpscr, a, b, c),
    }
}

/// [`arith_outcome`] on the host fast path alone, which only ever raises
/// inexact: the value and whether an enabled exception traps, or None (FPSCR
/// untouched) where the exact path is needed.
#[inline(always)]
pub fn arith_fast(op: FpOp, fpscr: &mut u32, a: u64, b: u64, c: u64) -> Option<(u64, bool)> {
    let (value, flags) = fast::arith(op, *fpscr, a, b, c)?;
    set_fprf(fpscr, value);
    Some((value, check_status(fpscr, flags)))
}

/// [`arith_outcome`] without the host fast path: every result computed by the
/// exact integer arithmetic. Tests and the benchmark compare the two.
#[inline(never)]
pub fn arith_outcome_exact(op: FpOp, fpscr: &mut u32, a: u64, b: u64, c: u64) -> Outcome {
    use FpOp::*;
    if op == Fsel {
        // fsel touches no FPSCR bit.
        let pick = !soft::is_nan(a) && (!soft::sign(a) || a << 1 == 0);
        return Outcome {
            value: Some(if pick { c } else { b }),
            trap: false,
        };
    }
    let rm = mode(*fpscr);
    let mut flags = 0u8;
    let f = &mut flags;
    let (d, s) = (Prec::Double, Prec::Single);
    let value = match op {
        Fadd => soft::add(a, b, false, d, rm, f),
        Fadds => soft::add(a, b, false, s, rm, f),
        Fsub => soft::add(a, b, true, d, rm, f),
        Fsubs => soft::add(a, b, true, s, rm, f),
        Fmul => soft::mul(a, c, d, rm, f),
        Fmuls => soft::mul(a, c, s, rm, f),
        Fdiv => soft::div(a, b, d, rm, f),
        Fdivs => soft::div(a, b, s, rm, f),
        Fsqrt => soft::sqrt(b, d, rm, f),
        Fsqrts => soft::sqrt(b, s, rm, f),
        Fres => soft::div(ONE, b, s, rm, f),
        Frsqrte => {
            let r = soft::sqrt(b, d, rm, f);
            soft::div(ONE, r, d, rm, f)
        }
        Fmadd => soft::fma(a, c, b, false, false, d, rm, f),
        Fmadds => soft::fma(a, c, b, false, false, s, rm, f),
        Fmsub => soft::fma(a, c, b, true, false, d, rm, f),
        Fmsubs => soft::fma(a, c, b, true, false, s, rm, f),
        Fnmadd => soft::fma(a, c, b, false, true, d, rm, f),
        Fnmadds => soft::fma(a, c, b, false, true, s, rm, f),
        Fnmsub => soft::fma(a, c, b, true, true, d, rm, f),
        Fnmsubs => soft::fma(a, c, b, true, true, s, rm, f),
        Fsel => unreachable!("handled above"),
    };
    let single = matches!(
        op,
        Fadds | Fsubs | Fmuls | Fdivs | Fsqrts | Fres | Fmadds | Fmsubs | Fnmadds | Fnmsubs
    );
    let value = if single && soft::is_nan(value) {
        // The result went through a float32 NaN: only 22 payload bits survive.
        value & !((1 << 29) - 1)
    } else if op == Fres && flags & soft::DIVBYZERO != 0 {
        // QEMU's reciprocal "estimate" of zero is 1/2 with the sign of frB.
        0x3fe0_0000_0000_0000 | (b & (1 << 63))
    } else {
        value
    };
    finish_arith(op, fpscr, flags, value, a, b, c)
}

const ONE: u64 = 0x3ff0_0000_0000_0000;

#[inline(always)]
fn finish_arith(
    op: FpOp,
    fpscr: &mut u32,
    flags: u8,
    value: u64,
    a: u64,
    b: u64,
    c: u64,
) -> Outcome {
    let suppressed = Outcome {
        value: None,
        trap: true,
    };
    if flags & soft::INVALID != 0 {
        let (causes, n) = invalid_causes(op, a, b, c);
        for &cause in &causes[..n] {
            let arith = cause != VXSNAN;
            if invalid(fpscr, cause, arith, true) {
                return suppressed;
            }
        }
    }
    if flags & soft::DIVBYZERO != 0 && zero_divide(fpscr) {
        return suppressed;
    }
    set_fprf(fpscr, value);
    let trap = check_status(fpscr, flags);
    Outcome {
        value: Some(value),
        trap,
    }
}

/// Executes an A-form arithmetic instruction. `a`, `b`, `c` are the frA, frB
/// and frC bit patterns. Returns None when an enabled exception suppresses the
/// write of FRT.
pub fn arith(op: FpOp, fpscr: &mut u32, a: u64, b: u64, c: u64) -> Option<u64> {
    arith_outcome(op, fpscr, a, b, c).value
}

/// fcmpu/fcmpo: returns the CR field and whether an enabled exception traps.
pub fn compare_outcome(ordered: bool, fpscr: &mut u32, a: u64, b: u64) -> (u8, bool) {
    let crf: u8 = if soft::is_nan(a) || soft::is_nan(b) {
        0x1
    } else {
        let (fa, fb) = (f64::from_bits(a), f64::from_bits(b));
        if fa < fb {
            0x8
        } else if fa > fb {
            0x4
        } else {
            0x2
        }
    };
    *fpscr = (*fpscr & !FPCC) | ((crf as u32) << 12);
    let mut trap = false;
    if crf == 1 {
        let snan = soft::is_snan(a) || soft::is_snan(b);
        if ordered {
            *fpscr |= VXVC;
            *fpscr = (*fpscr & !FPCC) | (0x11 << 12);
            *fpscr |= VX | FX;
            if *fpscr & VE != 0 {
                *fpscr |= FEX;
                trap = true;
            }
        }
        if snan && invalid(fpscr, VXSNAN, false, false) {
            // Raised at once, before the status check below.
            return (crf, true);
        }
    }
    // qemu-ppc runs its status check after compares too, which clears FI.
    *fpscr &= !FI;
    (crf, trap)
}

/// fcmpu (`ordered` false) and fcmpo: the 4-bit CR field; also sets FPCC.
pub fn compare(ordered: bool, fpscr: &mut u32, a: u64, b: u64) -> u8 {
    compare_outcome(ordered, fpscr, a, b).0
}

/// fctiw/fctiwz with the trap indication.
pub fn fctiw_outcome(fpscr: &mut u32, b: u64, toward_zero: bool) -> Outcome {
    let rm = if toward_zero {
        Rounding::Zero
    } else {
        rounding(*fpscr)
    };
    let mut flags = 0u8;
    let mut value = soft::to_i32(b, rm, &mut flags) as i64 as u64;
    if flags & soft::INVALID != 0 {
        if soft::is_nan(b) {
            value = 0x8000_0000;
        }
        let cause = if soft::is_snan(b) {
            VXCVI | VXSNAN
        } else {
            VXCVI
        };
        if invalid(fpscr, cause, true, true) {
            return Outcome {
                value: None,
                trap: true,
            };
        }
    }
    let trap = check_status(fpscr, flags);
    Outcome {
        value: Some(value),
        trap,
    }
}

/// fctiw (`toward_zero` false, rounding per FPSCR[RN]) and fctiwz.
pub fn fctiw(fpscr: &mut u32, b: u64, toward_zero: bool) -> Option<u64> {
    fctiw_outcome(fpscr, b, toward_zero).value
}

/// frsp with the trap indication.
pub fn frsp_outcome(fpscr: &mut u32, b: u64) -> Outcome {
    let mut flags = 0u8;
    let value = soft::to_single(b, mode(*fpscr), &mut flags);
    if flags & soft::INVALID != 0 && invalid(fpscr, VXSNAN, false, false) {
        return Outcome {
            value: None,
            trap: true,
        };
    }
    set_fprf(fpscr, value);
    let trap = check_status(fpscr, flags);
    Outcome {
        value: Some(value),
        trap,
    }
}

/// frsp: round to single precision.
pub fn frsp(fpscr: &mut u32, b: u64) -> Option<u64> {
    frsp_outcome(fpscr, b).value
}

/// lfs: the architecture's DOUBLE conversion (exact, no FPSCR effect).
pub fn single_to_double(w: u32) -> u64 {
    let abs = w & 0x7fff_ffff;
    let sign = ((w >> 31) as u64) << 63;
    if abs >= 0x7f80_0000 {
        // Infinity or NaN: the all-ones exponent widens to all ones (WORD[1]
        // copied into the three new exponent bits), fraction kept, quiet bit
        // untouched.
        sign | (0x7ff << 52) | (((w & 0x7f_ffff) as u64) << 29)
    } else if abs >= 0x0080_0000 {
        // Normal: rebias the exponent by inserting ¬WORD[1] three times.
        let top2 = ((w >> 30) & 3) as u64;
        let not_msb = (((w >> 30) & 1) ^ 1) as u64;
        (top2 << 62) | ((not_msb * 7) << 59) | (((w & 0x3fff_ffff) as u64) << 29)
    } else if abs == 0 {
        sign
    } else {
        let shift = abs.leading_zeros() as i32 - 8;
        let exp = (-126 - shift + 1023) as u64;
        sign | (exp << 52) | ((((abs << shift) & 0x7f_ffff) as u64) << 29)
    }
}

/// stfs: the architecture's SINGLE conversion (truncating, no FPSCR effect).
pub fn double_to_single(d: u64) -> u32 {
    let exp = ((d >> 52) & 0x7ff) as i32;
    let sign = ((d >> 63) as u32) << 31;
    if exp > 896 {
        (((d >> 62) & 3) as u32) << 30 | ((d >> 29) & 0x3fff_ffff) as u32
    } else if exp >= 874 {
        sign | (((1u64 << 52) | (d & ((1 << 52) - 1))) >> (896 + 30 - exp)) as u32
    } else {
        sign
    }
}

/// mffs: FPSCR into the low word of FRT.
pub fn mffs(fpscr: u32) -> u64 {
    fpscr as u64
}

/// Stores `value` into FPSCR as mtfsf/mtfsfi do: VX and FEX are recomputed,
/// never written, and the reserved bit stays clear.
fn store(fpscr: &mut u32, value: u32, mask: u32) {
    let mut v = (value & mask) | (*fpscr & !mask);
    v &= !(FEX | VX | RESERVED);
    if v & VX_CAUSES != 0 {
        v |= VX;
    }
    if (v >> 25) & (v >> 3) & 0x1f != 0 {
        v |= FEX;
    }
    *fpscr = v;
}

/// mtfsf: field i of FM (bit 7 - i of `fm`, i = 0 the leftmost) selects the 4
/// FPSCR bits 4i..4i+3 taken from the low word of `value`.
pub fn mtfsf(fpscr: &mut u32, fm: u8, value: u64) {
    let mut mask = 0u32;
    for i in 0..8 {
        if fm & (1 << i) != 0 {
            mask |= 0xf << (4 * i);
        }
    }
    store(fpscr, value as u32, mask);
}

/// mtfsfi: FPSCR field `field` (0 = leftmost) = `imm` (4 bits).
pub fn mtfsfi(fpscr: &mut u32, field: u8, imm: u8) {
    let sh = 4 * (7 - (field as u32 & 7));
    store(fpscr, ((imm as u32) & 0xf) << sh, 0xf << sh);
}

/// mtfsb0: clears architecture bit `bit` (0 = FX); FEX and VX are recomputed
/// from the other bits, as for mtfsf.
pub fn mtfsb0(fpscr: &mut u32, bit: u8) {
    let m = 1u32 << (31 - (bit as u32 & 31));
    store(fpscr, *fpscr & !m, !0);
}

/// mtfsb1: sets architecture bit `bit`. Like mtfsf it cannot set FEX, VX or the
/// reserved bit directly; as in qemu-ppc 7.2 it does not set FX, and NI (the
/// non-IEEE mode the emulation does not implement) cannot be set.
pub fn mtfsb1(fpscr: &mut u32, bit: u8) {
    let m = 1u32 << (31 - (bit as u32 & 31));
    if m == NI {
        return;
    }
    store(fpscr, *fpscr | m, !0);
}

/// True when an exception bit and its enable are both set: after mtfsf,
/// mtfsfi, mtfsb1 the caller raises a program exception (FP enabled).
pub fn enabled_exception_pending(fpscr: u32) -> bool {
    (fpscr >> 25) & (fpscr >> 3) & 0x1f != 0
}

#[cfg(test)]
mod tests;
