//! MSR[SE] single-step and MSR[BE] branch trace on the whole machine, against
//! QEMU: tests/guest/board/trace.S logs every trace exception's SRR0 and SRR1 and
//! prints them, and both emulators must print the same transcript.

mod common;
use common::{board_guest, skip};

use machine_g3beige::{Machine, MachineConfig};
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DONE: &str = "trace: done";

fn beige(elf: &[u8]) -> String {
    let cfg = MachineConfig {
        firmware: elf.to_vec(),
        rtc_base: 0,
        ..Default::default()
    };
    let mut m = Machine::new(&cfg).unwrap();
    let mut out = String::new();
    while !out.contains(DONE) && m.now_ns() < 1_000_000_000 {
        m.run(m.now_ns() + 1_000_000);
        out.push_str(&String::from_utf8_lossy(&m.serial_output()));
    }
    out
}

/// QEMU's transcript, or None (with a skip) when qemu-system-ppc is missing.
fn qemu(elf: &[u8]) -> Option<String> {
    let path = std::env::temp_dir().join(format!("beige-trace-{}.elf", std::process::id()));
    std::fs::write(&path, elf).unwrap();
    let child = Command::new("qemu-system-ppc")
        .args([
            "-M",
            "g3beige",
            "-nographic",
            "-monitor",
            "none",
            "-serial",
            "stdio",
            "-bios",
        ])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            skip(&format!("qemu-system-ppc: {e}; run scripts/setup"));
            return None;
        }
    };
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&out).contains(DONE) {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
        out
    });
    // A QEMU that prints nothing more would block the reader: killing it ends the
    // read.
    let start = Instant::now();
    while !reader.is_finished() && start.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    let out = reader.join().unwrap();
    let _ = std::fs::remove_file(&path);
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The transcript's lines up to the end marker, without line-ending noise.
fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .take_while(|l| l != DONE)
        .collect()
}

#[test]
fn single_step_and_branch_trace_match_qemu() {
    let Some(elf) = board_guest("trace") else {
        return;
    };
    let ours = beige(&elf);
    assert!(ours.contains(DONE), "beige did not finish: {ours}");
    let ours = lines(&ours);
    // Both kinds ran, and the transcript is not trivially short.
    assert!(
        ours.iter().filter(|l| l.starts_with("S ")).count() >= 10,
        "{ours:?}"
    );
    assert!(
        ours.iter().filter(|l| l.starts_with("B ")).count() >= 5,
        "{ours:?}"
    );
    let Some(theirs) = qemu(&elf) else {
        return;
    };
    assert!(theirs.contains(DONE), "QEMU did not finish: {theirs}");
    assert_eq!(ours, lines(&theirs));
}
