//! Compatibility kept forever: the committed schema dumps of every machine type stay
//! compatible with the current build, committed golden snapshots keep loading and
//! running, and a 1.1 snapshot without a pending interrupt equals a 1.0 snapshot
//! outside the machine name.
//!
//! `BEIGE_UPDATE_GOLDEN=1 cargo test -p machine-g3beige --test compat` rewrites a
//! schema dump after a compatible change and writes golden snapshots for machine
//! types that have none; `BEIGE_UPDATE_GOLDEN=force` also accepts an incompatible
//! schema (only before a machine type is released). Existing golden snapshots are
//! never rewritten: see golden/README.md.

use std::io::Read;
use std::path::{Path, PathBuf};

mod common;
use common::board_guest;

use machine_g3beige::{schema, Machine, MachineConfig, RunExit, MACHINE_TYPES};

const MS: u64 = 1_000_000;
/// Where golden snapshots are taken, and how long the test runs after loading one.
const GOLDEN_AT: u64 = 20 * MS + 123_450;
const GOLDEN_RUN: u64 = 15 * MS;

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// `None`, `Some(false)` for `1`, `Some(true)` for `force`.
fn update_mode() -> Option<bool> {
    match std::env::var("BEIGE_UPDATE_GOLDEN").as_deref() {
        Ok("force") => Some(true),
        Ok(v) if !v.is_empty() && v != "0" => Some(false),
        _ => None,
    }
}

fn tick_guest() -> Option<Vec<u8>> {
    board_guest("tick")
}

fn config(fw: &[u8], machine_type: &str) -> MachineConfig {
    MachineConfig {
        machine_type: machine_type.into(),
        ram_size: 16 << 20,
        firmware: fw.to_vec(),
        rtc_base: 1_000_000_000,
        ..Default::default()
    }
}

fn run_to(m: &mut Machine, until: u64, out: &mut Vec<u8>) {
    while m.now_ns() < until {
        let exit = m.run(until);
        out.extend(m.serial_output());
        assert_ne!(exit, RunExit::PowerOff, "the tick guest never powers off");
    }
}

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn regenerate_hint() -> &'static str {
    "If the change is intended and compatible, regenerate with\n  \
     BEIGE_UPDATE_GOLDEN=1 cargo test -p machine-g3beige --test compat\n\
     An incompatible change to a released machine type breaks its snapshots: keep the \
     old layout (field_since, unused, a subsection) or add a new machine type."
}

#[test]
fn schema_is_compatible_with_committed_dumps() {
    let update = update_mode();
    let mut failures = Vec::new();
    for t in MACHINE_TYPES {
        let path = golden_dir().join("schema").join(format!("{}.json", t.name));
        let current = schema::dump(t.name).unwrap();
        let old_text = match std::fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) if update.is_some() => {
                eprintln!("{}: {e}; writing it", path.display());
                std::fs::create_dir_all(path.parent().unwrap()).unwrap();
                std::fs::write(&path, &current).unwrap();
                continue;
            }
            Err(e) => {
                failures.push(format!(
                    "{}: {e}; a machine type needs a committed schema dump",
                    path.display()
                ));
                continue;
            }
        };
        let old: serde_json::Value = serde_json::from_str(&old_text).unwrap();
        let new: serde_json::Value = serde_json::from_str(&current).unwrap();
        let problems = savevm::schema::check(&old, &new).unwrap();
        let lint = savevm::schema::lint(&new);
        assert!(lint.is_empty(), "{}: {lint:?}", t.name);
        if !problems.is_empty() && update != Some(true) {
            let mut msg = format!(
                "{}: {} incompatible change(s) against {}:\n",
                t.name,
                problems.len(),
                path.display()
            );
            for p in &problems {
                msg += &format!("  {p}\n");
            }
            failures.push(msg);
        } else if old_text != current {
            if update.is_some() {
                eprintln!("{}: rewriting the schema dump", path.display());
                std::fs::write(&path, &current).unwrap();
            } else {
                eprintln!(
                    "note: {} changed compatibly; BEIGE_UPDATE_GOLDEN=1 records it",
                    t.name
                );
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{}\n{}",
        failures.join("\n"),
        regenerate_hint()
    );
}

/// A golden snapshot file: `tick-<machine type>-<beige version>.zst`.
fn golden_machine_type(path: &Path) -> Option<&'static str> {
    let name = path.file_name()?.to_str()?.strip_prefix("tick-")?;
    name.strip_suffix(".zst")?;
    MACHINE_TYPES
        .iter()
        .map(|t| t.name)
        .filter(|n| name.starts_with(&format!("{n}-")))
        .max_by_key(|n| n.len())
}

fn write_missing_goldens(fw: &[u8], dir: &Path) {
    for t in MACHINE_TYPES {
        let have = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| golden_machine_type(&e.path()) == Some(t.name));
        if have {
            continue;
        }
        let mut m = Machine::new(&config(fw, t.name)).unwrap();
        run_to(&mut m, GOLDEN_AT, &mut Vec::new());
        let path = dir.join(format!("tick-{}-{}.zst", t.name, env!("CARGO_PKG_VERSION")));
        eprintln!("writing {}", path.display());
        std::fs::write(&path, m.save(Vec::new()).unwrap()).unwrap();
    }
}

/// The tick guest's own account of a good continuation: a line per decrementer
/// interrupt (1 ms) with counts rising by one, and VIA T1 (about 3.8 ms) still
/// interrupting. Holds even if a later build changes timing.
fn assert_ticks_continue(out: &str, path: &Path) {
    let counts: Vec<(u32, u32)> = out
        .lines()
        .filter_map(|l| l.strip_prefix("tick "))
        .filter_map(|l| {
            let (d, v) = l.trim().split_once(' ')?;
            Some((
                u32::from_str_radix(d, 16).ok()?,
                u32::from_str_radix(v, 16).ok()?,
            ))
        })
        .collect();
    let ms = (GOLDEN_RUN / MS) as usize;
    assert!(counts.len() + 1 >= ms, "{}: {out}", path.display());
    assert!(
        counts
            .windows(2)
            .all(|w| w[1].0 == w[0].0 + 1 && w[1].1 >= w[0].1),
        "{}: {out}",
        path.display()
    );
    let via = counts.last().unwrap().1 - counts[0].1;
    assert!(
        (3..=4).contains(&via),
        "{}: {via} VIA interrupts: {out}",
        path.display()
    );
}

#[test]
fn golden_snapshots_load_and_continue_like_an_uninterrupted_run() {
    let Some(fw) = tick_guest() else { return };
    let dir = golden_dir().join("snapshots");
    if update_mode().is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        write_missing_goldens(&fw, &dir);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("golden/snapshots")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "zst"))
        .collect();
    files.sort();
    for t in MACHINE_TYPES {
        assert!(
            files.iter().any(|f| golden_machine_type(f) == Some(t.name)),
            "no golden snapshot for {}; BEIGE_UPDATE_GOLDEN=1 writes one",
            t.name
        );
    }
    for path in files {
        let t = golden_machine_type(&path)
            .unwrap_or_else(|| panic!("{}: not tick-<machine type>-<version>.zst", path.display()));
        let cfg = config(&fw, t);
        let bytes = std::fs::read(&path).unwrap();

        let mut loaded = Machine::new(&cfg).unwrap();
        loaded
            .load(&bytes[..])
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let at = loaded.now_ns();
        let mut after_load = Vec::new();
        run_to(&mut loaded, at + GOLDEN_RUN, &mut after_load);

        let mut fresh = Machine::new(&cfg).unwrap();
        run_to(&mut fresh, at, &mut Vec::new());
        let mut expected = Vec::new();
        run_to(&mut fresh, at + GOLDEN_RUN, &mut expected);

        assert_ticks_continue(&show(&after_load), &path);
        assert_eq!(
            show(&after_load),
            show(&expected),
            "{}: output after loading differs from an uninterrupted run",
            path.display()
        );
    }
}

fn decompress(file: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    zstd::stream::read::Decoder::new(file)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Byte range of the machine name in the configuration section: after "QEVM",
/// the version, the 0x07 section type and a be32 length.
fn machine_name_range(stream: &[u8]) -> std::ops::Range<usize> {
    let len = u32::from_be_bytes(stream[9..13].try_into().unwrap()) as usize;
    13..13 + len
}

#[test]
fn snapshot_1_1_without_pending_interrupt_equals_1_0_outside_the_machine_name() {
    let Some(fw) = tick_guest() else { return };
    let mut a = Machine::new(&config(&fw, "g3beige-1.0")).unwrap();
    let mut b = Machine::new(&config(&fw, "g3beige-1.1")).unwrap();
    let mut t = 7 * MS;
    let (old, new) = loop {
        run_to(&mut a, t, &mut Vec::new());
        run_to(&mut b, t, &mut Vec::new());
        let old = decompress(&a.save(Vec::new()).unwrap());
        let new = decompress(&b.save(Vec::new()).unwrap());
        if !contains(&new, b"cpu/irq_state") {
            break (old, new);
        }
        assert!(
            t < 8 * MS,
            "an interrupt stayed pending for a whole millisecond"
        );
        t += 1_000;
    };

    assert!(!contains(&old, b"cpu/irq_state"));
    assert_eq!(old.len(), new.len());
    let names = machine_name_range(&new);
    assert_eq!(&old[names.clone()], b"g3beige-1.0");
    assert_eq!(&new[names.clone()], b"g3beige-1.1");
    let outside: Vec<usize> = (0..old.len())
        .filter(|&i| old[i] != new[i] && !names.contains(&i))
        .collect();
    assert!(
        outside.is_empty(),
        "streams differ outside the machine name at {:?}",
        &outside[..outside.len().min(16)]
    );
}

#[test]
fn snapshot_with_pending_interrupt_carries_irq_state_only_on_1_1() {
    let Some(fw) = board_guest("irq_replay") else {
        return;
    };
    for (t, expect) in [("g3beige-1.0", false), ("g3beige-1.1", true)] {
        let mut m = Machine::new(&config(&fw, t)).unwrap();
        let mut out = Vec::new();
        // The guest says "pending" once the VIA interrupt is latched with EE off, then
        // spins for a second: the interrupt stays pending throughout.
        while !show(&out).contains("irq-replay: pending") {
            assert!(m.now_ns() < 1000 * MS, "{}", show(&out));
            let next = m.now_ns() + MS;
            run_to(&mut m, next, &mut out);
        }

        let stream = decompress(&m.save(Vec::new()).unwrap());

        assert_eq!(contains(&stream, b"cpu/irq_state"), expect, "{t}");
    }
}

#[test]
fn checker_reports_a_field_removed_from_a_committed_dump() {
    let path = golden_dir().join("schema/g3beige-1.1.json");
    let old: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut new = old.clone();
    let fields = new["sections"]["cpu"]["description"]["fields"]
        .as_array_mut()
        .unwrap();
    let removed = fields.remove(1)["field"].as_str().unwrap().to_owned();

    let problems = savevm::schema::check(&old, &new).unwrap();

    assert!(
        problems
            .iter()
            .any(|p| p.rule == "field-removed" && p.path.ends_with(&removed)),
        "{problems:?}"
    );
}
