//! Unit tests for descriptions: one per rule.

use std::sync::LazyLock;

use super::*;
use crate::testing::{assert_mutated_roundtrip, assert_roundtrip, assert_roundtrip_into};

#[derive(Debug, Default, Clone, PartialEq)]
struct Chan {
    wr: [u8; 4],
    count: u16,
}

impl VmState for Chan {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Chan>> = LazyLock::new(|| {
            Vmsd::<Chan>::builder("chan")
                .field("wr", |s| &s.wr, |s| &mut s.wr)
                .field("count", |s| &s.count, |s| &mut s.count)
                .build()
        });
        &V
    }
}

#[derive(Debug, Default, Clone, PartialEq)]
struct Dev {
    a: u8,
    b: u32,
    c: i64,
    flag: bool,
    f: f64,
    grid: [[u16; 3]; 2],
    newer: u32,
    mode: u8,
    only_in_mode1: u32,
    chan: Chan,
    chans: [Chan; 2],
    fifo_len: u8,
    fifo: Vec<u8>,
    irq_level: u32,
    stats: u64,
    prop_send_irq: bool,
    loaded_ok: bool,
}

fn dev_vmsd() -> Vmsd<Dev> {
    Vmsd::<Dev>::builder("dev")
        .version(3)
        .minimum_version(1)
        .field("a", |s| &s.a, |s| &mut s.a)
        .field("b", |s| &s.b, |s| &mut s.b)
        .unused(3)
        .field("c", |s| &s.c, |s| &mut s.c)
        .field("flag", |s| &s.flag, |s| &mut s.flag)
        .field("f", |s| &s.f, |s| &mut s.f)
        .field("grid", |s| &s.grid, |s| &mut s.grid)
        .field_since(2, "newer", |s| &s.newer, |s| &mut s.newer)
        .field("mode", |s| &s.mode, |s| &mut s.mode)
        .field_if(
            "only_in_mode1",
            |s: &Dev, _| s.mode == 1,
            |s| &s.only_in_mode1,
            |s| &mut s.only_in_mode1,
        )
        .struct_field("chan", |s| &s.chan, |s| &mut s.chan)
        .struct_array("chans", |s| &s.chans, |s| &mut s.chans)
        .field("fifo_len", |s| &s.fifo_len, |s| &mut s.fifo_len)
        .vbuffer(
            "fifo",
            |s| s.fifo_len as usize,
            16,
            |s| &s.fifo,
            |s| &mut s.fifo,
        )
        .subsection(
            Vmsd::builder("dev/irq")
                .field("level", |s: &Dev| &s.irq_level, |s| &mut s.irq_level)
                .build(),
            |s| s.prop_send_irq && s.irq_level != 0,
        )
        .droppable_subsection(
            Vmsd::builder("dev/stats")
                .field("stats", |s: &Dev| &s.stats, |s| &mut s.stats)
                .build(),
            |s| s.stats != 0,
        )
        .pre_load(|s| s.irq_level = 0)
        .post_load(|s, _| {
            s.loaded_ok = true;
            if s.mode > 3 {
                return Err(format!("mode {} is not 0..=3", s.mode));
            }
            Ok(())
        })
        .build()
}

static DEV: LazyLock<Vmsd<Dev>> = LazyLock::new(dev_vmsd);

impl VmState for Dev {
    fn vmsd() -> &'static Vmsd<Self> {
        &DEV
    }
}

fn busy_dev() -> Dev {
    Dev {
        a: 0x11,
        b: 0x2233_4455,
        c: -2,
        flag: true,
        f: -0.0,
        grid: [[1, 2, 3], [4, 5, 0xffff]],
        newer: 7,
        mode: 1,
        only_in_mode1: 0xdead_beef,
        chan: Chan {
            wr: [1, 2, 3, 4],
            count: 5,
        },
        chans: [
            Chan {
                wr: [6; 4],
                count: 7,
            },
            Chan {
                wr: [8; 4],
                count: 9,
            },
        ],
        fifo_len: 3,
        fifo: vec![0xaa, 0xbb, 0xcc],
        irq_level: 1,
        stats: 42,
        prop_send_irq: true,
        loaded_ok: false,
    }
}

#[test]
fn busy_device_roundtrips_byte_identically() {
    let mut d = busy_dev();
    // prop_send_irq is a property: set at construction, not saved.
    let bytes = assert_roundtrip_into(
        &mut d,
        Dev {
            prop_send_irq: true,
            ..Dev::default()
        },
    );
    let mut back = Dev {
        prop_send_irq: true,
        ..Dev::default()
    };
    load_bytes(&mut back, &bytes).unwrap();
    assert_eq!(back.f.to_bits(), (-0.0f64).to_bits());
    assert_eq!(back.fifo, vec![0xaa, 0xbb, 0xcc]);
    assert_eq!(back.chans, d.chans);
    assert_eq!(back.irq_level, 1);
    assert_eq!(back.stats, 42);
    assert!(back.loaded_ok);
}

#[test]
fn fields_are_big_endian_in_declaration_order() {
    let mut d = Dev {
        a: 0x11,
        b: 0x2233_4455,
        c: -2,
        ..Dev::default()
    };
    let bytes = save_bytes(&mut d);
    assert_eq!(
        &bytes[..16],
        &[0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]
    );
}

#[test]
fn mutated_device_roundtrips() {
    let mut d = Dev::default();
    assert_mutated_roundtrip(&mut d, |d| d.chans[1].count = 0x1234);
}

#[test]
fn field_since_is_absent_from_older_stream() {
    let mut d = Dev {
        newer: 9,
        ..Dev::default()
    };
    let v3 = save_bytes(&mut d);
    // A version-1 stream is the same bytes without the 4 bytes of "newer".
    let newer_at = 1 + 4 + 3 + 8 + 1 + 8 + 12;
    assert_eq!(&v3[newer_at..newer_at + 4], &[0, 0, 0, 9]);
    let mut v1 = v3.clone();
    v1.drain(newer_at..newer_at + 4);
    let mut back = Dev {
        newer: 5,
        ..Dev::default()
    };
    load_bytes_version(&mut back, &v1, 1).unwrap();
    assert_eq!(back.newer, 5, "absent field keeps its pre-load value");
}

#[test]
fn field_if_absent_when_predicate_false() {
    let mut on = Dev {
        mode: 1,
        ..Dev::default()
    };
    let mut off = Dev {
        mode: 0,
        ..Dev::default()
    };
    assert_eq!(save_bytes(&mut on).len(), save_bytes(&mut off).len() + 4);
    assert_roundtrip(&mut off);
}

#[test]
fn subsection_absent_when_not_needed() {
    let mut d = Dev {
        irq_level: 1,
        prop_send_irq: false,
        ..Dev::default()
    };
    let bytes = save_bytes(&mut d);
    assert!(!bytes.windows(7).any(|w| w == b"dev/irq"));
    let mut back = Dev {
        irq_level: 9,
        ..Dev::default()
    };
    load_bytes(&mut back, &bytes).unwrap();
    assert_eq!(
        back.irq_level, 0,
        "pre_load sets the default of an absent subsection"
    );
}

#[test]
fn subsection_header_is_marker_name_version() {
    let mut d = Dev {
        irq_level: 0x0102_0304,
        prop_send_irq: true,
        ..Dev::default()
    };
    let bytes = save_bytes(&mut d);
    let tail: Vec<u8> = [&[0x05, 7][..], b"dev/irq", &[0, 0, 0, 1], &[1, 2, 3, 4]].concat();
    assert!(bytes.ends_with(&tail), "{bytes:02x?}");
}

#[test]
fn unknown_subsection_is_an_error_naming_it() {
    let mut bytes = save_bytes(&mut Dev::default());
    bytes.extend_from_slice(&[0x05, 7]);
    bytes.extend_from_slice(b"dev/new");
    bytes.extend_from_slice(&[0, 0, 0, 1, 0]);
    let err = load_bytes(&mut Dev::default(), &bytes).unwrap_err();
    assert!(
        matches!(&err, LoadError::UnknownSubsection { name, .. } if name == "dev/new"),
        "{err}"
    );
}

#[test]
fn droppable_unknown_subsection_is_skipped_with_warning() {
    let mut bytes = save_bytes(&mut Dev::default());
    bytes.extend_from_slice(&[0x05, 8]);
    bytes.extend_from_slice(b"dev/more");
    bytes.extend_from_slice(&(DROPPABLE | 1).to_be_bytes());
    bytes.extend_from_slice(&3u32.to_be_bytes());
    bytes.extend_from_slice(&[9, 9, 9]);
    let mut back = Dev::default();
    let warnings = load_bytes(&mut back, &bytes).unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("dev/more"), "{warnings:?}");
    assert!(back.loaded_ok);
}

#[test]
fn droppable_known_subsection_newer_version_is_skipped() {
    let mut d = Dev {
        stats: 5,
        ..Dev::default()
    };
    let mut bytes = save_bytes(&mut d);
    // Bump dev/stats' version to 2 in the stream: this build knows only version 1.
    let at = bytes.windows(9).position(|w| w == b"dev/stats").unwrap() + 9;
    bytes[at..at + 4].copy_from_slice(&(DROPPABLE | 2).to_be_bytes());
    let mut back = Dev::default();
    let warnings = load_bytes(&mut back, &bytes).unwrap();
    assert_eq!(back.stats, 0);
    assert_eq!(warnings.len(), 1);
}

#[test]
fn droppable_length_mismatch_is_malformed() {
    let mut d = Dev {
        stats: 5,
        ..Dev::default()
    };
    let mut bytes = save_bytes(&mut d);
    let at = bytes.windows(9).position(|w| w == b"dev/stats").unwrap() + 13;
    // The body is 8 bytes; claim 9 and supply 9.
    bytes[at..at + 4].copy_from_slice(&9u32.to_be_bytes());
    bytes.push(0);
    assert!(matches!(
        load_bytes(&mut Dev::default(), &bytes),
        Err(LoadError::Malformed { .. })
    ));
}

#[test]
fn version_newer_than_supported_is_rejected() {
    let bytes = save_bytes(&mut Dev::default());
    let err = load_bytes_version(&mut Dev::default(), &bytes, 4).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::VersionTooNew {
                found: 4,
                supported: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn version_older_than_minimum_is_rejected() {
    let bytes = save_bytes(&mut Dev::default());
    let err = load_bytes_version(&mut Dev::default(), &bytes, 0).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::VersionTooOld {
                found: 0,
                minimum: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn post_load_rejection_is_reported() {
    let mut d = Dev {
        mode: 7,
        ..Dev::default()
    };
    let bytes = save_bytes(&mut d);
    let err = load_bytes(&mut Dev::default(), &bytes).unwrap_err();
    assert!(
        matches!(&err, LoadError::Invalid { message, .. } if message.contains("mode 7")),
        "{err}"
    );
}

#[test]
fn bool_other_than_zero_or_one_is_out_of_range() {
    let mut d = Dev::default();
    let mut bytes = save_bytes(&mut d);
    let flag_at = 1 + 4 + 3 + 8;
    bytes[flag_at] = 2;
    let err = load_bytes(&mut Dev::default(), &bytes).unwrap_err();
    match err {
        LoadError::OutOfRange {
            context,
            offset,
            value,
            ..
        } => {
            assert!(context.contains("flag"), "{context}");
            assert_eq!(offset, flag_at as u64 + 1);
            assert_eq!(value, 2);
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn vbuffer_longer_than_max_is_rejected_before_allocating() {
    let mut d = Dev {
        fifo_len: 16,
        fifo: vec![1; 16],
        ..Dev::default()
    };
    // A stream may claim more than max: forge the length byte.
    let mut bytes = save_bytes(&mut d);
    let len_at = bytes.len() - 16 - 1;
    assert_eq!(bytes[len_at], 16);
    bytes[len_at] = 200;
    let err = load_bytes(&mut Dev::default(), &bytes).unwrap_err();
    assert!(
        matches!(err, LoadError::OutOfRange { value: 200, .. }),
        "{err}"
    );
}

#[test]
#[should_panic(expected = "length 200 > max 16")]
fn vbuffer_length_above_max_is_a_device_bug_caught_at_save() {
    let mut d = Dev {
        fifo_len: 200,
        fifo: vec![1; 200],
        ..Dev::default()
    };
    save_bytes(&mut d);
}

#[test]
fn trailing_bytes_are_malformed() {
    let mut bytes = save_bytes(&mut Dev::default());
    bytes.push(0x7e);
    assert!(matches!(
        load_bytes(&mut Dev::default(), &bytes),
        Err(LoadError::Malformed { .. })
    ));
}

#[test]
fn truncation_is_an_error_except_before_an_optional_subsection() {
    // A bare body cut exactly before a subsection is a valid body without it; in a
    // stream the section footer catches that cut (see stream tests).
    let bytes = save_bytes(&mut busy_dev());
    for n in 0..bytes.len() {
        let mut back = Dev {
            prop_send_irq: true,
            ..Dev::default()
        };
        if load_bytes(&mut back, &bytes[..n]).is_ok() {
            assert_eq!(bytes[n], SUBSECTION, "prefix {n} loaded");
        }
    }
}

#[test]
fn description_lists_sent_fields_with_sizes() {
    let mut d = busy_dev();
    let desc: serde_json::Value = serde_json::from_str(&describe_saved(&mut d)).unwrap();
    assert_eq!(desc["vmsd_name"], "dev");
    assert_eq!(desc["version"], 3);
    let fields = desc["fields"].as_array().unwrap();
    let grid = fields.iter().find(|f| f["name"] == "grid").unwrap();
    assert_eq!(grid["array_len"], 6);
    assert_eq!(grid["type"], "uint16");
    assert_eq!(grid["size"], 2);
    let fifo = fields.iter().find(|f| f["name"] == "fifo").unwrap();
    assert_eq!(fifo["size"], 3);
    let chans: Vec<_> = fields.iter().filter(|f| f["name"] == "chans").collect();
    assert_eq!(chans.len(), 2);
    assert_eq!(chans[1]["index"], 1);
    assert_eq!(chans[1]["struct"]["fields"][1]["name"], "count");
    let subs = desc["subsections"].as_array().unwrap();
    assert_eq!(subs[0]["vmsd_name"], "dev/irq");
    assert_eq!(subs[1]["fields"][0]["name"], "droppable_len");
    let total: u64 = fields
        .iter()
        .map(|f| f["size"].as_u64().unwrap() * f["array_len"].as_u64().unwrap_or(1))
        .sum();
    let mut plain = Dev {
        irq_level: 0,
        stats: 0,
        ..busy_dev()
    };
    assert_eq!(
        total as usize,
        save_bytes(&mut plain).len(),
        "sizes add up to the bytes sent"
    );
}

#[test]
#[should_panic(expected = "must be named 'dev/<child>'")]
fn subsection_without_parent_prefix_is_rejected_at_build() {
    let _ = Vmsd::<Dev>::builder("dev")
        .subsection(Vmsd::builder("devirq").build(), |_| true)
        .build();
}

#[test]
#[should_panic(expected = "two fields named 'a'")]
fn duplicate_field_name_is_rejected_at_build() {
    let _ = Vmsd::<Dev>::builder("dev")
        .field("a", |s| &s.a, |s| &mut s.a)
        .field("a", |s| &s.a, |s| &mut s.a)
        .build();
}

#[test]
#[should_panic(expected = "two subsections named")]
fn duplicate_subsection_name_is_rejected_at_build() {
    let _ = Vmsd::<Dev>::builder("cpu")
        .subsection(Vmsd::builder("cpu/tlb6xx").build(), |_| true)
        .subsection(Vmsd::builder("cpu/tlb6xx").build(), |_| true)
        .build();
}
