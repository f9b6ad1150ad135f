//! Exact IEEE 754 binary64 arithmetic over bit patterns, with softfloat-style flags.
//!
//! Every operation computes the exact result as an integer significand (plus a
//! sticky bit for what did not fit) and rounds it once with [`round_pack`]. That is
//! what makes the single-precision forms exact: they round once, straight to
//! single precision, with no intermediate double rounding. The NaN rules are the
//! PowerPC ones QEMU implements: the first NaN operand in frA, frB, frC order is
//! returned quieted; an invalid operation without a NaN input gives the default NaN.

/// Invalid operation.
pub const INVALID: u8 = 1;
/// Division of a finite non-zero number by zero.
pub const DIVBYZERO: u8 = 2;
/// The rounded result exceeded the largest finite number.
pub const OVERFLOW: u8 = 4;
/// The result was tiny (before rounding) and inexact.
pub const UNDERFLOW: u8 = 8;
/// The rounded result differs from the exact one.
pub const INEXACT: u8 = 16;

/// PowerPC's default quiet NaN.
pub const DEFAULT_NAN: u64 = 0x7ff8_0000_0000_0000;
const SIGN: u64 = 1 << 63;
const QUIET: u64 = 1 << 51;
const FRAC: u64 = (1 << 52) - 1;
const EXP: u64 = 0x7ff << 52;

/// FPSCR[RN] as a rounding direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rounding {
    Nearest,
    Zero,
    Up,
    Down,
}

impl Rounding {
    pub fn from_rn(rn: u32) -> Rounding {
        match rn & 3 {
            0 => Rounding::Nearest,
            1 => Rounding::Zero,
            2 => Rounding::Up,
            _ => Rounding::Down,
        }
    }
}

/// Rounding direction plus the FPSCR[UE]/FPSCR[OE] rebias behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mode {
    pub rm: Rounding,
    pub rebias_underflow: bool,
    pub rebias_overflow: bool,
}

impl Mode {
    /// Plain IEEE rounding in direction `rm`.
    pub fn new(rm: Rounding) -> Mode {
        Mode {
            rm,
            rebias_underflow: false,
            rebias_overflow: false,
        }
    }
}

/// The precision a result is rounded to; both are held in a binary64 register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prec {
    Double,
    /// Single precision range and precision, held as a double (QEMU's float64r32).
    Single,
    /// A real float32 step, widened again: frsp's exponent wraps in 8 bits.
    Float32,
}

/// An operand taken apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Zero,
    /// value = m * 2^e, m != 0 (subnormals are not normalised).
    Finite {
        m: u64,
        e: i32,
    },
    Inf,
    QNan,
    SNan,
}

pub fn sign(x: u64) -> bool {
    x & SIGN != 0
}

pub fn classify(x: u64) -> Class {
    let exp = (x & EXP) >> 52;
    let frac = x & FRAC;
    match exp {
        0 if frac == 0 => Class::Zero,
        0 => Class::Finite { m: frac, e: -1074 },
        0x7ff if frac == 0 => Class::Inf,
        0x7ff if frac & QUIET != 0 => Class::QNan,
        0x7ff => Class::SNan,
        _ => Class::Finite {
            m: frac | (1 << 52),
            e: exp as i32 - 1075,
        },
    }
}

pub fn is_nan(x: u64) -> bool {
    x & EXP == EXP && x & FRAC != 0
}

pub fn is_snan(x: u64) -> bool {
    is_nan(x) && x & QUIET == 0
}

fn quiet(x: u64) -> u64 {
    x | QUIET
}

fn inf(sign: bool) -> u64 {
    ((sign as u64) << 63) | EXP
}

fn zero(sign: bool) -> u64 {
    (sign as u64) << 63
}

/// The NaN a two-operand operation returns, raising invalid for a signalling input.
fn pick_nan2(a: u64, b: u64, flags: &mut u8) -> u64 {
    if is_snan(a) || is_snan(b) {
        *flags |= INVALID;
    }
    quiet(if is_nan(a) { a } else { b })
}

/// Rounds `sign * (m + s) * 2^e` once, where `0 < s < 1` when `sticky` is set.
///
/// The work is done on 63 bits: a wider `m` is shifted down with the lost bits
/// jammed into bit 0, which keeps every rounding decision exact because the
/// rounding point is always at least 10 bits above that sticky bit.
pub fn round_pack(
    sign: bool,
    m: u128,
    e: i32,
    sticky: bool,
    prec: Prec,
    rm: Mode,
    flags: &mut u8,
) -> u64 {
    if m == 0 {
        // Only a sticky remainder: far below the smallest subnormal.
        return round_tiny(sign, sticky, prec, rm, flags);
    }
    let msb = 127 - m.leading_zeros() as i32;
    if msb > 62 {
        let k = (msb - 62) as u32;
        let lost = m & ((1u128 << k) - 1) != 0;
        round64(
            sign,
            (m >> k) as u64 | (lost || sticky) as u64,
            e + k as i32,
            prec,
            rm,
            flags,
        )
    } else if sticky {
        let k = (62 - msb) as u32;
        round64(sign, ((m as u64) << k) | 1, e - k as i32, prec, rm, flags)
    } else {
        round64(sign, m as u64, e, prec, rm, flags)
    }
}

/// [`round_pack`] for a non-zero `m` of at most 63 bits whose bit 0 may be a
/// sticky bit standing for anything below it.
///
/// With `rebias_underflow` (FPSCR[UE])
/// a tiny result is not denormalised: it is rounded to full precision and its
/// exponent raised by 1536 (192 for single), with UX even when exact; with
/// `rebias_overflow` (FPSCR[OE]) an overflowing result has its exponent lowered by
/// the same amount instead of becoming infinity. Both as QEMU's softfloat does.
pub fn round64(sign: bool, m: u64, e: i32, prec: Prec, rm: Mode, flags: &mut u8) -> u64 {
    let (p, emin, emax, rebias) = match prec {
        Prec::Double => (53, -1022, 1023, 1536),
        Prec::Single | Prec::Float32 => (24, -126, 127, 192),
    };
    let msb = 63 - m.leading_zeros() as i32;
    let lead = msb + e;
    let tiny = lead < emin;
    let scaled = tiny && rm.rebias_underflow;
    let lsb = if tiny && !scaled {
        emin - p + 1
    } else {
        lead - p + 1
    };
    let shift = lsb - e;
    let (mut q, half, rest) = if shift <= 0 {
        (m << (-shift) as u32, false, false)
    } else if shift > 64 {
        (0u64, false, true)
    } else if shift == 64 {
        (0u64, m >> 63 != 0, m << 1 != 0)
    } else {
        let rem = m & ((1u64 << shift) - 1);
        let h = 1u64 << (shift - 1);
        (m >> shift, rem & h != 0, rem & (h - 1) != 0)
    };
    let inexact = half || rest;
    let up = match rm.rm {
        Rounding::Nearest => half && (rest || q & 1 != 0),
        Rounding::Zero => false,
        Rounding::Up => inexact && !sign,
        Rounding::Down => inexact && sign,
    };
    if up {
        q += 1;
    }
    if inexact {
        *flags |= INEXACT;
    }
    // Exponent of the leading bit of q after rounding.
    let mut lead_out = lead;
    if !tiny || scaled {
        if q >> p != 0 {
            q >>= 1;
            lead_out += 1;
        }
    } else {
        lead_out = if q >> (p - 1) != 0 { emin } else { emin - 1 };
    }
    if scaled {
        *flags |= UNDERFLOW;
        lead_out += rebias;
    } else if lead_out > emax {
        *flags |= OVERFLOW;
        if rm.rebias_overflow {
            lead_out -= rebias;
        } else {
            *flags |= INEXACT;
            return overflow_result(sign, prec, rm.rm);
        }
    } else if tiny && inexact {
        *flags |= UNDERFLOW;
    }
    let s = (sign as u64) << 63;
    if q == 0 {
        return s;
    }
    match prec {
        Prec::Double => {
            if lead_out < emin {
                s | q
            } else {
                // A rebiased exponent can leave the range; keep its low 11 bits
                // as softfloat's packing does.
                s | ((((lead_out + 1023) as u64) & 0x7ff) << 52) | (q & FRAC)
            }
        }
        Prec::Single => {
            if scaled && lead_out == emin - 1 {
                // softfloat repacks a rebiased float32 exponent field of 0 as a
                // denormal, which renormalises one binade higher.
                lead_out = emin;
            }
            // Any single-precision value is a normal double.
            let k = 63 - q.leading_zeros() as i32;
            let lsb_out = if lead_out < emin && !scaled {
                emin - p + 1
            } else {
                lead_out - p + 1
            };
            let exp = lsb_out + k;
            s | ((((exp + 1023) as u64) & 0x7ff) << 52) | ((q << (52 - k)) & FRAC)
        }
        Prec::Float32 => {
            let s32 = (sign as u32) << 31;
            let w = if lead_out < emin && !scaled {
                s32 | q as u32
            } else {
                s32 | ((((lead_out + 127) as u32) & 0xff) << 23) | (q as u32 & 0x7f_ffff)
            };
            widen_single(w)
        }
    }
}

fn round_tiny(sign: bool, sticky: bool, prec: Prec, rm: Mode, flags: &mut u8) -> u64 {
    if !sticky {
        return zero(sign);
    }
    *flags |= INEXACT | UNDERFLOW;
    let up = match rm.rm {
        Rounding::Up => !sign,
        Rounding::Down => sign,
        _ => false,
    };
    if !up {
        return zero(sign);
    }
    let s = (sign as u64) << 63;
    match prec {
        Prec::Double => s | 1,
        Prec::Single | Prec::Float32 => s | ((1023 - 149) << 52),
    }
}

fn overflow_result(sign: bool, prec: Prec, rm: Rounding) -> u64 {
    let to_inf = match rm {
        Rounding::Nearest => true,
        Rounding::Zero => false,
        Rounding::Up => !sign,
        Rounding::Down => sign,
    };
    let s = (sign as u64) << 63;
    if to_inf {
        return s | EXP;
    }
    match prec {
        Prec::Double => s | 0x7fef_ffff_ffff_ffff,
        Prec::Single | Prec::Float32 => s | 0x47ef_ffff_e000_0000,
    }
}

/// Sum of two finite non-zero doubles, rounded once: the larger operand's
/// leading bit goes to bit 61 and the smaller is shifted right with the lost
/// bits jammed into bit 0 (softfloat's scheme; exact for every precision).
fn add_finite(
    sa: bool,
    (ma, ea): (u64, i32),
    sb: bool,
    (mb, eb): (u64, i32),
    prec: Prec,
    rm: Mode,
    flags: &mut u8,
) -> u64 {
    let la = 63 - ma.leading_zeros() as i32 + ea;
    let lb = 63 - mb.leading_zeros() as i32 + eb;
    let ((sx, mx, ex), (sy, my, ey)) = if la >= lb {
        ((sa, ma, ea), (sb, mb, eb))
    } else {
        ((sb, mb, eb), (sa, ma, ea))
    };
    let sh = 61 - (63 - mx.leading_zeros() as i32);
    let x = mx << sh;
    let e = ex - sh;
    let d = ey - e;
    let y = if d >= 0 {
        my << d
    } else if d <= -64 {
        1
    } else {
        let r = (-d) as u32;
        (my >> r) | (my & ((1u64 << r) - 1) != 0) as u64
    };
    if sx == sy {
        round64(sx, x + y, e, prec, rm, flags)
    } else if x > y {
        round64(sx, x - y, e, prec, rm, flags)
    } else if x < y {
        // Equal leading positions, so nothing was jammed.
        round64(sy, y - x, e, prec, rm, flags)
    } else {
        zero(rm.rm == Rounding::Down)
    }
}

/// `sa*ma*2^ea + sb*mb*2^eb` for non-zero ma, mb of at most 106 bits.
#[allow(clippy::too_many_arguments)]
fn add_wide(
    sa: bool,
    ma: u128,
    ea: i32,
    sb: bool,
    mb: u128,
    eb: i32,
    prec: Prec,
    rm: Mode,
    flags: &mut u8,
) -> u64 {
    // Order by the position of the leading bit.
    let la = 127 - ma.leading_zeros() as i32 + ea;
    let lb = 127 - mb.leading_zeros() as i32 + eb;
    let ((sx, mx, ex), (sy, my, ey)) = if la >= lb {
        ((sa, ma, ea), (sb, mb, eb))
    } else {
        ((sb, mb, eb), (sa, ma, ea))
    };
    // Put the larger operand's leading bit at bit 125, leaving room for a carry.
    let sh = 125 - (127 - mx.leading_zeros() as i32);
    let big = mx << sh;
    let e = ex - sh;
    let d = ey - e;
    let (small, sticky) = if d >= 0 {
        (my << d, false)
    } else if -d >= 128 {
        (0, true)
    } else {
        let r = (-d) as u32;
        (my >> r, my & ((1u128 << r) - 1) != 0)
    };
    if sx == sy {
        return round_pack(sx, big + small, e, sticky, prec, rm, flags);
    }
    // big > small + sticky, since big leads by at least one bit position or the
    // small operand was not shifted out.
    if big == small && !sticky {
        return zero(rm.rm == Rounding::Down);
    }
    if big > small {
        let (m, st) = if sticky {
            (big - small - 1, true)
        } else {
            (big - small, false)
        };
        round_pack(sx, m, e, st, prec, rm, flags)
    } else {
        // Equal leading positions: the smaller exponent was not shifted, so no sticky.
        round_pack(sy, small - big, e, false, prec, rm, flags)
    }
}

/// frA + frB (or frA - frB with `negate_b`).
pub fn add(a: u64, b: u64, negate_b: bool, prec: Prec, rm: Mode, flags: &mut u8) -> u64 {
    let sa = sign(a);
    let sb = sign(b) ^ negate_b;
    match (classify(a), classify(b)) {
        (Class::QNan | Class::SNan, _) | (_, Class::QNan | Class::SNan) => pick_nan2(a, b, flags),
        (Class::Inf, Class::Inf) => {
            if sa != sb {
                *flags |= INVALID;
                DEFAULT_NAN
            } else {
                inf(sa)
            }
        }
        (Class::Inf, _) => inf(sa),
        (_, Class::Inf) => inf(sb),
        (Class::Zero, Class::Zero) => {
            if sa == sb {
                zero(sa)
            } else {
                zero(rm.rm == Rounding::Down)
            }
        }
        (Class::Zero, Class::Finite { m, e }) => {
            round_pack(sb, m as u128, e, false, prec, rm, flags)
        }
        (Class::Finite { m, e }, Class::Zero) => {
            round_pack(sa, m as u128, e, false, prec, rm, flags)
        }
        (Class::Finite { m: ma, e: ea }, Class::Finite { m: mb, e: eb }) => {
            add_finite(sa, (ma, ea), sb, (mb, eb), prec, rm, flags)
        }
    }
}

pub fn mul(a: u64, b: u64, prec: Prec, rm: Mode, flags: &mut u8) -> u64 {
    let s = sign(a) ^ sign(b);
    match (classify(a), classify(b)) {
        (Class::QNan | Class::SNan, _) | (_, Class::QNan | Class::SNan) => pick_nan2(a, b, flags),
        (Class::Inf, Class::Zero) | (Class::Zero, Class::Inf) => {
            *flags |= INVALID;
            DEFAULT_NAN
        }
        (Class::Inf, _) | (_, Class::Inf) => inf(s),
        (Class::Zero, _) | (_, Class::Zero) => zero(s),
        (Class::Finite { m: ma, e: ea }, Class::Finite { m: mb, e: eb }) => {
            round_pack(s, ma as u128 * mb as u128, ea + eb, false, prec, rm, flags)
        }
    }
}

pub fn div(a: u64, b: u64, prec: Prec, rm: Mode, flags: &mut u8) -> u64 {
    let s = sign(a) ^ sign(b);
    match (classify(a), classify(b)) {
        (Class::QNan | Class::SNan, _) | (_, Class::QNan | Class::SNan) => pick_nan2(a, b, flags),
        (Class::Inf, Class::Inf) | (Class::Zero, Class::Zero) => {
            *flags |= INVALID;
            DEFAULT_NAN
        }
        (Class::Inf, _) => inf(s),
        (_, Class::Inf) => zero(s),
        (Class::Zero, _) => zero(s),
        (_, Class::Zero) => {
            *flags |= DIVBYZERO;
            inf(s)
        }
        (Class::Finite { m: ma, e: ea }, Class::Finite { m: mb, e: eb }) => {
            let sh = 126 - (63 - ma.leading_zeros() as i32);
            let n = (ma as u128) << sh;
            let d = mb as u128;
            let q = n / d;
            let r = n % d;
            round_pack(s, q, ea - sh - eb, r != 0, prec, rm, flags)
        }
    }
}

/// Integer square root of a u128, with the remainder.
fn isqrt(n: u128) -> (u128, u128) {
    let mut rem = n;
    let mut root = 0u128;
    let mut bit = 1u128 << 126;
    while bit > n {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    (root, rem)
}

pub fn sqrt(a: u64, prec: Prec, rm: Mode, flags: &mut u8) -> u64 {
    match classify(a) {
        Class::QNan | Class::SNan => pick_nan2(a, a, flags),
        Class::Zero => a,
        Class::Inf if !sign(a) => a,
        _ if sign(a) => {
            *flags |= INVALID;
            DEFAULT_NAN
        }
        Class::Finite { m, e } => {
            // Scale to ~126 bits with an even exponent, giving a root of ~63 bits.
            let mut sh = 126 - (63 - m.leading_zeros() as i32);
            if (e - sh) & 1 != 0 {
                sh -= 1;
            }
            let (root, rem) = isqrt((m as u128) << sh);
            round_pack(false, root, (e - sh) / 2, rem != 0, prec, rm, flags)
        }
        Class::Inf => DEFAULT_NAN,
    }
}

/// `(a * c) + b` rounded once; `negate_b` and `negate_result` give the msub and
/// nmadd forms, with the sign flipped before rounding as QEMU's muladd does.
#[allow(clippy::too_many_arguments)]
pub fn fma(
    a: u64,
    c: u64,
    b: u64,
    negate_b: bool,
    negate_result: bool,
    prec: Prec,
    rm: Mode,
    flags: &mut u8,
) -> u64 {
    let (ca, cb, cc) = (classify(a), classify(b), classify(c));
    let nan = |x: Class| matches!(x, Class::QNan | Class::SNan);
    let inf_zero = matches!(
        (ca, cc),
        (Class::Inf, Class::Zero) | (Class::Zero, Class::Inf)
    );
    if nan(ca) || nan(cb) || nan(cc) {
        if is_snan(a) || is_snan(b) || is_snan(c) || inf_zero {
            *flags |= INVALID;
        }
        let pick = if nan(ca) {
            a
        } else if nan(cb) {
            b
        } else {
            c
        };
        return quiet(pick);
    }
    if inf_zero {
        *flags |= INVALID;
        return DEFAULT_NAN;
    }
    let ps = sign(a) ^ sign(c);
    let bs = sign(b) ^ negate_b;
    let flip = |x: u64| if negate_result { x ^ SIGN } else { x };
    if matches!(ca, Class::Inf) || matches!(cc, Class::Inf) {
        if matches!(cb, Class::Inf) && bs != ps {
            *flags |= INVALID;
            return DEFAULT_NAN;
        }
        return flip(inf(ps));
    }
    if matches!(cb, Class::Inf) {
        return flip(inf(bs));
    }
    let (ma, ea, mc, ec) = match (ca, cc) {
        (Class::Finite { m: ma, e: ea }, Class::Finite { m: mc, e: ec }) => (ma, ea, mc, ec),
        _ => {
            // The product is an exact zero.
            return match cb {
                Class::Finite { m, e } => {
                    round_pack(bs ^ negate_result, m as u128, e, false, prec, rm, flags)
                }
                _ => {
                    let s = if ps == bs {
                        ps
                    } else {
                        rm.rm == Rounding::Down
                    };
                    zero(s ^ negate_result)
                }
            };
        }
    };
    let pm = ma as u128 * mc as u128;
    let pe = ea + ec;
    match cb {
        Class::Finite { m, e } => {
            let r = add_wide(
                ps ^ negate_result,
                pm,
                pe,
                bs ^ negate_result,
                m as u128,
                e,
                prec,
                rm,
                flags,
            );
            // An exact cancellation is +0 (-0 rounding down), then the negation.
            if r & !SIGN == 0 && *flags & INEXACT == 0 {
                return zero((rm.rm == Rounding::Down) ^ negate_result);
            }
            r
        }
        _ => round_pack(ps ^ negate_result, pm, pe, false, prec, rm, flags),
    }
}

/// frsp: float64 to float32 and back, as QEMU does it. The float32 step keeps
/// only 22 NaN payload bits and, when a rebias applies, wraps the exponent in
/// float32's 8-bit field before widening again.
pub fn to_single(a: u64, rm: Mode, flags: &mut u8) -> u64 {
    match classify(a) {
        Class::QNan | Class::SNan => {
            if is_snan(a) {
                *flags |= INVALID;
            }
            quiet(a) & !((1 << 29) - 1)
        }
        Class::Zero | Class::Inf => a,
        Class::Finite { m, e } => {
            round_pack(sign(a), m as u128, e, false, Prec::Float32, rm, flags)
        }
    }
}

/// float32_to_float64: exact, NaNs quieted.
fn widen_single(w: u32) -> u64 {
    let s = ((w >> 31) as u64) << 63;
    let exp = (w >> 23) & 0xff;
    let frac = (w & 0x7f_ffff) as u64;
    match exp {
        0xff if frac == 0 => s | EXP,
        0xff => s | EXP | QUIET | (frac << 29),
        0 if frac == 0 => s,
        0 => {
            let k = 63 - frac.leading_zeros() as i32; // leading bit position
            let e = -149 + k; // value = frac * 2^-149
            s | (((e + 1023) as u64) << 52) | ((frac << (52 - k)) & FRAC)
        }
        _ => s | (((exp as i32 - 127 + 1023) as u64) << 52) | (frac << 29),
    }
}

/// float64 to int32 under `rm`, softfloat style: out of range or NaN is invalid
/// and saturates (NaN gives the positive limit).
pub fn to_i32(a: u64, rm: Rounding, flags: &mut u8) -> i32 {
    let s = sign(a);
    match classify(a) {
        Class::QNan | Class::SNan => {
            *flags |= INVALID;
            i32::MAX
        }
        Class::Inf => {
            *flags |= INVALID;
            if s {
                i32::MIN
            } else {
                i32::MAX
            }
        }
        Class::Zero => 0,
        Class::Finite { m, e } => {
            // Integer part and what is below it.
            let (int, half, rest) = if e >= 0 {
                if e > 40 {
                    (u128::MAX >> 1, false, false)
                } else {
                    ((m as u128) << e, false, false)
                }
            } else if -e > 64 {
                (0, false, true)
            } else {
                let sh = (-e) as u32;
                let mm = m as u128;
                let rem = mm & ((1u128 << sh) - 1);
                let h = 1u128 << (sh - 1);
                (mm >> sh, rem & h != 0, rem & (h - 1) != 0)
            };
            let inexact = half || rest;
            let up = match rm {
                Rounding::Nearest => half && (rest || int & 1 != 0),
                Rounding::Zero => false,
                Rounding::Up => inexact && !s,
                Rounding::Down => inexact && s,
            };
            let mag = int + up as u128;
            let limit = if s { 1u128 << 31 } else { (1u128 << 31) - 1 };
            if mag > limit {
                *flags |= INVALID;
                return if s { i32::MIN } else { i32::MAX };
            }
            if inexact {
                *flags |= INEXACT;
            }
            if s {
                (mag as i64).wrapping_neg() as i32
            } else {
                mag as i32
            }
        }
    }
}
