//! Boots a kernel with OpenBIOS, printing the serial console:
//! `cargo run --release --example linux -- VMLINUX [CMDLINE]`.
use machine_g3beige::{Machine, MachineConfig, RunExit};
use std::io::Write;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kernel = std::fs::read(&args[1]).expect("kernel");
    let cmdline = args
        .get(2)
        .cloned()
        .unwrap_or_else(|| "console=ttyS0".into());
    let cfg = MachineConfig {
        firmware: std::fs::read("/usr/share/qemu/openbios-ppc").expect("openbios"),
        ram_size: 256 << 20,
        kernel: Some(kernel),
        cmdline: Some(cmdline),
        ..Default::default()
    };
    let t0 = Instant::now();
    let mut m = Machine::new(&cfg).unwrap();
    let limit: u64 = std::env::var("LIMIT_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(120);
    let exit = loop {
        let t = m.now_ns() + 10_000_000;
        let e = m.run(t);
        std::io::stdout().write_all(&m.serial_output()).unwrap();
        std::io::stdout().flush().unwrap();
        if e == RunExit::PowerOff || m.now_ns() > limit * 1_000_000_000 {
            break e;
        }
    };
    eprintln!(
        "\n[{exit:?} after {:.2} s host, {} ms virtual, {} guest instructions, nip {:08x} msr {:08x}]",
        t0.elapsed().as_secs_f64(),
        m.now_ns() / 1_000_000,
        m.cpu.icount,
        m.cpu.nip,
        m.cpu.msr
    );
}
