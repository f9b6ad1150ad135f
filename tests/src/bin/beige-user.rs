//! Run a static Linux/PowerPC executable on beige's CPU in user mode,
//! like `qemu-ppc PROGRAM`: the guest's stdout and stderr go to ours and
//! its exit code is ours. With `--stats`, prints the retired instruction
//! count, time and guest MIPS to stderr (the benchmark script reads it).

use std::io::Write;
use std::process::ExitCode;

use beige_tests::user::Process;

const USAGE: &str = "usage: beige-user [--stats] PROGRAM [ARGS...]";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let stats = args.first().is_some_and(|a| a == "--stats");
    if stats {
        args.remove(0);
    }
    let Some(path) = args.first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let file = match std::fs::read(path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("beige-user: {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = Process::load(&file, &argv).and_then(|p| p.run(u64::MAX));
    match result {
        Ok(out) => {
            let _ = std::io::stdout().write_all(&out.stdout);
            let _ = std::io::stderr().write_all(&out.stderr);
            if stats {
                let secs = out.elapsed.as_secs_f64();
                eprintln!(
                    "beige-user: {} instructions in {:.3} s = {:.1} MIPS",
                    out.instructions,
                    secs,
                    out.instructions as f64 / secs.max(1e-9) / 1e6
                );
            }
            ExitCode::from(out.exit_code as u8)
        }
        Err(e) => {
            eprintln!("beige-user: {path}: {e}");
            ExitCode::from(125)
        }
    }
}
