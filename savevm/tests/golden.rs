//! Golden files: the demo machine's schema dump and a snapshot saved by an earlier
//! build must stay loadable. Regenerate (only for an intended, checked change) with
//! `SAVEVM_BLESS=1 cargo test -p savevm --test golden`.

use std::path::PathBuf;

use savevm::stream::SectionRef;
use savevm::testing::demo::DemoMachine;
use savevm::FileOptions;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn bless() -> bool {
    std::env::var_os("SAVEVM_BLESS").is_some()
}

fn demo_dump() -> serde_json::Value {
    let mut m = DemoMachine::new(4096);
    let secs = [
        SectionRef::new("cpu", 0, &mut m.cpu),
        SectionRef::new("escc", 0, &mut m.uart),
        SectionRef::new("escc", 1, &mut m.uart2),
    ];
    savevm::schema::dump("g3beige", &secs)
}

#[test]
fn demo_schema_is_compatible_with_golden_dump() {
    let path = golden("demo_schema.json");
    let now = demo_dump();
    if bless() {
        std::fs::write(&path, serde_json::to_string_pretty(&now).unwrap()).unwrap();
    }
    let old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let problems = savevm::schema::check(&old, &now).unwrap();
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn golden_snapshot_still_loads() {
    let path = golden("demo_16p.zst");
    if bless() {
        let mut m = DemoMachine::busy(16 * 4096);
        let f = m.save_file(Vec::new(), FileOptions::default()).unwrap();
        std::fs::write(&path, f).unwrap();
    }
    let bytes = std::fs::read(&path).unwrap();
    let mut back = DemoMachine::new(16 * 4096);
    let report = back.load_file(&bytes[..]).unwrap();
    assert!(report.warnings.is_empty());
    assert_eq!(back, DemoMachine::busy(16 * 4096));
}

#[test]
fn golden_snapshot_decompresses_to_todays_stream() {
    // Saving is deterministic: today's bytes equal the golden file's stream.
    let bytes = std::fs::read(golden("demo_16p.zst")).unwrap();
    let old_stream = zstd::stream::decode_all(&bytes[..]).unwrap();
    let mut m = DemoMachine::busy(16 * 4096);
    let mut now = Vec::new();
    m.save_stream(&mut now).unwrap();
    assert_eq!(old_stream, now);
}
