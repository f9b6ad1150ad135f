//! Boots the real OpenBIOS (Debian's qemu-system-data) on the board.

use machine_g3beige::{Machine, MachineConfig};

const OPENBIOS: &str = "/usr/share/qemu/openbios-ppc";

fn firmware() -> Option<Vec<u8>> {
    match std::fs::read(OPENBIOS) {
        Ok(b) => Some(b),
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{OPENBIOS}: {e}; CI must run scripts/setup (apt-get install qemu-system-data)"
            );
            eprintln!("skipping: {OPENBIOS} missing; run scripts/setup");
            None
        }
    }
}

/// Runs in 10 ms virtual slices until `needle` appears in the serial output or
/// `limit_ns` of virtual time passes. Returns everything printed.
fn run_until(m: &mut Machine, out: &mut String, needle: &str, limit_ns: u64) -> bool {
    while m.now_ns() < limit_ns {
        let t = m.now_ns() + 10_000_000;
        m.run(t);
        out.push_str(&String::from_utf8_lossy(&m.serial_output()));
        if out.contains(needle) {
            return true;
        }
    }
    false
}

#[test]
fn openbios_reaches_prompt_and_evaluates_forth() {
    let Some(fw) = firmware() else { return };
    let cfg = MachineConfig {
        firmware: fw,
        ram_size: 256 << 20,
        ..Default::default()
    };
    let mut m = Machine::new(&cfg).unwrap();
    m.cpu.log_exceptions = true;
    let mut out = String::new();
    let ok = run_until(&mut m, &mut out, "0 > ", 60_000_000_000);
    assert!(
        ok,
        "no prompt after {} ms virtual; output:\n{out}",
        m.now_ns() / 1_000_000
    );
    assert!(out.contains("Memory: 256M"), "{out}");
    assert!(out.contains("CPU type PowerPC,750"), "{out}");
    // OpenBIOS fills its hash table on demand: the boot takes page faults and
    // interrupts, never a program, alignment or machine-check exception.
    let vectors: std::collections::BTreeSet<u32> =
        m.cpu.exception_log.iter().map(|&(_, v, _)| v).collect();
    assert!(
        vectors.contains(&0x300) && vectors.contains(&0x400),
        "{vectors:x?}"
    );
    assert!(
        vectors
            .iter()
            .all(|v| [0x300, 0x400, 0x500, 0x900].contains(v)),
        "unexpected exceptions on the way to the prompt: {vectors:x?}"
    );
    let mut rest = String::new();
    for b in b"1 2 + .\r" {
        m.serial_input(&[*b]);
        let t = m.now_ns() + 1_000_000;
        m.run(t);
    }
    let limit = m.now_ns() + 10_000_000_000;
    assert!(run_until(&mut m, &mut rest, "3  ok", limit), "{rest}");
}
