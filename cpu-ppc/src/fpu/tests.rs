//! Unit tests of specific tricky cases; the exhaustive check against qemu-ppc is
//! `cpu-ppc/tests/fpu_qemu.rs`.

use super::fpscr::*;
use super::*;

const ONE: u64 = 0x3ff0_0000_0000_0000;
const TWO: u64 = 0x4000_0000_0000_0000;
const THREE: u64 = 0x4008_0000_0000_0000;
const PINF: u64 = 0x7ff0_0000_0000_0000;
const NINF: u64 = 0xfff0_0000_0000_0000;
const QNAN_A: u64 = 0x7ff8_0000_0000_00aa;
const QNAN_B: u64 = 0x7ff8_0000_0000_00bb;
const SNAN: u64 = 0x7ff0_0000_0000_0001;

#[test]
fn one_third_is_inexact_and_sets_fi_xx_fx() {
    let mut f = 0;
    let r = arith(FpOp::Fdiv, &mut f, ONE, THREE, 0);
    assert_eq!(r, Some(0x3fd5_5555_5555_5555));
    assert_eq!(f, FX | XX | FI | (0x04 << 12));
}

#[test]
fn inf_minus_inf_sets_vxisi_and_gives_default_nan() {
    let mut f = 0;
    let r = arith(FpOp::Fsub, &mut f, PINF, PINF, 0);
    assert_eq!(r, Some(0x7ff8_0000_0000_0000));
    assert_eq!(f, FX | VX | VXISI | (0x11 << 12));
}

#[test]
fn enabled_invalid_suppresses_write_and_sets_fex() {
    let mut f = VE;
    let o = arith_outcome(FpOp::Fadd, &mut f, PINF, NINF, 0);
    assert_eq!(
        o,
        Outcome {
            value: None,
            trap: true
        }
    );
    assert_eq!(f & (FEX | VXISI), FEX | VXISI);
}

#[test]
fn first_nan_in_fra_frb_frc_order_wins_for_fmadd() {
    let mut f = 0;
    assert_eq!(
        arith(FpOp::Fmadd, &mut f, ONE, QNAN_B, QNAN_A),
        Some(QNAN_B)
    );
    assert_eq!(
        arith(FpOp::Fmadd, &mut f, QNAN_A, QNAN_B, ONE),
        Some(QNAN_A)
    );
}

#[test]
fn snan_operand_is_quieted_and_sets_vxsnan() {
    let mut f = 0;
    let r = arith(FpOp::Fadd, &mut f, SNAN, ONE, 0);
    assert_eq!(r, Some(SNAN | (1 << 51)));
    assert_ne!(f & VXSNAN, 0);
}

#[test]
fn divide_by_zero_sets_zx_and_gives_signed_infinity() {
    let mut f = 0;
    let r = arith(FpOp::Fdiv, &mut f, ONE | (1 << 63), 0, 0);
    assert_eq!(r, Some(NINF));
    assert_eq!(f, FX | ZX | (0x09 << 12));
}

#[test]
fn fmadds_rounds_once_to_single() {
    // 1 + 2^-24 + 2^-60: rounding first to double then to single would tie to 1.0.
    let a = 0x3ff0_0000_1000_0000; // 1 + 2^-24
    let c = ONE;
    let b = 0x3c30_0000_0000_0000; // 2^-60
    let mut f = 0;
    let r = arith(FpOp::Fmadds, &mut f, a, b, c).unwrap();
    assert_eq!(r, 0x3ff0_0000_2000_0000); // 1 + 2^-23
}

#[test]
fn round_toward_zero_truncates_one_third() {
    let mut f = 1;
    let r = arith(FpOp::Fdiv, &mut f, ONE, THREE, 0);
    assert_eq!(r, Some(0x3fd5_5555_5555_5555));
    let mut f = 2;
    let r = arith(FpOp::Fdiv, &mut f, ONE, THREE, 0);
    assert_eq!(r, Some(0x3fd5_5555_5555_5556));
}

#[test]
fn fctiw_saturates_and_sets_vxcvi() {
    let mut f = 0;
    let r = fctiw(&mut f, 0x41f0_0000_0000_0000, false); // 2^32
    assert_eq!(r.map(|v| v as u32), Some(0x7fff_ffff));
    assert_ne!(f & VXCVI, 0);
    assert_ne!(f & VX, 0);
}

#[test]
fn fctiw_rounds_half_to_even() {
    let mut f = 0;
    assert_eq!(fctiw(&mut f, 0x4004_0000_0000_0000, false), Some(2)); // 2.5
    let mut f = 0;
    assert_eq!(fctiw(&mut f, 0x4004_0000_0000_0000, true), Some(2));
    assert_eq!(f & (XX | FI), XX | FI);
}

#[test]
fn fcmpo_with_qnan_sets_vxvc_but_fcmpu_does_not() {
    let mut f = 0;
    assert_eq!(compare(false, &mut f, QNAN_A, ONE), 1);
    assert_eq!(f & VXVC, 0);
    let mut f = 0;
    assert_eq!(compare(true, &mut f, QNAN_A, ONE), 1);
    assert_eq!(f & (VXVC | VX | FX), VXVC | VX | FX);
}

#[test]
fn compare_sets_fpcc_for_less_than() {
    let mut f = 0;
    assert_eq!(compare(false, &mut f, ONE, TWO), 8);
    assert_eq!(f & FPCC, FL);
}

#[test]
fn mtfsf_cannot_set_fex_or_vx_directly() {
    let mut f = 0;
    mtfsf(&mut f, 0xff, (FEX | VX) as u64);
    assert_eq!(f, 0);
    mtfsf(&mut f, 0xff, (XX | XE) as u64);
    assert_eq!(f, XX | XE | FEX);
    assert!(enabled_exception_pending(f));
}

#[test]
fn mtfsb0_of_last_vx_cause_clears_vx() {
    let mut f = 0;
    mtfsb1(&mut f, 7); // VXSNAN; qemu-ppc 7.2 leaves FX alone
    assert_eq!(f, VX | VXSNAN);
    mtfsb0(&mut f, 7);
    assert_eq!(f, 0);
}

#[test]
fn single_double_conversions_round_trip_denormals() {
    for w in [
        0x0000_0001u32,
        0x8040_0000,
        0x3f80_0000,
        0x7fc0_0001,
        0xff80_0000,
    ] {
        assert_eq!(double_to_single(single_to_double(w)), w);
    }
    assert_eq!(single_to_double(0x0000_0001), 0x36a0_0000_0000_0000);
}

#[test]
fn single_to_double_widens_infinity_and_nan_exponent_to_all_ones() {
    let cases = [
        (0x7f80_0000u32, 0x7ff0_0000_0000_0000u64), // +Inf
        (0xff80_0000, 0xfff0_0000_0000_0000),       // -Inf
        (0x7fc0_0000, 0x7ff8_0000_0000_0000),       // default QNaN
        (0x7f80_0001, 0x7ff0_0000_2000_0000),       // SNaN stays signalling
        (0xffff_ffff, 0xffff_ffff_e000_0000),       // QNaN, all payload bits
    ];
    for (w, want) in cases {
        assert_eq!(single_to_double(w), want, "{w:#010x}");
    }
}

#[test]
fn single_to_double_rebiases_normals_at_both_exponent_ends() {
    assert_eq!(single_to_double(0x3f80_0000), 0x3ff0_0000_0000_0000); // 1.0
    assert_eq!(single_to_double(0x0080_0000), 0x3810_0000_0000_0000); // FLT_MIN
    assert_eq!(single_to_double(0x7f7f_ffff), 0x47ef_ffff_e000_0000); // FLT_MAX
    assert_eq!(single_to_double(0x8000_0000), 0x8000_0000_0000_0000); // -0
}

#[test]
fn enabled_underflow_rebiases_exponent_and_flags_exact_results() {
    // 0 + 2^-1074 with UE: exact, yet UX and FEX are set and the result is
    // scaled by 2^1536, as qemu-ppc does.
    let mut f = UE;
    let o = arith_outcome(FpOp::Fadd, &mut f, 0, 1, 0);
    assert_eq!(o.value, Some(0x5cd0_0000_0000_0000));
    assert!(o.trap);
    assert_eq!(f, FX | FEX | UX | UE | (0x04 << 12));
}

#[test]
fn enabled_overflow_rebiases_instead_of_infinity() {
    let max = 0x7fef_ffff_ffff_ffff;
    let mut f = OE;
    let o = arith_outcome(FpOp::Fmul, &mut f, max, 0, TWO);
    assert_eq!(o.value, Some(max - (1536 << 52) + (1 << 52)));
    assert!(o.trap);
    assert_eq!(f & (OX | XX | FEX), OX | FEX);
}

#[test]
fn disabled_overflow_gives_infinity_with_ox_xx_fi() {
    let max = 0x7fef_ffff_ffff_ffff;
    let mut f = 0;
    assert_eq!(arith(FpOp::Fmul, &mut f, max, 0, TWO), Some(PINF));
    assert_eq!(f, FX | OX | XX | FI | (0x05 << 12));
}

#[test]
fn single_precision_nan_result_keeps_only_float32_payload() {
    let mut f = 0;
    let r = arith(FpOp::Fadds, &mut f, 0x7ff8_0000_0000_0001, ONE, 0);
    assert_eq!(r, Some(0x7ff8_0000_0000_0000));
}

#[test]
fn fres_of_zero_is_half_with_zero_divide() {
    let mut f = 0;
    let r = arith(FpOp::Fres, &mut f, 0, 1 << 63, 0);
    assert_eq!(r, Some(0xbfe0_0000_0000_0000));
    assert_ne!(f & ZX, 0);
}

#[test]
fn fmadd_inf_times_zero_reports_only_vximz_even_with_snan_addend() {
    let mut f = 0;
    let r = arith(FpOp::Fmadd, &mut f, PINF, SNAN, 0);
    assert_eq!(r, Some(SNAN | (1 << 51)));
    assert_eq!(f & (VXIMZ | VXSNAN), VXIMZ);
}

#[test]
fn frsp_rounds_to_single_and_flags_underflow() {
    let mut f = 0;
    // Half the smallest single denormal ties to even (zero).
    assert_eq!(frsp(&mut f, 0x3690_0000_0000_0000), Some(0));
    assert_eq!(f & (UX | XX | FI), UX | XX | FI);
}

#[test]
fn fsel_leaves_fpscr_untouched_and_treats_minus_zero_as_nonnegative() {
    let mut f = 0x1234_5678 & !RESERVED;
    let before = f;
    assert_eq!(arith(FpOp::Fsel, &mut f, 1 << 63, ONE, TWO), Some(TWO));
    assert_eq!(arith(FpOp::Fsel, &mut f, QNAN_A, ONE, TWO), Some(ONE));
    assert_eq!(f, before);
}

/// xorshift64, so the property test needs no dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn fast_path_agrees_with_exact_path_bit_for_bit() {
    let ops = [
        FpOp::Fadd,
        FpOp::Fsub,
        FpOp::Fmul,
        FpOp::Fdiv,
        FpOp::Fadds,
        FpOp::Fsubs,
        FpOp::Fmuls,
        FpOp::Fdivs,
        FpOp::Fmadd,
        FpOp::Fmsub,
        FpOp::Fnmadd,
        FpOp::Fnmsub,
        FpOp::Fmadds,
        FpOp::Fmsubs,
        FpOp::Fnmadds,
        FpOp::Fnmsubs,
    ];
    let mut s = 0x2545_f491_4f6c_dd1d;
    let mut checked = 0;
    for i in 0..1_000_000 {
        let op = ops[i % ops.len()];
        // Exponents near 1.0 (fast path) and some far out (exact path).
        let val = |s: &mut u64| {
            let r = next(s);
            let exp = if r & 7 == 0 {
                (r >> 3) & 0x7ff
            } else {
                1023 - 64 + ((r >> 3) & 127)
            };
            let mut frac = next(s) & ((1 << 52) - 1);
            if r & 0x30 == 0 {
                frac &= !((1 << 29) - 1); // single-precision value
            }
            if r & 0x1c0 == 0 {
                return r & (1 << 63); // a signed zero
            }
            (r & (1 << 63)) | (exp << 52) | frac
        };
        let (a, mut b, c) = (val(&mut s), val(&mut s), val(&mut s));
        if i % 5 == 0 {
            // b close to -(a*c): cancellation, and single-precision ties.
            let p = f64::from_bits(a) * f64::from_bits(c);
            b = (-p).to_bits() ^ (next(&mut s) & 0xff);
            if i % 10 == 0 {
                b = (-p).to_bits() & !((1 << 28) - 1);
            }
        } else if i % 7 == 0 {
            // b = ±a: sums and differences of zero, with their signs.
            b = a ^ (next(&mut s) & (1 << 63));
        }
        let cfg = [0, XE, FX | XX | FI][i % 3];
        let (mut f1, mut f2) = (cfg, cfg);
        let fast = arith_outcome(op, &mut f1, a, b, c);
        let exact = arith_outcome_exact(op, &mut f2, a, b, c);
        assert_eq!((fast, f1), (exact, f2), "{op:?} {a:016x} {b:016x} {c:016x}");
        checked += 1;
    }
    assert_eq!(checked, 1_000_000);
}
