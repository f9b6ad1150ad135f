//! Boots the shared Linux 6.1 pmac32 kernel through OpenBIOS.
//!
//! The kernel comes from `$BEIGE_TEST_KERNEL`, else `../shared/guests/linux-pmac32/vmlinux`
//! beside the checkout. Under CI a missing kernel or firmware is a failure.

use std::path::PathBuf;

use machine_g3beige::{Machine, MachineConfig, RunExit};

fn asset(path: PathBuf, how: &str) -> Option<Vec<u8>> {
    match std::fs::read(&path) {
        Ok(b) => Some(b),
        Err(e) => {
            let msg = format!("{}: {e}; {how}", path.display());
            assert!(std::env::var_os("CI").is_none(), "{msg}");
            eprintln!("skipping: {msg}");
            None
        }
    }
}

fn kernel() -> Option<Vec<u8>> {
    let path = std::env::var_os("BEIGE_TEST_KERNEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/guests/linux-pmac32/vmlinux")
        });
    asset(
        path,
        "set BEIGE_TEST_KERNEL, or build it with ../shared/guests/linux-pmac32/build.sh",
    )
}

fn openbios() -> Option<Vec<u8>> {
    asset(
        "/usr/share/qemu/openbios-ppc".into(),
        "run scripts/setup (apt-get install qemu-system-data)",
    )
}

#[test]
fn linux_boots_runs_its_checks_and_powers_off() {
    let (Some(kernel), Some(firmware)) = (kernel(), openbios()) else {
        return;
    };
    let cfg = MachineConfig {
        firmware,
        ram_size: 256 << 20,
        kernel: Some(kernel),
        cmdline: Some("console=ttyS0".into()),
        ..Default::default()
    };
    let mut m = Machine::new(&cfg).unwrap();
    let mut out = Vec::new();
    let exit = loop {
        let t = m.now_ns() + 10_000_000;
        let e = m.run(t);
        out.extend(m.serial_output());
        if e == RunExit::PowerOff || m.now_ns() > 120_000_000_000 {
            break e;
        }
    };
    let out = String::from_utf8_lossy(&out);
    assert_eq!(exit, RunExit::PowerOff, "{out}");
    for want in [
        "INIT: hello from userspace",
        "cpu\t\t: 740/750",
        "clock\t\t: 266.000000MHz",
        "revision\t: 3.1 (pvr 0008 0301)",
        "INIT: crc32=4091419d (expect 4091419d)",
        "INIT: zeta2=1.644924066898 (expect 1.644924066898)",
        "INIT: powering off",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(!out.contains("nobody cared"), "{out}");
}
