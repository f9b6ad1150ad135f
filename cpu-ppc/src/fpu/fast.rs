//! The host-f64 fast path for the common case.
//!
//! When rounding is to nearest and the operands' exponents are far enough from
//! the limits that the result can neither overflow nor become tiny, the host's
//! IEEE double operation gives the exact PowerPC result. All that is left is the
//! inexact flag, which is computed exactly: TwoSum for sums, an integer product of
//! significands for products and quotients. Single-precision forms qualify when
//! both inputs are single-precision values: double has more than 2*24+2 bits, so
//! rounding the double result to single is the correctly rounded single result.
//! Everything else (NaN, infinity, zero or denormal inputs, directed rounding,
//! extreme exponents, fused multiply-add) returns None and takes the exact path.

use super::soft::INEXACT;
use super::FpOp;

/// Biased exponent of a double.
fn bexp(x: u64) -> u64 {
    (x >> 52) & 0x7ff
}

/// Both operands normal with unbiased exponents in -510..=511: sums, products
/// and quotients then stay normal doubles.
fn double_ok(a: u64, b: u64) -> bool {
    let lo = 1023 - 510;
    let hi = 1023 + 511;
    (lo..=hi).contains(&bexp(a)) && (lo..=hi).contains(&bexp(b))
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

/// Rounds a double to single; returns it as a double and whether that was inexact.
fn to_single(x: f64) -> (u64, bool) {
    let r = x as f32 as f64;
    (r.to_bits(), r != x)
}

/// The fast-path result and softfloat flags, or None for the exact path.
pub fn arith(op: FpOp, fpscr: u32, a: u64, b: u64, c: u64) -> Option<(u64, u8)> {
    use FpOp::*;
    if fpscr & super::fpscr::RN != 0 {
        return None;
    }
    let (fa, fb, fc) = (f64::from_bits(a), f64::from_bits(b), f64::from_bits(c));
    let flag = |inexact: bool| if inexact { INEXACT } else { 0 };
    match op {
        Fadd | Fsub if double_ok(a, b) => {
            let fb = if op == Fsub { -fb } else { fb };
            let s = fa + fb;
            Some((s.to_bits(), flag(sum_inexact(fa, fb, s))))
        }
        Fmul if double_ok(a, c) => {
            let p = fa * fc;
            Some((p.to_bits(), flag(product_inexact(a, c))))
        }
        Fdiv if double_ok(a, b) => {
            let q = fa / fb;
            Some((q.to_bits(), flag(quotient_inexact(a, b, q.to_bits()))))
        }
        Fadds | Fsubs if single_ok(a, b) => {
            let fb = if op == Fsubs { -fb } else { fb };
            let s = fa + fb;
            let (r, lost) = to_single(s);
            Some((r, flag(lost || sum_inexact(fa, fb, s))))
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
        _ => None,
    }
}
