//! Replays MMU scenarios recorded on `qemu-system-ppc -M g3beige` (see
//! `qemu_golden/gen.py`, which builds a bare-metal ROM that runs each case and
//! dumps the exception QEMU took) through [`translate`], and checks the same
//! outcome: success at the same physical address, or the same DSI/ISI bits, and
//! the same PTE word 1 (R and C) afterwards.
//!
//! Where the 750 manual and QEMU disagree, beige follows the manual; those cases
//! are listed in [`DEVIATIONS`] with the outcome beige gives instead.

use super::test_mem::FakeMem;
use super::{translate, Access, Bat, Fault, MmuRegs, Translation};

const CASES: &str = include_str!("qemu_golden/cases.txt");

/// SRR1 bits 1..4, the ISI cause.
const SRR1_CAUSE: u32 = 0x7800_0000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// Translated; the physical address when the recording proves it.
    Ok(Option<u32>),
    Dsi(u32),
    Isi(u32),
}

/// Cases where beige keeps the 750's behaviour and QEMU does not: the outcome
/// beige gives and the PTE word 1 it leaves (None: as QEMU's).
const DEVIATIONS: &[(&str, Outcome, Option<u32>)] = &[
    // Key 1 with PP = 0 forbids reads, so fetches too (750 manual 5.4.1.1, ISI
    // SRR1[4]); QEMU always lets fetches through PP and sets R.
    (
        "pp0_key1_super_fetch",
        Outcome::Isi(0x0800_0000),
        Some(0x0084_e000),
    ),
    (
        "pp0_key1_user_fetch",
        Outcome::Isi(0x0800_0000),
        Some(0x0086_6000),
    ),
    // Fetch from guarded memory is an ISI with SRR1[3] (750 manual table 5-3);
    // QEMU does not check G.
    ("ibat_guarded_fetch", Outcome::Isi(0x1000_0000), None),
    (
        "guarded_page_fetch",
        Outcome::Isi(0x1000_0000),
        Some(0x0081_600a),
    ),
    // The 750 has no direct-store segments: DSI with DSISR[5] (table 5-3).
    // QEMU runs integer accesses there as a real-mode access.
    ("direct_store_load_ks0", Outcome::Dsi(0x0400_0000), None),
    ("direct_store_store_ks0", Outcome::Dsi(0x0600_0000), None),
    ("direct_store_store_ks1", Outcome::Dsi(0x0600_0000), None),
];

#[derive(Debug)]
struct Case {
    name: String,
    index: u32,
    access: Access,
    pr: bool,
    ea: u32,
    sdr1: u32,
    sr: u32,
    dbat0: Bat,
    ibat1: Bat,
    ptes: Vec<(u32, u32, u32)>,
    marker_pa: u32,
    // QEMU's record.
    vector: u32,
    srr0: u32,
    srr1: u32,
    dar: u32,
    dsisr: u32,
    pte1_after: u32,
    marker_after: u32,
    loaded: u32,
}

fn parse(index: u32, line: &str) -> Case {
    let (inputs, results) = line
        .split_once('|')
        .expect("a | between inputs and results");
    let mut fields = inputs.split_whitespace();
    let name = fields.next().expect("name").to_string();
    let access = match fields.next().expect("kind") {
        "load" => Access::Load,
        "store" => Access::Store,
        "fetch" => Access::Fetch,
        other => panic!("unknown access kind {other}"),
    };
    let pr = fields.next() == Some("1");
    let hex = |s: &str| u32::from_str_radix(s, 16).expect("hex word");
    let w: Vec<u32> = fields.map(hex).collect();
    let r: Vec<u32> = results.split_whitespace().map(hex).collect();
    assert_eq!((w.len(), r.len()), (14, 8), "case {name}: field count");
    let ptes = [(w[7], w[8], w[9]), (w[10], w[11], w[12])]
        .into_iter()
        .filter(|p| p.0 != 0)
        .collect();
    Case {
        name,
        index,
        access,
        pr,
        ea: w[0],
        sdr1: w[1],
        sr: w[2],
        dbat0: Bat {
            upper: w[3],
            lower: w[4],
        },
        ibat1: Bat {
            upper: w[5],
            lower: w[6],
        },
        ptes,
        marker_pa: w[13],
        vector: r[0],
        srr0: r[1],
        srr1: r[2],
        dar: r[3],
        dsisr: r[4],
        pte1_after: r[5],
        marker_after: r[6],
        loaded: r[7],
    }
}

fn cases() -> Vec<Case> {
    CASES
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .zip(0..)
        .map(|(line, i)| parse(i, line))
        .collect()
}

/// What QEMU did, from the vector and the evidence the guest recorded.
fn qemu_outcome(c: &Case) -> Outcome {
    match c.vector {
        0xC00 => {
            // The guest tagged the expected physical word before the access.
            let proven = match c.access {
                Access::Load => c.loaded == (0xA500_0000 | c.index),
                Access::Store => c.marker_after == (0x5A00_0000 | c.index),
                Access::Fetch => c.srr0 == c.ea.wrapping_add(4) && c.marker_after == 0x4400_0002,
            };
            Outcome::Ok((c.marker_pa != 0 && proven).then_some(c.marker_pa))
        }
        0x300 => {
            assert_eq!(c.dar, c.ea, "{}: DAR", c.name);
            Outcome::Dsi(c.dsisr)
        }
        0x400 => {
            assert_eq!(c.srr0, c.ea, "{}: SRR0", c.name);
            Outcome::Isi(c.srr1 & SRR1_CAUSE)
        }
        v => panic!("{}: unexpected vector {v:#x}", c.name),
    }
}

fn beige_outcome(result: Result<Translation, Fault>) -> Outcome {
    match result {
        Ok(t) => Outcome::Ok(Some(t.pa)),
        Err(Fault::Dsi { dsisr }) => Outcome::Dsi(dsisr),
        Err(Fault::Isi { srr1 }) => Outcome::Isi(srr1),
    }
}

fn run(c: &Case) -> (Outcome, Option<u32>) {
    let mut regs = MmuRegs {
        sdr1: c.sdr1,
        ..MmuRegs::default()
    };
    regs.sr[(c.ea >> 28) as usize] = c.sr;
    regs.dbat[0] = c.dbat0;
    regs.ibat[0] = Bat {
        upper: 0xFFF0_001F,
        lower: 0xFFF0_0002,
    };
    regs.ibat[1] = c.ibat1;
    let mut mem = FakeMem::default();
    for &(addr, pte0, pte1) in &c.ptes {
        mem.words.insert(addr, pte0);
        mem.words.insert(addr + 4, pte1);
    }
    let outcome = beige_outcome(translate(&regs, c.ea, c.access, c.pr, &mut mem));
    let pte1 = c.ptes.first().map(|p| mem.words[&(p.0 + 4)]);
    (outcome, pte1)
}

#[test]
fn recording_covers_every_path() {
    let all = cases();
    let outcomes: Vec<Outcome> = all.iter().map(qemu_outcome).collect();

    assert!(all.len() >= 90, "{} cases", all.len());
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Dsi(0x4200_0000))));
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Isi(0x4000_0000))));
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Isi(0x1000_0000))));
    assert!(outcomes
        .iter()
        .any(|o| matches!(o, Outcome::Dsi(0x0A00_0000))));
    for name in DEVIATIONS.iter().map(|d| d.0) {
        assert!(
            all.iter().any(|c| c.name == name),
            "deviation {name} has no case"
        );
    }
}

#[test]
fn every_translated_case_proves_its_physical_address() {
    for c in cases() {
        if let Outcome::Ok(pa) = qemu_outcome(&c) {
            let exempt = DEVIATIONS.iter().any(|d| d.0 == c.name);
            assert!(pa.is_some() || exempt, "{}: QEMU's PA not proven", c.name);
        }
    }
}

#[test]
fn translate_agrees_with_qemu_except_documented_deviations() {
    let mut failures = Vec::new();
    for c in cases() {
        let deviation = DEVIATIONS.iter().find(|d| d.0 == c.name);
        let want = deviation.map_or_else(|| qemu_outcome(&c), |d| d.1);
        let want_pte1 = deviation
            .and_then(|d| d.2)
            .or((!c.ptes.is_empty()).then_some(c.pte1_after));

        let (got, got_pte1) = run(&c);

        let outcome_ok = match (want, got) {
            (Outcome::Ok(None), Outcome::Ok(_)) => true,
            (w, g) => w == g,
        };
        if !outcome_ok || got_pte1 != want_pte1 {
            failures.push(format!(
                "{}: want {want:x?} pte1 {want_pte1:x?}, got {got:x?} pte1 {got_pte1:x?}",
                c.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
