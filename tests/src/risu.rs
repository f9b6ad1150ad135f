//! A RISU-style generator: seeded, deterministic random sequences of
//! user-mode integer, CR, branch, load/store and FP instructions over
//! random register values. The output is one assembly file whose
//! `risu_body` loads every register from a table, runs the sequence, and
//! hands the full register state to `risu_dump` (guest/cpu/risu_main.c),
//! which prints GPRs, CR, XER, LR, CTR, FPSCR, FPRs and the memory buffer.
//!
//! Registers: r1 is the stack pointer (never touched: its value differs
//! between emulators) and r31 points into the 1 KB memory buffer; every
//! other GPR is fair game.

use std::fmt::Write as _;

/// SplitMix64: small, fast and fully specified, so a seed always
/// reproduces the same sequence.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u32) -> u32 {
        ((self.next_u32() as u64 * n as u64) >> 32) as u32
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i32, hi: i32) -> i32 {
        lo + self.below((hi - lo + 1) as u32) as i32
    }

    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u32) as usize]
    }
}

/// Bytes in the memory buffer r31 points into the middle of.
pub const MEM_SIZE: i32 = 1024;
/// The GPR holding the buffer's middle address.
const BASE: u32 = 31;

/// GPRs the sequence may read and write: all but r1 (sp) and r31 (base).
fn gpr(rng: &mut Rng) -> u32 {
    let r = rng.below(29) + 2; // 2..=30
    if r == 2 && rng.chance(30) {
        0
    } else {
        r
    }
}

/// GPRs usable as a base or index register (r0 reads as zero there).
fn gpr_nonzero(rng: &mut Rng) -> u32 {
    rng.below(29) + 2
}

fn fpr(rng: &mut Rng) -> u32 {
    rng.below(32)
}

/// Interesting 32-bit integers, and sometimes plain random ones.
fn int_value(rng: &mut Rng) -> u32 {
    const EDGES: &[u32] = &[
        0,
        1,
        2,
        0x7fff_ffff,
        0x8000_0000,
        0x8000_0001,
        0xffff_ffff,
        0xffff_fffe,
        0x0000_7fff,
        0xffff_8000,
        0x0000_ffff,
        0x0001_0000,
        31,
        32,
        33,
        63,
    ];
    match rng.below(4) {
        0 => *rng.pick(EDGES),
        1 => rng.below(64),
        _ => rng.next_u32(),
    }
}

/// Interesting doubles (as bits): specials, denormals, values exact in
/// single precision, and random bit patterns.
fn fp_value(rng: &mut Rng) -> u64 {
    const EDGES: &[u64] = &[
        0x0000_0000_0000_0000, // +0
        0x8000_0000_0000_0000, // -0
        0x3ff0_0000_0000_0000, // 1
        0xbff0_0000_0000_0000, // -1
        0x7ff0_0000_0000_0000, // +inf
        0xfff0_0000_0000_0000, // -inf
        0x7ff8_0000_0000_0000, // default qNaN
        0x7ff8_0000_dead_0001, // qNaN with payload
        0xfff4_0000_0000_0001, // sNaN
        0x000f_ffff_ffff_ffff, // largest denormal
        0x0000_0000_0000_0001, // smallest denormal
        0x7fef_ffff_ffff_ffff, // DBL_MAX
        0x47ef_ffff_e000_0000, // FLT_MAX
        0x3810_0000_0000_0000, // FLT_MIN
        0x41df_ffff_ffc0_0000, // 2^31 - 1
        0xc1e0_0000_0000_0000, // -2^31
        0x3fd5_5555_5555_5555, // 1/3
    ];
    match rng.below(4) {
        0 => *rng.pick(EDGES),
        1 => {
            // A random single, widened: exercises the single-precision paths.
            let s = f32::from_bits(rng.next_u32());
            (s as f64).to_bits()
        }
        2 => {
            // A moderate-exponent double: arithmetic that stays finite.
            let sign = (rng.below(2) as u64) << 63;
            let exp = (rng.range(1023 - 40, 1023 + 40) as u64) << 52;
            sign | exp | (rng.next_u64() & 0x000f_ffff_ffff_ffff)
        }
        _ => rng.next_u64(),
    }
}

/// BO values gas accepts for `bc` (the z bits zero), hints included.
const BO: &[u32] = &[0, 1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 16, 17, 18, 19, 20];

/// One generated sequence.
#[derive(Debug, Clone)]
pub struct Sequence {
    pub seed: u64,
    pub init: InitState,
    /// The random instructions, one per line, as assembly.
    pub body: Vec<String>,
    /// Lines of `body` that belong together (see [`Sequence::subset`]).
    pub groups: Vec<std::ops::Range<usize>>,
}

impl Sequence {
    /// The body with line numbers, for failure reports.
    pub fn listing(&self) -> String {
        let mut s = String::new();
        for (i, line) in self.body.iter().enumerate() {
            let _ = writeln!(s, "  {:>4}  {line}", i + 1);
        }
        s
    }
}

/// `.` or nothing.
fn rc(rng: &mut Rng) -> &'static str {
    if rng.chance(50) {
        "."
    } else {
        ""
    }
}

/// Emit one random instruction group (a memory access or a branch can
/// need a setup instruction; a branch skips the instructions after it).
fn emit(rng: &mut Rng, out: &mut Vec<String>) {
    const XO: &[&str] = &[
        "add", "addc", "adde", "subf", "subfc", "subfe", "mullw", "divw", "divwu",
    ];
    const XO1: &[&str] = &["addme", "addze", "subfme", "subfze", "neg"];
    const X: &[&str] = &[
        "and", "or", "xor", "nand", "nor", "eqv", "andc", "orc", "slw", "srw", "sraw", "mulhw",
        "mulhwu",
    ];
    const X1: &[&str] = &["extsb", "extsh", "cntlzw"];
    const DSI: &[&str] = &["addi", "addis", "addic", "addic.", "subfic", "mulli"];
    const DUI: &[&str] = &["andi.", "andis.", "ori", "oris", "xori", "xoris"];
    const CRL: &[&str] = &[
        "crand", "cror", "crxor", "crnand", "crnor", "creqv", "crandc", "crorc",
    ];
    const FA2: &[&str] = &[
        "fadd", "fsub", "fmul", "fdiv", "fadds", "fsubs", "fmuls", "fdivs",
    ];
    const FA3: &[&str] = &[
        "fmadd", "fmsub", "fnmadd", "fnmsub", "fmadds", "fmsubs", "fnmadds", "fnmsubs", "fsel",
    ];
    const FA1: &[&str] = &[
        "fres", "frsqrte", "frsp", "fctiw", "fctiwz", "fabs", "fnabs", "fneg", "fmr",
    ];

    let (d, a, b) = (gpr(rng), gpr(rng), gpr(rng));
    let push = |out: &mut Vec<String>, s: String| out.push(s);
    match rng.below(100) {
        0..=13 => {
            let o = if rng.chance(50) { "o" } else { "" };
            let rcs = rc(rng);
            push(out, format!("{}{o}{rcs} {d}, {a}, {b}", rng.pick(XO)));
        }
        14..=17 => {
            let o = if rng.chance(50) { "o" } else { "" };
            let rcs = rc(rng);
            push(out, format!("{}{o}{rcs} {d}, {a}", rng.pick(XO1)));
        }
        18..=25 => {
            let rcs = rc(rng);
            push(out, format!("{}{rcs} {d}, {a}, {b}", rng.pick(X)));
        }
        26..=28 => {
            let rcs = rc(rng);
            push(out, format!("{}{rcs} {d}, {a}", rng.pick(X1)));
        }
        29..=33 => {
            let imm = rng.range(-32768, 32767);
            push(out, format!("{} {d}, {a}, {imm}", rng.pick(DSI)));
        }
        34..=36 => {
            let imm = rng.below(65536);
            push(out, format!("{} {d}, {a}, {imm:#x}", rng.pick(DUI)));
        }
        37..=42 => {
            let rcs = rc(rng);
            let (sh, mb, me) = (rng.below(32), rng.below(32), rng.below(32));
            let s = match rng.below(4) {
                0 => format!("rlwnm{rcs} {d}, {a}, {b}, {mb}, {me}"),
                1 => format!("rlwimi{rcs} {d}, {a}, {sh}, {mb}, {me}"),
                2 => format!("srawi{rcs} {d}, {a}, {sh}"),
                _ => format!("rlwinm{rcs} {d}, {a}, {sh}, {mb}, {me}"),
            };
            push(out, s);
        }
        43..=47 => {
            let crf = rng.below(8);
            let s = match rng.below(4) {
                0 => format!("cmpw {crf}, {a}, {b}"),
                1 => format!("cmplw {crf}, {a}, {b}"),
                2 => format!("cmpwi {crf}, {a}, {}", rng.range(-32768, 32767)),
                _ => format!("cmplwi {crf}, {a}, {}", rng.below(65536)),
            };
            push(out, s);
        }
        48..=52 => {
            let s = match rng.below(6) {
                0 | 1 => format!(
                    "{} {}, {}, {}",
                    rng.pick(CRL),
                    rng.below(32),
                    rng.below(32),
                    rng.below(32)
                ),
                2 => format!("mcrf {}, {}", rng.below(8), rng.below(8)),
                3 => format!("mcrxr {}", rng.below(8)),
                4 => format!("mtcrf {:#x}, {a}", rng.below(256)),
                _ => format!("mfcr {d}"),
            };
            push(out, s);
        }
        53..=56 => {
            let s = match rng.below(6) {
                0 => format!("mtctr {a}"),
                1 => format!("mfctr {d}"),
                2 => format!("mtlr {a}"),
                3 => format!("mflr {d}"),
                4 => format!("mfxer {d}"),
                _ => {
                    // mtxer with only SO/OV/CA and the byte count: the
                    // reserved bits are implementation-specific.
                    let v = (rng.below(8) << 29) | rng.below(128);
                    push(out, format!("lis {d}, {:#x}", v >> 16));
                    push(out, format!("ori {d}, {d}, {:#x}", v & 0xffff));
                    format!("mtxer {d}")
                }
            };
            push(out, s);
        }
        57..=60 => {
            // A forward conditional branch over 0..2 instructions.
            let skip = rng.below(3);
            let lk = if rng.chance(20) { "l" } else { "" };
            push(
                out,
                format!(
                    "bc{lk} {}, {}, .+{}",
                    rng.pick(BO),
                    rng.below(32),
                    4 * (skip + 1)
                ),
            );
            for _ in 0..skip {
                let (x, y, z) = (gpr(rng), gpr(rng), gpr(rng));
                push(out, format!("add {x}, {y}, {z}"));
            }
        }
        61..=70 => emit_mem(rng, out),
        71..=78 => {
            let rcs = rc(rng);
            let (fd, fa, fb) = (fpr(rng), fpr(rng), fpr(rng));
            push(out, format!("{}{rcs} {fd}, {fa}, {fb}", rng.pick(FA2)));
        }
        79..=84 => {
            let rcs = rc(rng);
            let (fd, fa, fb, fc) = (fpr(rng), fpr(rng), fpr(rng), fpr(rng));
            push(
                out,
                format!("{}{rcs} {fd}, {fa}, {fc}, {fb}", rng.pick(FA3)),
            );
        }
        85..=90 => {
            let rcs = rc(rng);
            push(
                out,
                format!("{}{rcs} {}, {}", rng.pick(FA1), fpr(rng), fpr(rng)),
            );
        }
        91..=93 => {
            let crf = rng.below(8);
            let op = if rng.chance(50) { "fcmpu" } else { "fcmpo" };
            push(out, format!("{op} {crf}, {}, {}", fpr(rng), fpr(rng)));
        }
        _ => {
            // FPSCR moves. No enable bit (fields 6 and 7 except RN) is ever
            // set: qemu-ppc runs with MSR[FE0|FE1] and would trap.
            let rcs = rc(rng);
            let s = match rng.below(6) {
                0 => format!("mffs{rcs} {}", fpr(rng)),
                1 => format!("mtfsfi{rcs} 7, {}", rng.below(4)),
                2 => format!("mtfsfi{rcs} {}, {}", rng.below(6), rng.below(16)),
                3 => format!("mtfsb0{rcs} {}", rng.below(32)),
                4 => format!("mtfsb1{rcs} {}", rng.below(24)),
                _ => format!("mcrfs {}, {}", rng.below(8), rng.below(8)),
            };
            push(out, s);
        }
    }
}

/// A load or store inside the buffer: D form off r31, indexed with the
/// offset put in a register first, or update forms through a copy of r31.
fn emit_mem(rng: &mut Rng, out: &mut Vec<String>) {
    // (mnemonic, size, is_fp, is_store)
    const OPS: &[(&str, i32, bool, bool)] = &[
        ("lbz", 1, false, false),
        ("lhz", 2, false, false),
        ("lha", 2, false, false),
        ("lwz", 4, false, false),
        ("stb", 1, false, true),
        ("sth", 2, false, true),
        ("stw", 4, false, true),
        ("lfs", 4, true, false),
        ("lfd", 8, true, false),
        ("stfs", 4, true, true),
        ("stfd", 8, true, true),
    ];
    const X_ONLY: &[(&str, i32, bool)] = &[
        ("lhbrx", 2, false),
        ("lwbrx", 4, false),
        ("sthbrx", 2, false),
        ("stwbrx", 4, false),
        ("stfiwx", 4, true),
    ];
    let half = MEM_SIZE / 2;
    let data = |rng: &mut Rng, fp: bool| if fp { fpr(rng) } else { gpr(rng) };
    match rng.below(5) {
        0 | 1 => {
            let &(op, size, fp, _) = rng.pick(OPS);
            let off = rng.range(-half, half - size);
            out.push(format!("{op} {}, {off}({BASE})", data(rng, fp)));
        }
        2 => {
            let &(op, size, fp, _) = rng.pick(OPS);
            let idx = gpr_nonzero(rng);
            let off = rng.range(-half, half - size);
            out.push(format!("li {idx}, {off}"));
            out.push(format!("{op}x {}, {BASE}, {idx}", data(rng, fp)));
        }
        3 => {
            let &(op, size, fp, store) = rng.pick(OPS);
            let t = gpr_nonzero(rng);
            let mut v = data(rng, fp);
            // A load with update into its own base register is invalid.
            while !fp && !store && v == t {
                v = gpr(rng);
            }
            let first = rng.range(-half / 2, half / 2 - 1);
            let second = rng.range(-half / 2, half / 2 - size);
            out.push(format!("addi {t}, {BASE}, {first}"));
            if rng.chance(50) {
                out.push(format!("{op}u {v}, {second}({t})"));
            } else {
                let idx = loop {
                    let i = gpr_nonzero(rng);
                    if i != t && i != v {
                        break i;
                    }
                };
                out.push(format!("li {idx}, {second}"));
                out.push(format!("{op}ux {v}, {t}, {idx}"));
            }
        }
        _ => {
            if rng.chance(20) {
                // dcbz zeroes the 32-byte line holding the address.
                let idx = gpr_nonzero(rng);
                out.push(format!("li {idx}, {}", rng.range(-half, half - 1)));
                out.push(format!("dcbz {BASE}, {idx}"));
                return;
            }
            let &(op, size, fp) = rng.pick(X_ONLY);
            let idx = gpr_nonzero(rng);
            out.push(format!("li {idx}, {}", rng.range(-half, half - size)));
            out.push(format!("{op} {}, {BASE}, {idx}", data(rng, fp)));
        }
    }
}

/// The register and memory state a sequence starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitState {
    pub gpr: [u32; 32],
    pub cr: u32,
    pub xer: u32,
    pub lr: u32,
    pub ctr: u32,
    pub fpscr: u32,
    pub fpr: [u64; 32],
    pub mem: Vec<u32>,
}

impl InitState {
    fn random(rng: &mut Rng) -> InitState {
        let mut gpr = [0; 32];
        for (i, g) in gpr.iter_mut().enumerate() {
            if i != 1 && i != BASE as usize {
                *g = int_value(rng);
            }
        }
        let cr = rng.next_u32();
        let xer = (rng.below(8) << 29) | rng.below(128);
        let lr = int_value(rng);
        let ctr = if rng.chance(50) {
            rng.below(4)
        } else {
            int_value(rng)
        };
        // RN, plus sometimes sticky exception bits (never an enable bit).
        let sticky = if rng.chance(30) {
            rng.next_u32() & 0x9ff8_0700
        } else {
            0
        };
        let fpscr = rng.below(4) | sticky;
        let mut fpr = [0; 32];
        for f in &mut fpr {
            *f = fp_value(rng);
        }
        let mem = (0..MEM_SIZE / 4).map(|_| rng.next_u32()).collect();
        InitState {
            gpr,
            cr,
            xer,
            lr,
            ctr,
            fpscr,
            fpr,
            mem,
        }
    }
}

/// Generate the sequence for `seed`, at least `len` instructions long.
pub fn generate(seed: u64, len: usize) -> Sequence {
    generate_excluding(seed, len, &[])
}

/// The base mnemonic: without the record (`.`) and overflow (`o`) suffixes.
fn base_mnemonic(line: &str) -> &str {
    let op = line.split_whitespace().next().unwrap_or("");
    let op = op.strip_suffix('.').unwrap_or(op);
    // Only XO-form overflow suffixes: "divwo" -> "divw", but not "xor".
    match op.strip_suffix('o') {
        Some(b)
            if b.starts_with("add")
                || b.starts_with("sub")
                || b.starts_with("mul")
                || b.starts_with("div")
                || b == "neg" =>
        {
            b
        }
        _ => op,
    }
}

/// Like [`generate`], but dropping every instruction group that uses one
/// of the `exclude` mnemonics (base names: `divw` also drops `divwo.`), to
/// look past a known difference.
pub fn generate_excluding(seed: u64, len: usize, exclude: &[&str]) -> Sequence {
    let mut rng = Rng::new(seed);
    let init = InitState::random(&mut rng);
    let mut body = Vec::new();
    let mut groups = Vec::new();
    while body.len() < len {
        let start = body.len();
        emit(&mut rng, &mut body);
        if body[start..]
            .iter()
            .any(|l| exclude.contains(&base_mnemonic(l)))
        {
            body.truncate(start);
            continue;
        }
        groups.push(start..body.len());
    }
    Sequence {
        seed,
        init,
        body,
        groups,
    }
}

impl Sequence {
    /// The sequence with only the instruction groups whose `keep` is true
    /// (a group is an instruction with its setup, or a branch with what it
    /// skips), for shrinking a failing sequence.
    pub fn subset(&self, keep: &[bool]) -> Sequence {
        let mut body = Vec::new();
        let mut groups = Vec::new();
        for (g, _) in self.groups.iter().zip(keep).filter(|(_, &k)| k) {
            let start = body.len();
            body.extend_from_slice(&self.body[g.clone()]);
            groups.push(start..body.len());
        }
        Sequence {
            seed: self.seed,
            init: self.init.clone(),
            body,
            groups,
        }
    }

    /// The complete assembly file: prologue, body, epilogue, initial state.
    pub fn source(&self) -> String {
        let mut s = String::new();
        let w = &mut s;
        let _ = writeln!(
            w,
            "# RISU sequence, seed {:#x}, generated by beige-tests",
            self.seed
        );
        let _ = writeln!(w, "\t.section .text\n\t.globl risu_body\nrisu_body:");
        let _ = writeln!(w, "\tlis 31, risu_init@ha\n\taddi 31, 31, risu_init@l");
        // State layout (matches risu_main.c): gpr[32], cr, xer, lr, ctr,
        // fpscr (as a double at word 36), fpr[32] from word 38.
        let _ = writeln!(w, "\tlfd 0, 144(31)\n\tmtfsf 0xff, 0");
        for i in 0..32 {
            let _ = writeln!(w, "\tlfd {i}, {}(31)", 152 + 8 * i);
        }
        let _ = writeln!(w, "\tlwz 0, 128(31)\n\tmtcrf 0xff, 0");
        let _ = writeln!(w, "\tlwz 0, 132(31)\n\tmtxer 0");
        let _ = writeln!(w, "\tlwz 0, 136(31)\n\tmtlr 0");
        let _ = writeln!(w, "\tlwz 0, 140(31)\n\tmtctr 0");
        for i in (0..31).filter(|&i| i != 1) {
            let _ = writeln!(w, "\tlwz {i}, {}(31)", 4 * i);
        }
        let _ = writeln!(w, "\tlis 31, (risu_mem+{})@ha", MEM_SIZE / 2);
        let _ = writeln!(w, "\taddi 31, 31, (risu_mem+{})@l", MEM_SIZE / 2);
        let _ = writeln!(w, "# sequence");
        for line in &self.body {
            let _ = writeln!(w, "\t{line}");
        }
        // Landing pads: a shrunk sequence may end in a branch that skips.
        let _ = writeln!(w, "\tnop\n\tnop\n\tnop");
        let _ = writeln!(w, "# epilogue: store the state and print it");
        let _ = writeln!(w, "\tstwu 1, -432(1)");
        for i in (0..32).filter(|&i| i != 1) {
            let _ = writeln!(w, "\tstw {i}, {}(1)", 16 + 4 * i);
        }
        for (spr, off) in [("mfcr", 144), ("mfxer", 148), ("mflr", 152), ("mfctr", 156)] {
            let _ = writeln!(w, "\t{spr} 0\n\tstw 0, {off}(1)");
        }
        for i in 0..32 {
            let _ = writeln!(w, "\tstfd {i}, {}(1)", 168 + 8 * i);
        }
        let _ = writeln!(w, "\tmffs 0\n\tstfd 0, 160(1)");
        let _ = writeln!(w, "\taddi 3, 1, 16\n\tbl risu_dump\n1:\tb 1b");

        let i = &self.init;
        let _ = writeln!(w, "\t.section .data\n\t.balign 8\nrisu_init:");
        for v in i.gpr {
            let _ = writeln!(w, "\t.long {v:#010x}");
        }
        let _ = writeln!(
            w,
            "\t.long {:#010x}, {:#010x}, {:#010x}, {:#010x}",
            i.cr, i.xer, i.lr, i.ctr
        );
        let _ = writeln!(w, "\t.long 0, {:#010x}", i.fpscr);
        for v in i.fpr {
            let _ = writeln!(w, "\t.long {:#010x}, {:#010x}", v >> 32, v as u32);
        }
        let _ = writeln!(w, "\t.balign 32\n\t.globl risu_mem\nrisu_mem:");
        for chunk in i.mem.chunks(4) {
            let words: Vec<String> = chunk.iter().map(|v| format!("{v:#010x}")).collect();
            let _ = writeln!(w, "\t.long {}", words.join(", "));
        }
        let _ = writeln!(w, "\t.section .note.GNU-stack,\"\",@progbits");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_sequence() {
        assert_eq!(generate(42, 200).source(), generate(42, 200).source());
    }

    #[test]
    fn different_seeds_give_different_sequences() {
        assert_ne!(generate(1, 100).body, generate(2, 100).body);
    }

    #[test]
    fn sequence_never_names_the_stack_or_base_register_as_destination() {
        for seed in 0..50 {
            for line in generate(seed, 300).body {
                let mut parts = line.split_whitespace();
                let op = parts.next().unwrap();
                let first = parts.next().unwrap_or("").trim_end_matches(',');
                let writes_gpr = !op.starts_with('f')
                    && !op.starts_with("st")
                    && !op.starts_with("cmp")
                    && !op.starts_with("mt")
                    && !op.starts_with("bc")
                    && !op.starts_with("cr")
                    && !op.starts_with("mc")
                    && !op.starts_with("mffs")
                    && !op.starts_with("dcbz");
                if writes_gpr && !op.starts_with("lf") {
                    assert!(first != "1" && first != "31", "seed {seed}: {line}");
                }
                let mem = op.starts_with('l') || op.starts_with("st");
                if mem && (op.ends_with('u') || op.ends_with("ux")) {
                    assert!(!line.contains("(31)") && !line.contains(", 31,"), "{line}");
                }
            }
        }
    }

    #[test]
    fn subset_keeps_whole_groups_and_the_initial_state() {
        let seq = generate(5, 100);
        let keep: Vec<bool> = (0..seq.groups.len()).map(|i| i % 2 == 0).collect();

        let sub = seq.subset(&keep);

        assert_eq!(sub.init, seq.init);
        assert_eq!(sub.groups.len(), keep.iter().filter(|&&k| k).count());
        assert_eq!(
            sub.body[sub.groups[1].clone()],
            seq.body[seq.groups[2].clone()]
        );
    }

    #[test]
    fn excluded_mnemonics_never_appear_in_any_form() {
        let seq = generate_excluding(3, 400, &["divw", "fadd", "mtfsb1"]);

        for line in &seq.body {
            let base = base_mnemonic(line);
            assert!(!["divw", "fadd", "mtfsb1"].contains(&base), "{line}");
        }
        assert!(seq.body.len() >= 400);
    }

    #[test]
    fn base_mnemonic_strips_record_and_overflow_suffixes_only() {
        assert_eq!(base_mnemonic("divwo. 1, 2, 3"), "divw");
        assert_eq!(base_mnemonic("nego 1, 2"), "neg");
        assert_eq!(base_mnemonic("xor. 1, 2, 3"), "xor");
        assert_eq!(base_mnemonic("fadd 1, 2, 3"), "fadd");
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::new(7);

        assert!((0..10_000).all(|_| rng.below(3) < 3));
    }

    #[test]
    fn generated_length_is_at_least_requested() {
        assert!(generate(9, 150).body.len() >= 150);
    }
}
