//! Replay and determinism of the whole machine.
//!
//! Replay: a run saved at virtual time N, loaded into a freshly built machine and
//! run on to N+M, prints the same serial bytes and ends in the same snapshot bytes as
//! an uninterrupted run to N+M. Points are chosen inside device transactions: mid
//! CUDA packet and mid console line during OpenBIOS's early boot, and one or ten
//! instructions before a decrementer or VIA timer interrupt in the tick guest.
//!
//! Determinism: two runs of one configuration with the same input at the same
//! virtual times agree on serial output and snapshot bytes.
//!
//! Missing firmware or cross toolchain skips loudly, and fails under CI.

mod common;
use common::{board_guest, skip};

use machine_g3beige::{Machine, MachineConfig, RunExit};

const US: u64 = 1_000;
const MS: u64 = 1_000_000;
const OPENBIOS: &str = "/usr/share/qemu/openbios-ppc";

fn openbios() -> Option<Vec<u8>> {
    match std::fs::read(OPENBIOS) {
        Ok(fw) => Some(fw),
        Err(e) => {
            skip(&format!("{OPENBIOS}: {e}; install qemu-system-ppc"));
            None
        }
    }
}

fn config(fw: &[u8], machine_type: &str, ram_mib: u32) -> MachineConfig {
    MachineConfig {
        machine_type: machine_type.into(),
        ram_size: ram_mib << 20,
        firmware: fw.to_vec(),
        rtc_base: 1_000_000_000,
        ..Default::default()
    }
}

/// Serial input: bytes typed at a virtual time.
type Input<'a> = &'a [(u64, &'a [u8])];

/// Runs to exactly `until` (or power-off), collecting serial output.
fn run_plain(m: &mut Machine, until: u64, out: &mut Vec<u8>) {
    while m.now_ns() < until {
        let exit = m.run(until);
        out.extend(m.serial_output());
        if exit == RunExit::PowerOff {
            break;
        }
    }
}

/// Runs to `until`, typing each input whose time falls in [now, until) when the
/// machine reaches it.
fn run_to(m: &mut Machine, until: u64, out: &mut Vec<u8>, input: Input<'_>) {
    for &(t, bytes) in input {
        if t >= m.now_ns() && t < until {
            run_plain(m, t, out);
            assert_eq!(
                m.serial_input(bytes),
                bytes.len(),
                "input dropped at {t} ns"
            );
        }
    }
    run_plain(m, until, out);
}

fn save(m: &mut Machine) -> Vec<u8> {
    m.save(Vec::new()).expect("save")
}

/// A machine built from `cfg` with the snapshot loaded.
fn restored(cfg: &MachineConfig, snap: &[u8]) -> Machine {
    let mut m = Machine::new(cfg).unwrap();
    m.load(snap).expect("load");
    m
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Index of the first differing byte, for readable failures on big snapshots.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

/// The uninterrupted run to `end`: its output and final snapshot.
fn uninterrupted(cfg: &MachineConfig, end: u64, input: Input<'_>) -> (Vec<u8>, Vec<u8>) {
    let mut m = Machine::new(cfg).unwrap();
    let mut out = Vec::new();
    run_to(&mut m, end, &mut out, input);
    let snap = save(&mut m);
    (out, snap)
}

/// Saves at `point`, loads into a fresh machine, runs to `end`; checks output and the
/// final snapshot against the uninterrupted run.
fn assert_replays_at(
    cfg: &MachineConfig,
    point: u64,
    end: u64,
    input: Input<'_>,
    reference: &(Vec<u8>, Vec<u8>),
) {
    let mut m = Machine::new(cfg).unwrap();
    let mut out = Vec::new();
    run_to(&mut m, point, &mut out, input);
    let saved_at = m.now_ns();
    let snap = save(&mut m);
    drop(m);
    let mut m = restored(cfg, &snap);
    assert_eq!(m.now_ns(), saved_at, "the clock resumes where it was saved");
    run_to(&mut m, end, &mut out, input);
    assert_eq!(
        show(&out),
        show(&reference.0),
        "serial output after a save/load at {point} ns"
    );
    let last = save(&mut m);
    assert!(
        last == reference.1,
        "final snapshot after a save/load at {point} ns differs from the uninterrupted run \
         (stream byte {:?} of the zstd file)",
        first_difference(&last, &reference.1)
    );
}

/// Virtual times one and ten instructions before the next decrementer and VIA
/// timer deadlines after `from`.
fn points_before_interrupts(cfg: &MachineConfig, from: &[u64], input: Input<'_>) -> Vec<u64> {
    let mut points = Vec::new();
    let mut m = Machine::new(cfg).unwrap();
    let mut out = Vec::new();
    for &t in from {
        run_to(&mut m, t, &mut out, input);
        let now = m.now_ns();
        let deadlines = [m.cpu.next_deadline_ns(), m.board.next_deadline()];
        for d in deadlines.into_iter().flatten().filter(|&d| d > now + 100) {
            points.extend([d - 10, d - 100]);
        }
    }
    points
}

const TICK_END: u64 = 30 * MS;
const TICK_INPUT: Input<'static> = &[
    (5 * MS + 500 * US, b"a"),
    (17 * MS + 300 * US, b"bc"),
    (23 * MS + 70 * US, b"xyz"),
];

#[test]
fn tick_guest_replays_from_many_points() {
    let Some(fw) = board_guest("tick") else {
        return;
    };
    let cfg = config(&fw, "g3beige-1.1", 16);
    let reference = uninterrupted(&cfg, TICK_END, TICK_INPUT);
    let text = show(&reference.0);
    assert!(text.contains("tick 00000010 "), "{text}");
    assert!(text.contains("rx x"), "{text}");
    // Evenly spread points, odd offsets, and instants just before timer interrupts.
    let mut points: Vec<u64> = (1..=9).map(|i| i * 3 * MS + i * 7_770).collect();
    points.extend([10, 2_000, 5 * MS + 500 * US, 23 * MS + 70 * US + 10]);
    points.extend(points_before_interrupts(
        &cfg,
        &[2 * MS + 1, 11 * MS + 1, 20 * MS + 400 * US],
        TICK_INPUT,
    ));
    assert!(points.len() >= 20, "{points:?}");
    for p in points {
        assert_replays_at(&cfg, p, TICK_END, TICK_INPUT, &reference);
    }
}

#[test]
fn tick_guest_runs_are_deterministic() {
    let Some(fw) = board_guest("tick") else {
        return;
    };
    let cfg = config(&fw, "g3beige-1.1", 16);

    let a = uninterrupted(&cfg, TICK_END, TICK_INPUT);
    let b = uninterrupted(&cfg, TICK_END, TICK_INPUT);

    assert_eq!(show(&a.0), show(&b.0));
    assert!(
        a.1 == b.1,
        "snapshot bytes differ at {:?}",
        first_difference(&a.1, &b.1)
    );
}

#[test]
fn irq_replay_guest_runs_are_deterministic() {
    let Some(fw) = board_guest("irq_replay") else {
        return;
    };
    for t in ["g3beige-1.0", "g3beige-1.1"] {
        let cfg = config(&fw, t, 16);

        // The snapshot window opens after "pending"; 1.4 s covers the handler.
        let a = uninterrupted(&cfg, 1400 * MS, &[]);
        let b = uninterrupted(&cfg, 1400 * MS, &[]);

        assert!(
            show(&a.0).contains("irq-replay: done"),
            "{t}: {}",
            show(&a.0)
        );
        assert_eq!(show(&a.0), show(&b.0), "{t}");
        assert!(a.1 == b.1, "{t}: snapshot bytes differ");
    }
}

/// OpenBIOS (32 MiB) probes CUDA/ADB at about 3.31 s of virtual time, prints its
/// banner from 3.75 s and its prompt at 4.41 s; a line is typed at 4.45 s.
const OB_SCAN_FROM: u64 = 3300 * MS;
const OB_END: u64 = 4600 * MS;
/// One byte a millisecond: the ESCC's receive FIFO is three bytes deep.
const OB_INPUT: Input<'static> = &[
    (4450 * MS, b"1"),
    (4451 * MS, b" "),
    (4452 * MS, b"2"),
    (4453 * MS, b" "),
    (4454 * MS, b"+"),
    (4455 * MS, b" "),
    (4456 * MS, b"."),
    (4457 * MS, b"\r"),
];

/// A checkpoint of the chained run: where, how much output came before, the bytes.
struct Checkpoint {
    at: u64,
    out_len: usize,
    snap: Vec<u8>,
}

#[test]
fn openbios_replays_through_cuda_packets_and_console_lines() {
    let Some(fw) = openbios() else { return };
    let cfg = config(&fw, "g3beige-1.1", 32);
    let reference = uninterrupted(&cfg, OB_END, OB_INPUT);
    assert!(
        show(&reference.0).contains("3  ok"),
        "{}",
        show(&reference.0)
    );

    // A second run, saved at every interesting instant: mid CUDA packet (a
    // shift-register interrupt is on its way) and mid console line.
    let mut m = Machine::new(&cfg).unwrap();
    let mut out = Vec::new();
    run_to(&mut m, OB_SCAN_FROM, &mut out, OB_INPUT);
    let mut checkpoints = Vec::new();
    let (mut cuda, mut line) = (0, 0);
    let mut last_pick = 0;
    while m.now_ns() < OB_END {
        let before = out.len();
        let next = m.now_ns() + 20 * US;
        run_to(&mut m, next, &mut out, OB_INPUT);
        let now = m.now_ns();
        let mid_cuda = m
            .board
            .cuda
            .next_deadline()
            .is_some_and(|d| d > now && d < now + MS);
        let mid_line = out.len() > before && out.last() != Some(&b'\n');
        let spread = now - last_pick > 300 * US;
        if spread && ((mid_cuda && cuda < 14) || (mid_line && line < 10)) {
            cuda += usize::from(mid_cuda);
            line += usize::from(mid_line && !mid_cuda);
            last_pick = now;
            checkpoints.push(Checkpoint {
                at: now,
                out_len: out.len(),
                snap: save(&mut m),
            });
        }
    }
    assert!(
        cuda >= 8 && line >= 5,
        "found {cuda} CUDA and {line} console points"
    );
    // Saving along the way changed nothing.
    assert_eq!(show(&out), show(&reference.0));
    assert!(save(&mut m) == reference.1, "saving perturbed the run");

    // Each checkpoint, loaded into a fresh machine, reaches the next one's bytes.
    for (i, cp) in checkpoints.iter().enumerate() {
        let mut r = restored(&cfg, &cp.snap);
        let mut seg = Vec::new();
        let (until, want_out, want_snap) = match checkpoints.get(i + 1) {
            Some(next) => (next.at, &out[cp.out_len..next.out_len], &next.snap),
            None => (OB_END, &out[cp.out_len..], &reference.1),
        };
        run_to(&mut r, until, &mut seg, OB_INPUT);
        assert_eq!(
            show(&seg),
            show(want_out),
            "output after loading at {} ns",
            cp.at
        );
        let got = save(&mut r);
        assert!(
            &got == want_snap,
            "state at {until} ns after loading at {} ns differs (byte {:?})",
            cp.at,
            first_difference(&got, want_snap)
        );
    }

    // And the first, straight through to the end.
    let first = &checkpoints[0];
    let mut r = restored(&cfg, &first.snap);
    let mut rest = out[..first.out_len].to_vec();
    run_to(&mut r, OB_END, &mut rest, OB_INPUT);
    assert_eq!(show(&rest), show(&reference.0));
    assert!(save(&mut r) == reference.1);
}

#[test]
fn openbios_runs_with_typed_input_are_deterministic() {
    let Some(fw) = openbios() else { return };
    let cfg = config(&fw, "g3beige-1.1", 32);

    let a = uninterrupted(&cfg, OB_END, OB_INPUT);
    let b = uninterrupted(&cfg, OB_END, OB_INPUT);

    assert!(show(&a.0).contains("3  ok"), "{}", show(&a.0));
    assert_eq!(show(&a.0), show(&b.0));
    assert!(
        a.1 == b.1,
        "snapshot bytes differ at {:?}",
        first_difference(&a.1, &b.1)
    );
}
