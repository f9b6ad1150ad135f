//! savevm/loadvm time and file size at the OpenBIOS prompt, for
//! `scripts/bench/snapshot-vs-qemu.sh`:
//! `snapbench FIRMWARE RAM_MIB OUT.zst` (release build).
//! Prints `beige save_s=… load_s=… size=…` (best of five).
use std::time::Instant;

use machine_g3beige::{Machine, MachineConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, fw, ram, out] = &args[..] else {
        return Err("usage: snapbench FIRMWARE RAM_MIB OUT.zst".into());
    };
    let cfg = MachineConfig {
        firmware: std::fs::read(fw)?,
        ram_size: ram.parse::<u32>()? << 20,
        ..Default::default()
    };
    let mut m = Machine::new(&cfg)?;
    let mut text = String::new();
    while !text.contains("0 > ") {
        if m.now_ns() > 60_000_000_000 {
            return Err(format!("no prompt after 60 s virtual:\n{text}").into());
        }
        let t = m.now_ns() + 10_000_000;
        m.run(t);
        text.push_str(&String::from_utf8_lossy(&m.serial_output()));
    }
    let (mut save_s, mut load_s) = (f64::MAX, f64::MAX);
    for _ in 0..5 {
        // savevm as the monitor does it: to a file, synced.
        let t0 = Instant::now();
        let f = m.save(std::io::BufWriter::new(std::fs::File::create(out)?))?;
        f.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        save_s = save_s.min(t0.elapsed().as_secs_f64());

        let t0 = Instant::now();
        m.load(std::fs::File::open(out)?)?;
        load_s = load_s.min(t0.elapsed().as_secs_f64());
    }
    let size = std::fs::metadata(out)?.len();
    println!("beige save_s={save_s:.3} load_s={load_s:.3} size={size}");
    Ok(())
}
