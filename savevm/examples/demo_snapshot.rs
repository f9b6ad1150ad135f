//! Writes the demo machine's snapshot file, for inspecting the format:
//!
//! ```text
//! cargo run -p savevm --example demo_snapshot -- /tmp/demo.zst
//! zstd -d /tmp/demo.zst -o /tmp/demo.qevm
//! python3 analyze-migration.py -f /tmp/demo.qevm
//! ```

use savevm::testing::demo::DemoMachine;
use savevm::FileOptions;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: demo_snapshot OUT.zst");
        std::process::exit(2);
    };
    let mut m = DemoMachine::busy(1 << 20);
    let file = std::fs::File::create(&path)?;
    m.save_file(std::io::BufWriter::new(file), FileOptions::default())?;
    println!("wrote {path}");
    Ok(())
}
