//! One-shot timing of the benchmark guest (256 MiB, 40 MiB non-zero), printing wall
//! and process CPU time, so numbers on a busy machine can be read both ways:
//!
//! ```text
//! cargo run --release -p savevm --example snapshot_timing [LEVEL] [THREADS] [DUMP_STREAM_PATH]
//! ```

use std::time::Instant;

use savevm::testing::demo::DemoMachine;
use savevm::FileOptions;

fn cpu_seconds() -> f64 {
    // User + system time of every thread of the process, zstd workers included.
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a rusage into the pointer we pass, which is valid and
    // sized for it; RUSAGE_SELF cannot fail.
    #[allow(unsafe_code)]
    let ru = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr());
        ru.assume_init()
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let level = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(FileOptions::default().level);
    let threads = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(FileOptions::default().threads);
    let opts = FileOptions { level, threads };
    let mut m = DemoMachine::guest_like(256 << 20, 40 << 20, 0x1234_5678_9abc_def1);
    if let Some(path) = args.get(3) {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        m.save_stream(&mut f).unwrap();
    }
    for _ in 0..2 {
        let (t, c) = (Instant::now(), cpu_seconds());
        m.save_stream(&mut std::io::sink()).unwrap();
        println!(
            "stream to sink (no compression): {:.3} s wall {:.2} s cpu",
            t.elapsed().as_secs_f64(),
            cpu_seconds() - c
        );
    }
    for round in 0..5 {
        let (t, c) = (Instant::now(), cpu_seconds());
        let file = m.save_file(Vec::with_capacity(32 << 20), opts).unwrap();
        let (save_wall, save_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        let mut fresh = DemoMachine::new(256 << 20);
        let (t, c) = (Instant::now(), cpu_seconds());
        fresh.load_file_fresh(&file[..]).unwrap();
        let (load_wall, load_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
        assert!(fresh == m);
        println!(
            "round {round}: level {level} threads {threads}: file {:.2} MB, save {:.3} s wall {:.2} s cpu, load {:.3} s wall {:.2} s cpu",
            file.len() as f64 / 1e6,
            save_wall,
            save_cpu,
            load_wall,
            load_cpu
        );
    }
}
