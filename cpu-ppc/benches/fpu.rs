//! FPU throughput: the dispatching entry point (host fast path where it applies)
//! against the exact integer path alone, on operands typical of real FP code.
//!
//! Run: `cargo bench -p cpu-ppc --bench fpu`.

use cpu_ppc::fpu::{self, FpOp};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};

/// Operands of ordinary magnitude, as in numeric loops; half single-precision.
fn operands(n: usize) -> Vec<(u64, u64, u64)> {
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    (0..n)
        .map(|i| {
            let mut v = || {
                let r = next();
                let exp = 1023 - 20 + (r % 41);
                let mut frac = next() & ((1 << 52) - 1);
                if i % 2 == 0 {
                    frac &= !((1 << 29) - 1);
                }
                (r & (1 << 63)) | (exp << 52) | frac
            };
            (v(), v(), v())
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let ops = operands(1024);
    let mut g = c.benchmark_group("fpu");
    g.throughput(Throughput::Elements(ops.len() as u64));
    for op in [
        FpOp::Fadd,
        FpOp::Fmul,
        FpOp::Fdiv,
        FpOp::Fmadd,
        FpOp::Fadds,
        FpOp::Fmuls,
        FpOp::Fdivs,
        FpOp::Fmadds,
    ] {
        g.bench_function(format!("{op:?}/dispatch"), |bch| {
            bch.iter(|| {
                let mut f = 0u32;
                for &(a, b, c) in &ops {
                    black_box(fpu::arith_outcome(op, &mut f, a, b, c));
                }
                f
            })
        });
        g.bench_function(format!("{op:?}/exact"), |bch| {
            bch.iter(|| {
                let mut f = 0u32;
                for &(a, b, c) in &ops {
                    black_box(fpu::arith_outcome_exact(op, &mut f, a, b, c));
                }
                f
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
