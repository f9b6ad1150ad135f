//! Shared by the integration tests: building the bare-metal guests of
//! tests/guest/board and skipping loudly (failing under CI) when a tool is missing.

#![allow(dead_code)] // each test file uses a different subset

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Outside CI a missing tool or asset skips the test with a message; under CI it fails.
pub fn skip(why: &str) {
    assert!(std::env::var_os("CI").is_none(), "{why}");
    eprintln!("skipping: {why}");
}

/// Tests build in parallel: each build gets its own output file.
static BUILDS: AtomicUsize = AtomicUsize::new(0);

/// Builds tests/guest/board/`name`.S (a ROM image) with the cross toolchain.
pub fn board_guest(name: &str) -> Option<Vec<u8>> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/guest/board");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{name}-{}-{}.elf",
        std::process::id(),
        BUILDS.fetch_add(1, Ordering::Relaxed)
    ));
    let status = Command::new("powerpc-linux-gnu-gcc")
        .args([
            "-nostdlib",
            "-static",
            "-Wa,-mregnames",
            "-Wl,--build-id=none",
            "-Wl,-T",
        ])
        .arg(src.join("rom.ld"))
        .arg("-o")
        .arg(&out)
        .arg(src.join(format!("{name}.S")))
        .status();
    match status {
        Ok(s) if s.success() => Some(std::fs::read(&out).unwrap()),
        other => {
            skip(&format!(
                "powerpc-linux-gnu-gcc failed ({other:?}); run scripts/setup"
            ));
            None
        }
    }
}
