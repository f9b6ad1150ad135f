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

/// `Ok(())` when both emulators exit the same way with the same stdout;
/// otherwise a report for the test failure message.
pub fn compare(tc: &Toolchain, elf: &Path) -> Result<(), String> {
    let reference = qemu::run(&tc.qemu, elf, QEMU_TIMEOUT).map_err(|e| e.to_string())?;
    let file = fs::read(elf).map_err(|e| format!("{}: {e}", elf.display()))?;
    let beige = user::run(&file, INSN_LIMIT)
        .map_err(|e| format!("beige could not run {}: {e}", elf.display()))?;
    let expected = String::from_utf8_lossy(&reference.stdout);
    let actual = String::from_utf8_lossy(&beige.stdout);
    if let Some(report) = first_difference(&expected, &actual) {
        return Err(format!("{}:\n{report}", elf.display()));
    }
    if reference.exit_code != Some(beige.exit_code) {
        return Err(format!(
            "{}: exit code {:?} under qemu-ppc, {} under beige",
            elf.display(),
            reference.exit_code,
            beige.exit_code
        ));
    }
    if reference.stdout.is_empty() {
        return Err(format!("{}: printed nothing under qemu-ppc", elf.display()));
    }
    Ok(())
}

/// Build a RISU sequence: assemble its source with `as`, link it with
/// `risu_main.c` and the runtime. Returns the executable and the object.
pub fn build_risu(tc: &Toolchain, seq: &Sequence) -> Result<(PathBuf, PathBuf), ToolError> {
    let dir = tc.cache_dir.join("risu");
    fs::create_dir_all(&dir).map_err(|source| ToolError::Io {
        path: dir.clone(),
        source,
    })?;
    let stem = format!("seed-{:016x}", seq.seed);
    let src = dir.join(format!("{stem}.s"));
    let obj = dir.join(format!("{stem}.o"));
    fs::write(&src, &seq.source).map_err(|source| ToolError::Io {
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
pub fn check_risu(tc: &Toolchain, seed: u64, len: usize) -> Result<(), String> {
    let seq = crate::risu::generate(seed, len);
    let (exe, obj) = build_risu(tc, &seq).map_err(|e| format!("seed {seed:#x}: {e}"))?;
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
