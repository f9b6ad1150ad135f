//! Times OpenBIOS to its prompt: `cargo run --release --example boot_time`.
use machine_g3beige::{Machine, MachineConfig};
use std::time::Instant;

fn main() {
    let fw = std::fs::read("/usr/share/qemu/openbios-ppc").expect("openbios");
    let cfg = MachineConfig {
        firmware: fw,
        ram_size: 256 << 20,
        ..Default::default()
    };
    let t0 = Instant::now();
    let mut m = Machine::new(&cfg).unwrap();
    let mut out = String::new();
    while !out.contains("0 > ") && m.now_ns() < 60_000_000_000 {
        let t = m.now_ns() + 10_000_000;
        m.run(t);
        out.push_str(&String::from_utf8_lossy(&m.serial_output()));
    }
    let secs = t0.elapsed().as_secs_f64();
    let insns = m.cpu.icount;
    println!("{out}");
    println!(
        "prompt: {secs:.2} s host, {} ms virtual, {insns} guest instructions, {:.1} MIPS",
        m.now_ns() / 1_000_000,
        insns as f64 / secs / 1e6
    );
}
