//! Save and load a 256 MiB guest with 40 MiB of non-zero pages plus ~4.5 KB of
//! device state, through the zstd snapshot file (the targets: save <= 0.25 s,
//! load <= 0.15 s, file <= 15 MB).
//!
//! The guest comes from `DemoMachine::guest_like`, whose pages compress about as well
//! as QEMU's reference guest (41.7 MB raw -> 15.2 MB with zstd -3).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use savevm::testing::demo::DemoMachine;
use savevm::FileOptions;

const RAM: usize = 256 << 20;
const NONZERO: usize = 40 << 20;

fn guest() -> DemoMachine {
    DemoMachine::guest_like(RAM, NONZERO, 0x1234_5678_9abc_def1)
}

fn bench(c: &mut Criterion) {
    let mut m = guest();
    let opts = FileOptions::default();
    let file = m.save_file(Vec::with_capacity(64 << 20), opts).unwrap();
    let mut stream = Vec::new();
    m.save_stream(&mut stream).unwrap();
    eprintln!(
        "snapshot: stream {:.1} MB, file {:.2} MB (zstd level {}, {} threads)",
        stream.len() as f64 / 1e6,
        file.len() as f64 / 1e6,
        opts.level,
        opts.threads
    );
    drop(stream);

    let mut g = c.benchmark_group("snapshot_256MiB_40MiB_nonzero");
    g.sample_size(10);
    g.bench_function("save_file", |b| {
        b.iter(|| black_box(m.save_file(Vec::with_capacity(32 << 20), opts).unwrap()))
    });
    g.bench_function("load_file_into_fresh_machine", |b| {
        b.iter_batched(
            || DemoMachine::new(RAM),
            |mut fresh| {
                fresh.load_file_fresh(&file[..]).unwrap();
                fresh
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("save_stream_uncompressed", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(48 << 20);
            m.save_stream(&mut out).unwrap();
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
