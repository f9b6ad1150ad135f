//! Property tests: random descriptions with random values, and random machines,
//! round-trip byte-identically.

use proptest::prelude::*;

use crate::vmsd::Vmsd;
use crate::wire::Reader;

/// Storage for a randomly described struct: one vector per field type.
#[derive(Debug, Default, Clone, PartialEq)]
struct Dyn {
    u8s: Vec<u8>,
    u16s: Vec<u16>,
    u32s: Vec<u32>,
    u64s: Vec<u64>,
    i32s: Vec<i32>,
    i64s: Vec<i64>,
    bools: Vec<bool>,
    f64s: Vec<u64>, // bit patterns, so NaN payloads compare exactly
    arrs: Vec<[[u16; 3]; 2]>,
    bufs: Vec<Vec<u8>>,
    /// For each buffer, the u8 slot holding its length.
    buf_len_slot: Vec<usize>,
    needed: Vec<bool>,
}

#[derive(Debug, Clone, Copy)]
enum K {
    U8,
    U16,
    U32,
    U64,
    I32,
    I64,
    Bool,
    F64,
    Arr,
    Buf,
    Unused(usize),
}

fn kind() -> impl Strategy<Value = K> {
    prop_oneof![
        Just(K::U8),
        Just(K::U16),
        Just(K::U32),
        Just(K::U64),
        Just(K::I32),
        Just(K::I64),
        Just(K::Bool),
        Just(K::F64),
        Just(K::Arr),
        Just(K::Buf),
        (0usize..5).prop_map(K::Unused),
    ]
}

const BUF_MAX: usize = 40;

/// Adds fields for `kinds` to `b`, allocating storage slots in `shape`.
fn add_fields(
    mut b: crate::VmsdBuilder<Dyn>,
    kinds: &[K],
    shape: &mut Dyn,
) -> crate::VmsdBuilder<Dyn> {
    let names: &'static [&'static str] = &[
        "f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "f12", "f13",
        "f14", "f15",
    ];
    for (n, k) in kinds.iter().enumerate() {
        let name = names[n];
        b = match *k {
            K::U8 => {
                let i = shape.u8s.len();
                shape.u8s.push(0);
                b.field(name, move |s| &s.u8s[i], move |s| &mut s.u8s[i])
            }
            K::U16 => {
                let i = shape.u16s.len();
                shape.u16s.push(0);
                b.field(name, move |s| &s.u16s[i], move |s| &mut s.u16s[i])
            }
            K::U32 => {
                let i = shape.u32s.len();
                shape.u32s.push(0);
                b.field(name, move |s| &s.u32s[i], move |s| &mut s.u32s[i])
            }
            K::U64 => {
                let i = shape.u64s.len();
                shape.u64s.push(0);
                b.field(name, move |s| &s.u64s[i], move |s| &mut s.u64s[i])
            }
            K::I32 => {
                let i = shape.i32s.len();
                shape.i32s.push(0);
                b.field(name, move |s| &s.i32s[i], move |s| &mut s.i32s[i])
            }
            K::I64 => {
                let i = shape.i64s.len();
                shape.i64s.push(0);
                b.field(name, move |s| &s.i64s[i], move |s| &mut s.i64s[i])
            }
            K::Bool => {
                let i = shape.bools.len();
                shape.bools.push(false);
                b.field(name, move |s| &s.bools[i], move |s| &mut s.bools[i])
            }
            K::F64 => {
                let i = shape.f64s.len();
                shape.f64s.push(0);
                // Stored as bits, described as a u64-sized f64 via a bit-exact cast.
                b.field(name, move |s| &s.f64s[i], move |s| &mut s.f64s[i])
            }
            K::Arr => {
                let i = shape.arrs.len();
                shape.arrs.push([[0; 3]; 2]);
                b.field(name, move |s| &s.arrs[i], move |s| &mut s.arrs[i])
            }
            K::Buf => {
                let i = shape.bufs.len();
                shape.bufs.push(Vec::new());
                // The length is a u8 field written just before the buffer.
                let j = shape.u8s.len();
                shape.u8s.push(0);
                shape.buf_len_slot.push(j);
                let len_names: &'static [&'static str] = &[
                    "l0", "l1", "l2", "l3", "l4", "l5", "l6", "l7", "l8", "l9", "l10", "l11",
                    "l12", "l13", "l14", "l15",
                ];
                let buf_names: &'static [&'static str] = &[
                    "b0", "b1", "b2", "b3", "b4", "b5", "b6", "b7", "b8", "b9", "b10", "b11",
                    "b12", "b13", "b14", "b15",
                ];
                b.field(len_names[n], move |s| &s.u8s[j], move |s| &mut s.u8s[j])
                    .vbuffer(
                        buf_names[n],
                        move |s| s.u8s[j] as usize,
                        BUF_MAX,
                        move |s| &s.bufs[i],
                        move |s| &mut s.bufs[i],
                    )
            }
            K::Unused(len) => b.unused(len),
        };
    }
    b
}

fn build(top: &[K], subs: &[Vec<K>]) -> (Vmsd<Dyn>, Dyn) {
    let mut shape = Dyn::default();
    let mut b = add_fields(Vmsd::<Dyn>::builder("rand").version(3), top, &mut shape);
    let sub_names: &'static [&'static str] = &["rand/s0", "rand/s1", "rand/s2"];
    for (k, kinds) in subs.iter().enumerate() {
        let sb = add_fields(Vmsd::<Dyn>::builder(sub_names[k]), kinds, &mut shape);
        shape.needed.push(false);
        let needed = move |s: &Dyn| s.needed[k];
        b = if k % 2 == 0 {
            b.subsection(sb.build(), needed)
        } else {
            b.droppable_subsection(sb.build(), needed)
        };
    }
    (b.build(), shape)
}

/// Fills every slot from a seed; buffers get their length from their u8 slot.
fn fill(mut d: Dyn, seed: u64) -> Dyn {
    let mut x = seed | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    d.u8s.iter_mut().for_each(|v| *v = next() as u8);
    d.u16s.iter_mut().for_each(|v| *v = next() as u16);
    d.u32s.iter_mut().for_each(|v| *v = next() as u32);
    d.u64s.iter_mut().for_each(|v| *v = next());
    d.i32s.iter_mut().for_each(|v| *v = next() as i32);
    d.i64s.iter_mut().for_each(|v| *v = next() as i64);
    d.bools.iter_mut().for_each(|v| *v = next() & 1 == 1);
    d.f64s.iter_mut().for_each(|v| *v = next());
    d.arrs
        .iter_mut()
        .flatten()
        .flatten()
        .for_each(|v| *v = next() as u16);
    d.needed.iter_mut().for_each(|v| *v = next() & 1 == 1);
    // Devices keep their buffer lengths within bounds; so does this state.
    for (i, &j) in d.buf_len_slot.clone().iter().enumerate() {
        d.u8s[j] %= BUF_MAX as u8 + 1;
        d.bufs[i] = (0..d.u8s[j]).map(|_| next() as u8).collect();
    }
    d
}

fn save(v: &Vmsd<Dyn>, d: &mut Dyn) -> Vec<u8> {
    let mut out = Vec::new();
    v.save_state(d, &mut out, None);
    out
}

fn load(v: &Vmsd<Dyn>, d: &mut Dyn, bytes: &[u8]) -> Result<(), crate::LoadError> {
    let mut src = bytes;
    let mut r = Reader::new(&mut src);
    assert!(v.load_state(d, &mut r, v.version())?.is_none());
    assert_eq!(r.peek()?, None, "all bytes consumed");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn random_description_roundtrips_byte_identically(
        top in proptest::collection::vec(kind(), 0..8),
        subs in proptest::collection::vec(proptest::collection::vec(kind(), 0..4), 0..3),
        seed in any::<u64>(),
    ) {
        let (v, shape) = build(&top, &subs);
        let mut d = fill(shape.clone(), seed);
        let first = save(&v, &mut d);
        let mut back = shape.clone();
        back.needed = d.needed.clone();
        load(&v, &mut back, &first).unwrap();
        let second = save(&v, &mut back);
        prop_assert_eq!(&first, &second);
    }

    #[test]
    fn random_machine_roundtrips_byte_identically(
        pages in proptest::collection::vec((0usize..32, any::<u8>(), any::<u8>()), 0..20),
        gpr in proptest::array::uniform32(any::<u32>()),
        fifo in proptest::collection::vec(any::<u8>(), 0..=64),
        pending in any::<u32>(),
        irq in any::<bool>(),
    ) {
        let mut m = crate::testing::demo::DemoMachine::new(32 * 4096);
        for (p, off, val) in pages {
            m.ram[p * 4096 + off as usize * 16] = val;
        }
        m.cpu.gpr = gpr;
        m.cpu.pending = pending;
        m.uart.fifo_len = fifo.len() as u8;
        m.uart.fifo = fifo;
        m.uart.irq = irq;
        let mut first = Vec::new();
        m.save_stream(&mut first).unwrap();
        let mut back = crate::testing::demo::DemoMachine::new(32 * 4096);
        back.load_stream(&mut &first[..]).unwrap();
        prop_assert_eq!(&back, &m);
        let mut second = Vec::new();
        back.save_stream(&mut second).unwrap();
        prop_assert_eq!(first, second);
    }
}
