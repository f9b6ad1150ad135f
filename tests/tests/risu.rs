//! RISU-style random sequences: for each seed, the final register and
//! memory state under beige must equal the state under qemu-ppc.
//!
//! `BEIGE_RISU_SEEDS=n` runs n seeds (default 48), starting at
//! `BEIGE_RISU_SEED_BASE` (default 0); `BEIGE_RISU_SEED=s` runs just s;
//! `BEIGE_RISU_LEN` sets the sequence length (default 200);
//! `BEIGE_RISU_EXCLUDE=divw,fres` leaves those mnemonics out (to look
//! past a known difference); `BEIGE_RISU_SHRINK` bounds the builds spent shrinking the first
//! failure (default 120, 0 to skip).

use std::env;
use std::sync::Mutex;
use std::thread;

use beige_tests::harness::{check_risu, shrink_risu};
use beige_tests::risu::generate_excluding;
use beige_tests::toolchain::Toolchain;

fn env_u64(name: &str) -> Option<u64> {
    let v = env::var(name).ok()?;
    let v = v.trim();
    match v.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

#[test]
fn random_sequences_match_qemu() {
    let Some(tc) = Toolchain::for_tests() else {
        return;
    };
    let len = env_u64("BEIGE_RISU_LEN").unwrap_or(200) as usize;
    let seeds: Vec<u64> = match env_u64("BEIGE_RISU_SEED") {
        Some(s) => vec![s],
        None => {
            let base = env_u64("BEIGE_RISU_SEED_BASE").unwrap_or(0);
            (base..base + env_u64("BEIGE_RISU_SEEDS").unwrap_or(48)).collect()
        }
    };
    // Known differences can be set aside to look for others.
    let exclude_var = env::var("BEIGE_RISU_EXCLUDE").unwrap_or_default();
    let exclude: Vec<&str> = exclude_var.split(',').filter(|s| !s.is_empty()).collect();
    let generate = |seed| generate_excluding(seed, len, &exclude);
    let total = seeds.len();
    let failures = Mutex::new(Vec::new());
    let next = Mutex::new(seeds.iter());
    // Two workers: the machine has two cores, and each seed is mostly
    // waiting on gcc and qemu-ppc.
    thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let Some(&seed) = next.lock().unwrap().next() else {
                    break;
                };
                if let Err(report) = check_risu(&tc, &generate(seed)) {
                    failures.lock().unwrap().push((seed, report));
                }
            });
        }
    });
    let mut failures = failures.into_inner().unwrap();
    failures.sort_by_key(|f| f.0);
    if let Some(&(seed, ref first)) = failures.first() {
        // Shrink the first failure so the report points at the culprit.
        let budget = env_u64("BEIGE_RISU_SHRINK").unwrap_or(120) as usize;
        let shrunk = match shrink_risu(&tc, &generate(seed), budget) {
            Some((seq, report)) => format!(
                "seed {seed:#x} shrunk to {} instructions (initial state as the seed):\n{}{report}",
                seq.body.len(),
                seq.listing()
            ),
            None => String::from("(could not shrink the first failure)"),
        };
        let bad: Vec<String> = failures.iter().map(|f| format!("{:#x}", f.0)).collect();
        panic!(
            "{} of {total} RISU seeds differ: {}\n\n{shrunk}\n\nfirst failure in full:\n{first}",
            failures.len(),
            bad.join(" ")
        );
    }
}
