//! Where the guest spends its instructions: samples the guest PC every 10 us of
//! virtual time, from power-on to OpenBIOS's prompt or, given a kernel, to
//! power-off, and prints the hottest 256-byte code regions (`GRAIN=n` bytes). Symbolise them with
//! `powerpc-linux-gnu-nm -n vmlinux` (OpenBIOS is stripped).
//!
//! `cargo run --release -p machine-g3beige --example guest_profile [-- VMLINUX]`
use machine_g3beige::{Machine, MachineConfig, RunExit};
use std::collections::HashMap;

const LIMIT_NS: u64 = 120_000_000_000;

fn main() {
    let kernel = std::env::args().nth(1);
    let mut cfg = MachineConfig {
        firmware: std::fs::read("/usr/share/qemu/openbios-ppc").expect("openbios-ppc"),
        ram_size: 256 << 20,
        ns_per_insn: std::env::var("NSI").map_or(10, |v| v.parse().unwrap()),
        ..Default::default()
    };
    if let Some(path) = &kernel {
        cfg.kernel = Some(std::fs::read(path).expect("kernel"));
        cfg.cmdline = Some("console=ttyS0".into());
    }
    // GRAIN=4 profiles single block entries instead of 256-byte regions.
    let grain: u32 = std::env::var("GRAIN").map_or(256, |v| v.parse().expect("GRAIN"));
    let mask = !(grain.next_power_of_two() - 1);
    // SAMPLE_NS=10090 samples every 1009th instruction, a prime stride that no loop
    // aliases with; TOP=0 prints every sampled address.
    let sample_ns: u64 =
        std::env::var("SAMPLE_NS").map_or(10_000, |v| v.parse().expect("SAMPLE_NS"));
    let top: usize = std::env::var("TOP").map_or(30, |v| v.parse().expect("TOP"));
    let top = if top == 0 { usize::MAX } else { top };
    let mut m = Machine::new(&cfg).expect("machine");
    let mut serial = String::new();
    let mut regions: HashMap<u32, u64> = HashMap::new();
    let mut samples = 0u64;
    loop {
        let exit = m.run(m.now_ns() + sample_ns);
        *regions.entry(m.cpu.nip & mask).or_default() += 1;
        samples += 1;
        serial.push_str(&String::from_utf8_lossy(&m.serial_output()));
        let done = match kernel {
            None => serial.contains("0 > "),
            Some(_) => matches!(exit, RunExit::PowerOff),
        };
        if done || m.now_ns() > LIMIT_NS {
            break;
        }
    }
    println!(
        "{} ms virtual, {} instructions, {samples} samples",
        m.now_ns() / 1_000_000,
        m.cpu.icount
    );
    let mut hot: Vec<_> = regions.into_iter().collect();
    hot.sort_by_key(|&(pc, n)| (std::cmp::Reverse(n), pc));
    for (pc, n) in hot.iter().take(top) {
        println!("{pc:08x} {:5.1}% {n}", *n as f64 * 100.0 / samples as f64);
    }
}
