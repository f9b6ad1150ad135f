//! The interrupt-state regression, replayed: a guest asserts an interrupt while
//! MSR[EE]=0 and is snapshotted; after loadvm into a fresh machine it enables EE.
//! On g3beige-1.0 (no `cpu/irq_state`) the pending interrupt is lost, as in QEMU's
//! bug; on g3beige-1.1 the handler runs.

mod common;
use common::board_guest;

use machine_g3beige::{Machine, MachineConfig};

/// Builds tests/guest/board/irq_replay.S with the cross toolchain, once per process
/// (the tests run in parallel and would race on the output file).
fn guest() -> Option<Vec<u8>> {
    static ELF: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
    ELF.get_or_init(|| board_guest("irq_replay")).clone()
}

fn machine(fw: &[u8], machine_type: &str) -> Machine {
    let cfg = MachineConfig {
        machine_type: machine_type.into(),
        firmware: fw.to_vec(),
        rtc_base: 0,
        ..Default::default()
    };
    Machine::new(&cfg).unwrap()
}

/// Runs 1 ms virtual slices until `needle` is printed or `limit_ms` pass.
fn run_until(m: &mut Machine, out: &mut String, needle: &str, limit_ms: u64) -> bool {
    let end = m.now_ns() + limit_ms * 1_000_000;
    while m.now_ns() < end {
        let t = m.now_ns() + 1_000_000;
        m.run(t);
        out.push_str(&String::from_utf8_lossy(&m.serial_output()));
        if out.contains(needle) {
            return true;
        }
    }
    false
}

/// Runs the guest to its snapshot window, optionally through a save and a load into
/// a fresh machine, and returns what the guest reports after it enables EE.
fn replay(fw: &[u8], machine_type: &str, through_snapshot: bool) -> String {
    let mut m = machine(fw, machine_type);
    let mut out = String::new();
    assert!(
        run_until(&mut m, &mut out, "irq-replay: pending", 1000),
        "{out}"
    );
    if through_snapshot {
        let snap = m.save(Vec::new()).unwrap();
        drop(m);
        m = machine(fw, machine_type);
        m.load(&snap[..]).unwrap();
    }
    let mut rest = String::new();
    assert!(
        run_until(&mut m, &mut rest, "irq-replay: done", 2000),
        "{rest}"
    );
    rest
}

#[test]
fn without_snapshot_the_handler_runs_on_both_machine_types() {
    let Some(fw) = guest() else { return };
    for t in ["g3beige-1.0", "g3beige-1.1"] {
        let out = replay(&fw, t, false);
        assert!(out.contains("handler ran"), "{t}: {out}");
    }
}

#[test]
fn pending_interrupt_survives_loadvm_on_1_1() {
    let Some(fw) = guest() else { return };
    let out = replay(&fw, "g3beige-1.1", true);
    assert!(out.contains("handler ran"), "{out}");
}

#[test]
fn pending_interrupt_is_lost_after_loadvm_on_1_0() {
    let Some(fw) = guest() else { return };
    let out = replay(&fw, "g3beige-1.0", true);
    assert!(out.contains("interrupt lost"), "{out}");
}
