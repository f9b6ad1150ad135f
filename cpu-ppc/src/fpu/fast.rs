//! The host-f64 fast path for the common case.
//!
//! When rounding is to nearest and the operands are zeros or have exponents far
//! enough from the limits that the result can neither overflow nor become tiny,
//! the host's IEEE double operation gives the exact PowerPC result. All that is
//! left is the inexact flag, which is computed exactly: TwoSum for sums, an
//! integer product of significands for products and quotients, a 128-bit integer
//! residual for the fused forms (run on the host FMA instruction when the CPU has
//! one).
//!
//! Single-precision forms: fmuls and fdivs of single-precision values round
//! correctly through double (53 >= 2*24+2 bits). fadds/fsubs and the fused single
//! forms accept any double inputs: rounding the double result to single is only
//! wrong when that result sits exactly on a single-precision tie, and there the
//! sign of the exact residual decides the direction.
//!
//! Everything else (NaN, infinity, denormal inputs, zeros in the single and
//! fused forms, directed rounding, extreme exponents, fsqrt, fres, frsqrte)
//! returns None and takes the exact path.
//! `tests.rs` checks this path against the exact one bit for bit.

use super::soft::INEXACT;
use super::FpOp;

/// Biased exponent of a double.
fn bexp(x: u64) -> u64 {
    (x >> 52) & 0x7ff
}

/// Normal with an unbiased exponent in -510..=511, or zero. Sums, products and
/// quotients (by a nonzero) of such values are zero or stay normal doubles; with
/// a zero operand they are exact. Zeros are common: loops start from them.
fn double_ok(x: u64) -> bool {
    let lo = 1023 - 510;
    let hi = 1023 + 511;
    is_zero(x) || (lo..=hi).contains(&bexp(x))
}

/// +0 or -0.
fn is_zero(x: u64) -> bool {
    x << 1 == 0
}

/// Both operands single-precision values with unbiased exponents in -60..=60:
/// results stay normal in single precision.
fn single_ok(a: u64, b: u64) -> bool {
    let lo = 1023 - 60;
    let hi = 1023 + 60;
    let low = (1 << 29) - 1;
    (lo..=hi).contains(&bexp(a)) && (lo..=hi).contains(&bexp(b)) && a & low == 0 && b & low == 0
}

/// Significand with the implicit bit, and the exponent of its last bit.
fn parts(x: u64) -> (u64, i32) {
    ((x & ((1 << 52) - 1)) | (1 << 52), bexp(x) as i32 - 1075)
}

/// Whether `a + b` rounded to `s` lost anything (TwoSum: the error is exact).
fn sum_inexact(a: f64, b: f64, s: f64) -> bool {
    let bb = s - a;
    let err = (a - (s - bb)) + (b - bb);
    err != 0.0
}

/// Whether the exact product of normal doubles `x * y` has more than 53 bits.
fn product_inexact(x: u64, y: u64) -> bool {
    let p = parts(x).0 as u128 * parts(y).0 as u128;
    let len = 128 - p.leading_zeros();
    p.trailing_zeros() + 53 < len
}

/// Whether `q` is not exactly `a / b`, i.e. `q * b != a` (all normal doubles).
fn quotient_inexact(a: u64, b: u64, q: u64) -> bool {
    let (mq, eq) = parts(q);
    let (mb, eb) = parts(b);
    let (ma, ea) = parts(a);
    let p = mq as u128 * mb as u128;
    let (tp, ta) = (p.trailing_zeros(), ma.trailing_zeros());
    (p >> tp) != (ma >> ta) as u128 || eq + eb + tp as i32 != ea + ta as i32
}

/// Sign of `a*c - r` for normal doubles, `r` the rounded product: -1, 0 or 1.
fn product_residual(a: u64, c: u64, r: u64) -> i128 {
    let p = parts(a).0 as u128 * parts(c).0 as u128;
    let ep = parts(a).1 + parts(c).1;
    let (mr, er) = parts(r);
    // p has 105 or 106 bits and mr 53, so er >= ep.
    let rr = (mr as u128) << (er - ep) as u32;
    let mag = p.cmp(&rr) as i128;
    if r >> 63 != 0 {
        -mag
    } else {
        mag
    }
}

/// Sign of `a/b - q` for normal doubles, `q` the rounded quotient: -1, 0 or 1.
fn quotient_residual(a: u64, b: u64, q: u64) -> i128 {
    let (ma, ea) = parts(a);
    let (mb, eb) = parts(b);
    let (mq, eq) = parts(q);
    let p = mq as u128 * mb as u128;
    // |a| against |q|*|b|, aligned on the smaller exponent.
    let d = ea - (eq + eb);
    let mag = if d >= 0 {
        ((ma as u128) << d as u32).cmp(&p)
    } else {
        (ma as u128).cmp(&(p << (-d) as u32))
    } as i128;
    if q >> 63 != 0 {
        -mag
    } else {
        mag
    }
}

/// Rounds a double to single; returns it as a double and whether that was inexact.
fn to_single(x: f64) -> (u64, bool) {
    let r = x as f32 as f64;
    (r.to_bits(), r != x)
}

/// Normal with unbiased exponent in -limit..=limit.
fn in_range(x: u64, limit: u64) -> bool {
    (1023 - limit..=1023 + limit).contains(&bexp(x))
}

/// The host's fused multiply-add, when the CPU has one.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
fn host_fma(a: f64, c: f64, b: f64) -> Option<f64> {
    #[target_feature(enable = "fma")]
    unsafe fn fused(a: f64, c: f64, b: f64) -> f64 {
        a.mul_add(c, b)
    }
    if std::arch::is_x86_feature_detected!("fma") {
        // Without the instruction mul_add is a slow libm call, no faster than the
        // exact path; with it this is one vfmadd. Measured in benches/fpu.rs.
        // SAFETY: `fused` only needs the FMA extension, detected just above.
        let r = unsafe { fused(a, c, b) };
        Some(r)
    } else {
        None
    }
}

#[cfg(target_arch = "aarch64")]
fn host_fma(a: f64, c: f64, b: f64) -> Option<f64> {
    // Every AArch64 CPU has fmadd.
    Some(a.mul_add(c, b))
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn host_fma(_a: f64, _c: f64, _b: f64) -> Option<f64> {
    None
}

/// Sign of `a*c + b - r` computed exactly in 128-bit integers (all four normal
/// or `r` zero), or None when the exponents are too far apart to fit.
fn fma_residual(a: u64, c: u64, b: u64, r: u64) -> Option<i128> {
    let (ma, ea) = parts(a);
    let (mc, ec) = parts(c);
    let (mb, eb) = parts(b);
    let p = ma as i128 * mc as i128;
    let ep = ea + ec;
    let (mr, er) = if r << 1 == 0 { (0, ep) } else { parts(r) };
    let emin = ep.min(eb).min(er);
    let (sp, sb, sr) = (ep - emin, eb - emin, er - emin);
    // p has at most 106 bits, mb and mr 53: keep every term below 2^125.
    if sp > 19 || sb > 72 || sr > 72 {
        return None;
    }
    let neg = |x: i128, negative: bool| if negative { -x } else { x };
    let tp = neg(p << sp, (a ^ c) >> 63 != 0);
    let tb = neg((mb as i128) << sb, b >> 63 != 0);
    let tr = neg((mr as i128) << sr, r >> 63 != 0);
    Some(tp + tb - tr)
}

/// Rounds the double `r`, which is `exact` rounded to nearest with
/// `residual = exact - r`, to single precision as if from `exact` itself:
/// only a tie in single precision needs the residual to break it.
fn single_from(r: u64, residual_sign: i128) -> (u64, bool) {
    let low = r & ((1 << 29) - 1);
    if low == 1 << 28 && residual_sign != 0 {
        let away = (residual_sign > 0) == (r >> 63 == 0);
        let s = if away { r + (1 << 28) } else { r - (1 << 28) };
        return (s, true);
    }
    let (s, lost) = to_single(f64::from_bits(r));
    (s, lost || residual_sign != 0)
}

/// The fused forms: host FMA, then the exact residual for the inexact flag
/// (and for single precision, to break ties the double rounding would get wrong).
fn fused(op: FpOp, a: u64, b: u64, c: u64) -> Option<(u64, u8)> {
    use FpOp::*;
    let single = matches!(op, Fmadds | Fmsubs | Fnmadds | Fnmsubs);
    let limit = if single { 40 } else { 300 };
    if !(in_range(a, limit) && in_range(b, limit) && in_range(c, limit)) {
        return None;
    }
    let b = if matches!(op, Fmsub | Fmsubs | Fnmsub | Fnmsubs) {
        b ^ (1 << 63)
    } else {
        b
    };
    let r = host_fma(f64::from_bits(a), f64::from_bits(c), f64::from_bits(b))?.to_bits();
    // Cancellation can leave a result too small for the exponent checks above.
    if r << 1 != 0 && !in_range(r, if single { 100 } else { 900 }) {
        return None;
    }
    let residual = fma_residual(a, c, b, r)?;
    let (v, inexact) = if single {
        single_from(r, residual.signum())
    } else {
        (r, residual != 0)
    };
    // Negating after rounding to nearest is the same as rounding the negation.
    let v = if matches!(op, Fnmadd | Fnmadds | Fnmsub | Fnmsubs) {
        v ^ (1 << 63)
    } else {
        v
    };
    Some((v, if inexact { INEXACT } else { 0 }))
}

/// The fast-path result and softfloat flags, or None for the exact path.
#[inline(always)]
pub fn arith(op: FpOp, fpscr: u32, a: u64, b: u64, c: u64) -> Option<(u64, u8)> {
    use FpOp::*;
    if fpscr & super::fpscr::RN != 0 {
        return None;
    }
    let (fa, fb, fc) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
    let flag = |inexact: bool| if inexact { INEXACT } else { 0 };
    match op {
        // The host's signed zeros follow the same IEEE rules in round to nearest.
        Fadd | Fsub if double_ok(a) && double_ok(b) => {
            let fb = if op == Fsub { -fb } else { fb };
            let s = fa + fb;
            Some((s.to_bits(), flag(sum_inexact(fa, fb, s))))
        }
        Fmul if double_ok(a) && double_ok(c) => {
            let p = fa * fc;
            let inexact = !is_zero(a) && !is_zero(c) && product_inexact(a, c);
            Some((p.to_bits(), flag(inexact)))
        }
        Fdiv if double_ok(a) && double_ok(b) && !is_zero(b) => {
            let q = fa / fb;
            let inexact = !is_zero(a) && quotient_inexact(a, b, q.to_bits());
            Some((q.to_bits(), flag(inexact)))
        }
        Fadds | Fsubs if in_range(a, 60) && in_range(b, 60) => {
            let fb = if op == Fsubs { -fb } else { fb };
            let s = fa + fb;
            if s != 0.0 && !in_range(s.to_bits(), 100) {
                return None;
            }
            let bb = s - fa;
            let err = (fa - (s - bb)) + (fb - bb);
            let sign = if err > 0.0 {
                1
            } else if err < 0.0 {
                -1
            } else {
                0
            };
            let (r, inexact) = single_from(s.to_bits(), sign);
            Some((r, flag(inexact)))
        }
        Fmuls if single_ok(a, c) => {
            // 24 x 24 bits: the double product is exact.
            let (r, lost) = to_single(fa * fc);
            Some((r, flag(lost)))
        }
        Fdivs if single_ok(a, b) => {
            let q = fa / fb;
            let (r, lost) = to_single(q);
            Some((r, flag(lost || quotient_inexact(a, b, q.to_bits()))))
        }
        Fmuls if in_range(a, 60) && in_range(c, 60) => {
            let p = (fa * fc).to_bits();
            let (r, inexact) = single_from(p, product_residual(a, c, p));
            Some((r, flag(inexact)))
        }
        Fdivs if in_range(a, 60) && in_range(b, 60) => {
            let q = (fa / fb).to_bits();
            let (r, inexact) = single_from(q, quotient_residual(a, b, q));
            Some((r, flag(inexact)))
        }
        Fmadd | Fmadds | Fmsub | Fmsubs | Fnmadd | Fnmadds | Fnmsub | Fnmsubs => fused(op, a, b, c),
        _ => None,
    }
}
