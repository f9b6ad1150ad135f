//! Runs QEMU's `scripts/analyze-migration.py` on a decompressed beige snapshot. The
//! script is not shipped with Debian's QEMU packages, so this test is ignored unless
//! asked for: `ANALYZE_MIGRATION=/path/to/analyze-migration.py cargo test -p savevm
//! --test analyze_migration -- --ignored`.

use std::process::Command;

use savevm::testing::demo::DemoMachine;

#[test]
#[ignore = "needs QEMU's scripts/analyze-migration.py (set ANALYZE_MIGRATION)"]
fn analyze_migration_parses_a_beige_stream() {
    let script =
        std::env::var("ANALYZE_MIGRATION").expect("set ANALYZE_MIGRATION to the script path");
    let mut m = DemoMachine::busy(64 * 4096);
    let path = std::env::temp_dir().join(format!("beige-{}.qevm", std::process::id()));
    let mut f = std::fs::File::create(&path).unwrap();
    m.save_stream(&mut f).unwrap();
    drop(f);
    let out = Command::new("python3")
        .arg(&script)
        .arg("-f")
        .arg(&path)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        state["ram (1)"]["section sizes"]["ppc_heathrow.ram"],
        "0x0000000000040000"
    );
    assert_eq!(state["cpu (2)"]["pc"], "0xfff00100");
    assert_eq!(state["cpu (2)"]["cpu/irq_state"]["pending"], "0x00000002");
    assert_eq!(state["escc (3)"]["fifo"], "05 7e 00");
    assert_eq!(state["escc (3)"]["escc/irq"]["irq"], true);
}
