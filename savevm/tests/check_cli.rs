//! The `savevm-check OLD NEW` binary: exit 0 when compatible, 1 with one line per
//! incompatible change, 2 when a dump cannot be read.

use std::process::Command;

fn run(old: &serde_json::Value, new: &serde_json::Value, tag: &str) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!("savevm-check-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (o, n) = (dir.join("old.json"), dir.join("new.json"));
    std::fs::write(&o, old.to_string()).unwrap();
    std::fs::write(&n, new.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_savevm-check"))
        .arg(&o)
        .arg(&n)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn dump() -> serde_json::Value {
    serde_json::from_str(include_str!("golden/demo_schema.json")).unwrap()
}

#[test]
fn same_dump_exits_zero() {
    let (code, out) = run(&dump(), &dump(), "same");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("compatible"));
}

#[test]
fn removed_field_exits_one_and_names_it() {
    let mut new = dump();
    let fields = new["sections"]["cpu"]["description"]["fields"]
        .as_array_mut()
        .unwrap();
    fields.retain(|f| f["field"] != "msr");
    let (code, out) = run(&dump(), &new, "removed");
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cpu/msr: field-removed"), "{out}");
}

#[test]
fn unreadable_dump_exits_two() {
    let out = Command::new(env!("CARGO_BIN_EXE_savevm-check"))
        .arg("/nonexistent/old.json")
        .arg("/nonexistent/new.json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
