//! Stream tests: golden bytes, round trips, every load error, corruption.

use std::sync::LazyLock;

use super::*;
use crate::testing::demo::{DemoMachine, DemoUart};
use crate::vmsd::Vmsd;

#[derive(Debug, Default, Clone, PartialEq)]
struct Tiny {
    reg: u16,
}

impl VmState for Tiny {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Tiny>> = LazyLock::new(|| {
            Vmsd::<Tiny>::builder("tiny")
                .version(2)
                .field("reg", |s| &s.reg, |s| &mut s.reg)
                .build()
        });
        &V
    }
}

fn tiny_stream(ram: &[u8], tiny: &mut Tiny) -> Vec<u8> {
    let mut out = Vec::new();
    let blocks = [RamBlock {
        name: "r",
        data: ram,
    }];
    save_stream(&mut out, "m", &blocks, &mut [SectionRef::new("t", 0, tiny)]).unwrap();
    out
}

#[test]
fn golden_stream_of_one_page_and_one_device() {
    let mut ram = vec![0u8; 2 * PAGE_SIZE];
    ram[PAGE_SIZE] = 0xab;
    let bytes = tiny_stream(&ram, &mut Tiny { reg: 0x0102 });
    let mut want: Vec<u8> = Vec::new();
    want.extend_from_slice(b"QEVM\0\0\0\x03");
    want.extend_from_slice(&[0x07, 0, 0, 0, 1, b'm']); // configuration: len, name
    want.extend_from_slice(&[0x04, 0, 0, 0, 0, 12]); // FULL id 0 "beige-config"
    want.extend_from_slice(b"beige-config");
    want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1]); // instance 0, version 1
    want.extend_from_slice(&0x2000u64.to_be_bytes()); // ram_size
    want.extend_from_slice(&[0, 0, 0, 3, b't', b':', b'0']); // device list
    want.extend_from_slice(&[0x7e, 0, 0, 0, 0]);
    want.extend_from_slice(&[
        0x01, 0, 0, 0, 1, 3, b'r', b'a', b'm', 0, 0, 0, 0, 0, 0, 0, 4,
    ]);
    want.extend_from_slice(&(0x2000u64 | 0x04).to_be_bytes()); // MEM_SIZE
    want.extend_from_slice(&[1, b'r']);
    want.extend_from_slice(&0x2000u64.to_be_bytes());
    want.extend_from_slice(&0x10u64.to_be_bytes()); // EOS
    want.extend_from_slice(&[0x7e, 0, 0, 0, 1]);
    want.extend_from_slice(&[0x03, 0, 0, 0, 1]); // END id 1
    want.extend_from_slice(&0x02u64.to_be_bytes()); // ZERO page 0, block name, fill
    want.extend_from_slice(&[1, b'r', 0]);
    want.extend_from_slice(&(0x1000u64 | 0x08 | 0x20).to_be_bytes()); // PAGE, CONTINUE
    want.extend_from_slice(&ram[PAGE_SIZE..]);
    want.extend_from_slice(&0x10u64.to_be_bytes());
    want.extend_from_slice(&[0x7e, 0, 0, 0, 1]);
    want.extend_from_slice(&[
        0x04, 0, 0, 0, 2, 1, b't', 0, 0, 0, 0, 0, 0, 0, 2, 0x01, 0x02,
    ]);
    want.extend_from_slice(&[0x7e, 0, 0, 0, 2, 0x00, 0x06]);
    assert_eq!(&bytes[..want.len()], &want[..]);
    let json_len = u32::from_be_bytes(bytes[want.len()..want.len() + 4].try_into().unwrap());
    let json = &bytes[want.len() + 4..];
    assert_eq!(json.len(), json_len as usize);
    assert_eq!(
        std::str::from_utf8(json).unwrap(),
        r#"{"configuration": {"vmsd_name": "configuration", "version": 1, "fields": [{"name": "len", "type": "uint32", "size": 4}, {"name": "name", "type": "buffer", "size": 1}]}, "page_size": 4096, "devices": [{"name": "beige-config", "instance_id": 0, "vmsd_name": "beige-config", "version": 1, "fields": [{"name": "ram_size", "type": "uint64", "size": 8}, {"name": "devices_len", "type": "uint32", "size": 4}, {"name": "devices", "type": "buffer", "size": 3}]}, {"name": "t", "instance_id": 0, "vmsd_name": "tiny", "version": 2, "fields": [{"name": "reg", "type": "uint16", "size": 2}]}]}"#
    );
}

#[test]
fn machine_roundtrip_restores_ram_and_devices() {
    let mut m = DemoMachine::busy(64 * PAGE_SIZE);
    let mut bytes = Vec::new();
    m.save_stream(&mut bytes).unwrap();
    let mut back = DemoMachine::new(64 * PAGE_SIZE);
    let report = back.load_stream(&mut &bytes[..]).unwrap();
    assert!(report.warnings.is_empty());
    assert_eq!(back, m);
    let mut again = Vec::new();
    back.save_stream(&mut again).unwrap();
    assert_eq!(again, bytes);
}

#[test]
fn field_bytes_equal_to_markers_never_confuse_the_loader() {
    // Every byte of the UART fifo and registers is a marker value.
    let mut m = DemoMachine::new(PAGE_SIZE);
    for b in m
        .uart
        .chn
        .iter_mut()
        .flat_map(|c| c.wr.iter_mut().chain(c.rr.iter_mut()))
    {
        *b = 0x05;
    }
    m.uart.fifo_len = 5;
    m.uart.fifo = vec![0x05, 0x7e, 0x00, 0x05, 0x04];
    m.uart.irq = false;
    let mut bytes = Vec::new();
    m.save_stream(&mut bytes).unwrap();
    let mut back = DemoMachine::new(PAGE_SIZE);
    back.load_stream(&mut &bytes[..]).unwrap();
    assert_eq!(back.uart, m.uart);
}

#[test]
fn machine_type_mismatch_names_both() {
    let bytes = tiny_stream(&[0; PAGE_SIZE], &mut Tiny::default());
    let mut ram = [0u8; PAGE_SIZE];
    let mut t = Tiny::default();
    let err = load_stream(
        &mut &bytes[..],
        "mac99",
        &mut [RamBlockMut::new("r", &mut ram)],
        &mut [SectionRef::new("t", 0, &mut t)],
    )
    .unwrap_err();
    assert!(
        matches!(&err, LoadError::MachineMismatch { expected, found } if expected == "mac99" && found == "m")
    );
    assert!(err.to_string().contains("-M m"), "{err}");
}

fn load_tiny(bytes: &[u8], ram_len: usize, idstr: &'static str) -> Result<LoadReport, LoadError> {
    let mut ram = vec![0u8; ram_len];
    let mut t = Tiny::default();
    load_stream(
        &mut &bytes[..],
        "m",
        &mut [RamBlockMut::new("r", &mut ram)],
        &mut [SectionRef::new(idstr, 0, &mut t)],
    )
}

#[test]
fn unknown_section_is_an_error_naming_it() {
    let bytes = tiny_stream(&[0; PAGE_SIZE], &mut Tiny::default());
    let mut ram = vec![0u8; PAGE_SIZE];
    let err = load_stream(
        &mut &bytes[..],
        "m",
        &mut [RamBlockMut::new("r", &mut ram)],
        &mut [],
    )
    .unwrap_err();
    assert!(
        matches!(&err, LoadError::UnknownSection { idstr, .. } if idstr == "t"),
        "{err}"
    );
}

#[test]
fn missing_section_is_an_error_naming_it() {
    let bytes = tiny_stream(&[0; PAGE_SIZE], &mut Tiny::default());
    let mut ram = vec![0u8; PAGE_SIZE];
    let (mut a, mut b) = (Tiny::default(), Tiny::default());
    let err = load_stream(
        &mut &bytes[..],
        "m",
        &mut [RamBlockMut::new("r", &mut ram)],
        &mut [
            SectionRef::new("t", 0, &mut a),
            SectionRef::new("u", 0, &mut b),
        ],
    )
    .unwrap_err();
    assert!(
        matches!(&err, LoadError::MissingSection { idstr, .. } if idstr == "u"),
        "{err}"
    );
}

#[test]
fn ram_size_mismatch_is_reported_before_loading_pages() {
    let bytes = tiny_stream(&[0; 2 * PAGE_SIZE], &mut Tiny::default());
    let err = load_tiny(&bytes, PAGE_SIZE, "t").unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::RamSizeMismatch {
                found: 0x2000,
                expected: 0x1000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn section_version_newer_than_supported_is_rejected() {
    let mut bytes = tiny_stream(&[0; PAGE_SIZE], &mut Tiny::default());
    // The device section header ends with its version (2); make it 3.
    let at = bytes.windows(3).rposition(|w| w == [1, b't', 0]).unwrap() + 2 + 4;
    assert_eq!(&bytes[at..at + 4], &[0, 0, 0, 2]);
    bytes[at + 3] = 3;
    let err = load_tiny(&bytes, PAGE_SIZE, "t").unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::VersionTooNew {
                found: 3,
                supported: 2,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bad_magic_is_reported() {
    let err = load_tiny(b"QEVM\0\0\0\x02", PAGE_SIZE, "t").unwrap_err();
    assert!(
        matches!(err, LoadError::BadMagic { version: 2, .. }),
        "{err}"
    );
}

#[test]
fn section_longer_than_description_hits_the_footer_check() {
    let mut bytes = tiny_stream(&[0; PAGE_SIZE], &mut Tiny::default());
    let at = bytes.windows(3).rposition(|w| w == [1, b't', 0]).unwrap() + 2 + 8;
    bytes.insert(at + 2, 0x55); // one extra byte after "reg"
    let err = load_tiny(&bytes, PAGE_SIZE, "t").unwrap_err();
    assert!(
        matches!(&err, LoadError::Malformed { expected, .. } if expected.contains("footer")),
        "{err}"
    );
}

#[derive(Debug, Default)]
struct Extra {
    v: u32,
}

impl VmState for Extra {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Extra>> = LazyLock::new(|| {
            Vmsd::<Extra>::builder("extra")
                .field("v", |s| &s.v, |s| &mut s.v)
                .build()
        });
        &V
    }
}

#[test]
fn droppable_section_is_skipped_by_a_loader_without_it() {
    let mut ram = vec![0u8; PAGE_SIZE];
    let mut t = Tiny { reg: 7 };
    let mut e = Extra { v: 9 };
    let mut bytes = Vec::new();
    save_stream(
        &mut bytes,
        "m",
        &[RamBlock {
            name: "r",
            data: &ram,
        }],
        &mut [
            SectionRef::new("t", 0, &mut t),
            SectionRef::new("x", 0, &mut e).droppable(),
        ],
    )
    .unwrap();
    // An "older" loader that has no section x.
    let mut t2 = Tiny::default();
    let report = load_stream(
        &mut &bytes[..],
        "m",
        &mut [RamBlockMut::new("r", &mut ram)],
        &mut [SectionRef::new("t", 0, &mut t2)],
    )
    .unwrap();
    assert_eq!(t2.reg, 7);
    assert_eq!(report.warnings.len(), 1);
    assert!(report.warnings[0].contains("'x'"), "{:?}", report.warnings);
    // A loader that knows x loads it.
    let (mut t3, mut e3) = (Tiny::default(), Extra::default());
    load_stream(
        &mut &bytes[..],
        "m",
        &mut [RamBlockMut::new("r", &mut ram)],
        &mut [
            SectionRef::new("t", 0, &mut t3),
            SectionRef::new("x", 0, &mut e3).droppable(),
        ],
    )
    .unwrap();
    assert_eq!(e3.v, 9);
}

#[test]
fn droppable_section_may_be_absent() {
    let bytes = tiny_stream(&[0; PAGE_SIZE], &mut Tiny { reg: 1 });
    let mut ram = vec![0u8; PAGE_SIZE];
    let (mut t, mut e) = (Tiny::default(), Extra { v: 3 });
    let report = load_stream(
        &mut &bytes[..],
        "m",
        &mut [RamBlockMut::new("r", &mut ram)],
        &mut [
            SectionRef::new("t", 0, &mut t),
            SectionRef::new("x", 0, &mut e).droppable(),
        ],
    )
    .unwrap();
    assert!(report.warnings.is_empty());
    assert_eq!(e.v, 3, "an absent droppable section keeps its reset state");
}

#[test]
fn duplicate_section_ids_are_refused_at_save() {
    let (mut a, mut b) = (Tiny::default(), Tiny::default());
    let err = save_stream(
        &mut Vec::new(),
        "m",
        &[],
        &mut [
            SectionRef::new("t", 0, &mut a),
            SectionRef::new("t", 0, &mut b),
        ],
    )
    .unwrap_err();
    assert!(matches!(err, SaveError::DuplicateSection { .. }));
}

#[test]
fn every_truncation_of_a_stream_is_an_error() {
    let mut m = DemoMachine::busy(4 * PAGE_SIZE);
    let mut bytes = Vec::new();
    m.save_stream(&mut bytes).unwrap();
    // Cutting inside the VMDESCRIPTION JSON or before it is always detected: the
    // trailer length says how much must follow.
    for n in 0..bytes.len() {
        let mut back = DemoMachine::new(4 * PAGE_SIZE);
        assert!(
            back.load_stream(&mut &bytes[..n]).is_err(),
            "prefix {n} of {} loaded",
            bytes.len()
        );
    }
}

/// xorshift: deterministic, no dependency.
fn rng(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

#[test]
fn random_bit_flips_in_a_stream_never_panic() {
    let mut m = DemoMachine::busy(4 * PAGE_SIZE);
    let mut bytes = Vec::new();
    m.save_stream(&mut bytes).unwrap();
    let mut seed = 0x9e37_79b9_7f4a_7c15;
    let mut errors = 0;
    for _ in 0..3000 {
        let mut c = bytes.clone();
        for _ in 0..1 + rng(&mut seed) % 3 {
            let bit = rng(&mut seed) as usize % (c.len() * 8);
            c[bit / 8] ^= 1 << (bit % 8);
        }
        let mut back = DemoMachine::new(4 * PAGE_SIZE);
        // Flips inside RAM pages or register values are valid streams; the rest
        // must be errors. Either way: no panic, no hang.
        if back.load_stream(&mut &c[..]).is_err() {
            errors += 1;
        }
    }
    assert!(
        errors > 100,
        "only {errors} of 3000 corruptions were noticed"
    );
}

#[test]
fn every_truncation_and_damaging_bit_flip_of_a_file_is_an_error() {
    let mut m = DemoMachine::busy(16 * PAGE_SIZE);
    let file = m
        .save_file(Vec::new(), crate::file::FileOptions::default())
        .unwrap();
    for n in 0..file.len() {
        let mut back = DemoMachine::new(16 * PAGE_SIZE);
        assert!(
            back.load_file(&file[..n]).is_err(),
            "prefix {n} of {} loaded",
            file.len()
        );
    }
    let mut seed = 0x2545_f491_4f6c_dd1d;
    for _ in 0..2000 {
        let mut c = file.clone();
        let bit = rng(&mut seed) as usize % (c.len() * 8);
        c[bit / 8] ^= 1 << (bit % 8);
        let mut back = DemoMachine::new(16 * PAGE_SIZE);
        // A few zstd bits are redundant (the frame still decodes to the same bytes,
        // which the checksum confirms); then the load must give exactly the original.
        if back.load_file(&c[..]).is_ok() {
            assert_eq!(back, m, "flip of bit {bit} loaded different state");
        }
    }
}

#[test]
fn checksum_damage_is_reported_as_corrupt() {
    let mut m = DemoMachine::busy(16 * PAGE_SIZE);
    let mut file = m
        .save_file(Vec::new(), crate::file::FileOptions::default())
        .unwrap();
    let last = file.len() - 1; // the last byte is part of the XXH64 content checksum
    file[last] ^= 0x40;
    let mut back = DemoMachine::new(16 * PAGE_SIZE);
    let err = back.load_file(&file[..]).unwrap_err();
    assert!(matches!(err, LoadError::Corrupt(_)), "{err:?}");
}

#[test]
fn file_decompresses_to_the_stream() {
    let mut m = DemoMachine::busy(16 * PAGE_SIZE);
    let mut stream = Vec::new();
    m.save_stream(&mut stream).unwrap();
    let file = m
        .save_file(Vec::new(), crate::file::FileOptions::default())
        .unwrap();
    assert_eq!(zstd::stream::decode_all(&file[..]).unwrap(), stream);
    let mut back = DemoMachine::new(16 * PAGE_SIZE);
    back.load_file(&file[..]).unwrap();
    assert_eq!(back, m);
}

#[test]
fn demo_devices_roundtrip() {
    let m = DemoMachine::busy(PAGE_SIZE);
    crate::testing::assert_roundtrip(&mut m.cpu.clone());
    crate::testing::assert_mutated_roundtrip(&mut DemoUart::default(), |u| u.irq = true);
}

#[test]
fn fresh_ram_load_matches_plain_load() {
    let mut m = DemoMachine::busy(32 * PAGE_SIZE);
    let file = m
        .save_file(Vec::new(), crate::file::FileOptions::default())
        .unwrap();
    let mut a = DemoMachine::new(32 * PAGE_SIZE);
    a.load_file_fresh(&file[..]).unwrap();
    assert_eq!(a, m);
}

#[test]
fn zero_record_after_page_record_clears_the_page_even_on_fresh_ram() {
    // A stream may send a page twice (QEMU's precopy does); the last record wins.
    let mut rec = Vec::new();
    rec.extend_from_slice(&RAM_FLAG_PAGE.to_be_bytes());
    rec.extend_from_slice(&[1, b'r']);
    rec.extend_from_slice(&[0xaa; PAGE_SIZE]);
    rec.extend_from_slice(&(RAM_FLAG_ZERO | RAM_FLAG_CONTINUE).to_be_bytes());
    rec.push(0);
    rec.extend_from_slice(&RAM_FLAG_EOS.to_be_bytes());
    for known_zero in [false, true] {
        let mut data = vec![0u8; PAGE_SIZE];
        let mut blocks = [RamBlockMut {
            name: "r",
            data: &mut data,
            known_zero,
        }];
        let mut written = vec![vec![0u64; 1]];
        let mut src = &rec[..];
        load_ram(&mut Reader::new(&mut src), &mut blocks, &mut written).unwrap();
        assert!(data.iter().all(|&b| b == 0), "known_zero={known_zero}");
    }
}

#[test]
fn stream_without_beige_config_is_rejected() {
    let mut bytes = tiny_stream(&[0; PAGE_SIZE], &mut Tiny::default());
    // Cut the whole beige-config section (header to footer) out.
    let start = 8 + 6; // after header and configuration
    let end = bytes
        .windows(5)
        .position(|w| w == [0x7e, 0, 0, 0, 0])
        .unwrap()
        + 5;
    bytes.drain(start..end);
    let err = load_tiny(&bytes, PAGE_SIZE, "t").unwrap_err();
    assert!(
        matches!(&err, LoadError::MissingSection { idstr, .. } if idstr == BEIGE_CONFIG),
        "{err}"
    );
}

#[test]
fn ram_total_mismatch_in_mem_size_record_is_reported() {
    let mut bytes = tiny_stream(&[0; PAGE_SIZE], &mut Tiny::default());
    // beige-config says 0x1000 (matching); the RAM section's MEM_SIZE record lies.
    let mem = (0x1000u64 | RAM_FLAG_MEM_SIZE).to_be_bytes();
    let at = bytes.windows(8).position(|w| w == mem).unwrap();
    bytes[at..at + 8].copy_from_slice(&(0x2000u64 | RAM_FLAG_MEM_SIZE).to_be_bytes());
    let err = load_tiny(&bytes, PAGE_SIZE, "t").unwrap_err();
    assert!(
        matches!(err, LoadError::RamSizeMismatch { found: 0x2000, .. }),
        "{err}"
    );
}
