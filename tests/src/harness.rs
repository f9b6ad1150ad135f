//! The differential check: run one guest binary under qemu-ppc and under
//! beige, and compare exit codes and stdout.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::diff::first_difference;
use crate::risu::Sequence;
use crate::toolchain::{run_tool, ToolError, Toolchain, GUEST_DIR};
use crate::{qemu, user};

/// Guest instructions beige may run before a test counts as hung.
pub const INSN_LIMIT: u64 = 1_000_000_000;
/// Wall-clock limit for qemu-ppc.
pub const QEMU_TIMEOUT: Duration = Duration::from_secs(120);

/// How one binary fared under the two emulators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Same exit code, same stdout.
    Same,
    /// Both ran to exit, with different stdout or exit code.
    Differ(String),
    /// One of them could not run it (a fault, a hang, a missing tool).
    Broken(String),
}

/// Run `elf` under both emulators and compare.
pub fn verdict(tc: &Toolchain, elf: &Path) -> Verdict {
    let reference = match qemu::run(&tc.qemu, elf, QEMU_TIMEOUT) {
        Ok(r) => r,
        Err(e) => return Verdict::Broken(e.to_string()),
    };
    let file = match fs::read(elf) {
        Ok(f) => f,
        Err(e) => return Verdict::Broken(format!("{}: {e}", elf.display())),
    };
    let beige = match user::run(&file, INSN_LIMIT) {
        Ok(b) => b,
        Err(e) => return Verdict::Broken(format!("beige could not run {}: {e}", elf.display())),
    };
    if reference.stdout.is_empty() {
        return Verdict::Broken(format!("{}: printed nothing under qemu-ppc", elf.display()));
    }
    let expected = String::from_utf8_lossy(&reference.stdout);
    let actual = String::from_utf8_lossy(&beige.stdout);
    if let Some(report) = first_difference(&expected, &actual) {
        return Verdict::Differ(format!("{}:\n{report}", elf.display()));
    }
    if reference.exit_code != Some(beige.exit_code) {
        return Verdict::Differ(format!(
            "{}: exit code {:?} under qemu-ppc, {} under beige",
            elf.display(),
            reference.exit_code,
            beige.exit_code
        ));
    }
    Verdict::Same
}

/// `Ok(())` when both emulators exit the same way with the same stdout;
/// otherwise a report for the test failure message.
pub fn compare(tc: &Toolchain, elf: &Path) -> Result<(), String> {
    match verdict(tc, elf) {
        Verdict::Same => Ok(()),
        Verdict::Differ(r) | Verdict::Broken(r) => Err(r),
    }
}

/// Build a RISU sequence: assemble its source with `as`, link it with
/// `risu_main.c` and the runtime. Returns the executable and the object.
pub fn build_risu(tc: &Toolchain, seq: &Sequence) -> Result<(PathBuf, PathBuf), ToolError> {
    let dir = tc.cache_dir.join("risu");
    fs::create_dir_all(&dir).map_err(|source| ToolError::Io {
        path: dir.clone(),
        source,
    })?;
    let source = seq.source();
    let hash = crate::toolchain::Fnv::default()
        .bytes(source.as_bytes())
        .finish();
    let stem = format!("seed-{:x}-{hash:016x}", seq.seed);
    let src = dir.join(format!("{stem}.s"));
    let obj = dir.join(format!("{stem}.o"));
    fs::write(&src, &source).map_err(|source| ToolError::Io {
        path: src.clone(),
        source,
    })?;
    run_tool(
        &stem,
        Command::new(&tc.as_)
            .args(["-a32", "-mbig", "-m750cl", "-o"])
            .arg(&obj)
            .arg(&src),
    )?;
    let main = Path::new(GUEST_DIR).join("cpu/risu_main.c");
    let exe = tc.build(&format!("risu-{stem}"), &[main, obj.clone()], &[])?;
    Ok((exe, obj))
}

/// Run one RISU seed through both emulators. The error report carries the
/// seed, the sequence and its disassembly.
pub fn check_risu(tc: &Toolchain, seq: &Sequence) -> Result<(), String> {
    let seed = seq.seed;
    let (exe, obj) = build_risu(tc, seq).map_err(|e| format!("seed {seed:#x}: {e}"))?;
    compare(tc, &exe).map_err(|report| {
        format!(
            "RISU seed {seed:#x} (rerun: BEIGE_RISU_SEED={seed:#x} cargo test -p beige-tests \
             --test risu)\n{report}\nsequence:\n{}\ndisassembly of {}:\n{}",
            seq.listing(),
            obj.display(),
            tc.disassemble(&obj)
        )
    })
}

/// Shrink a sequence whose outputs differ to a small one that still
/// differs (greedy delta debugging over instruction groups), trying at
/// most `budget` builds. Returns the shrunk sequence and its report.
pub fn shrink_risu(tc: &Toolchain, seq: &Sequence, budget: usize) -> Option<(Sequence, String)> {
    let mut tries = 0;
    let differs = |s: &Sequence| -> Option<String> {
        let (exe, obj) = build_risu(tc, s).ok()?;
        let v = verdict(tc, &exe);
        for f in [&exe, &obj, &obj.with_extension("s")] {
            let _ = fs::remove_file(f);
        }
        match v {
            Verdict::Differ(r) => Some(r),
            _ => None,
        }
    };
    let mut best = seq.clone();
    let mut report = differs(&best)?;
    let mut chunk = best.groups.len().div_ceil(2);
    while chunk >= 1 && tries < budget {
        let mut start = 0;
        let mut removed_any = false;
        while start < best.groups.len() && tries < budget {
            let keep: Vec<bool> = (0..best.groups.len())
                .map(|i| i < start || i >= start + chunk)
                .collect();
            let candidate = best.subset(&keep);
            tries += 1;
            match differs(&candidate) {
                Some(r) => {
                    best = candidate;
                    report = r;
                    removed_any = true;
                }
                None => start += chunk,
            }
        }
        if !removed_any {
            chunk /= 2;
        }
    }
    Some((best, report))
}
