//! Running a guest program under QEMU's user-mode emulator, the reference.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use thiserror::Error;

/// The CPU model to emulate: the 750 of the Beige G3.
pub const QEMU_CPU: &str = "750";

#[derive(Debug, Error)]
pub enum QemuError {
    #[error("could not start {qemu}: {source}")]
    Spawn {
        qemu: String,
        source: std::io::Error,
    },
    #[error("qemu-ppc ran {program} for more than {secs} s; killed")]
    Timeout { program: String, secs: u64 },
    #[error("waiting for qemu-ppc: {0}")]
    Wait(std::io::Error),
}

/// What a program did under an emulator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    /// Exit status, or `None` when killed by a signal.
    pub exit_code: Option<i32>,
    pub elapsed: Duration,
}

/// Run `program` under `qemu` with `-cpu 750`, with a time limit.
pub fn run(qemu: &Path, program: &Path, timeout: Duration) -> Result<Outcome, QemuError> {
    let start = Instant::now();
    let mut child = Command::new(qemu)
        .arg("-cpu")
        .arg(QEMU_CPU)
        .arg(program)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| QemuError::Spawn {
            qemu: qemu.display().to_string(),
            source,
        })?;
    // Drain stdout on a thread so a chatty program cannot block on the pipe.
    let mut pipe = child.stdout.take();
    let reader = thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(p) = pipe.as_mut() {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().map_err(QemuError::Wait)? {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(QemuError::Timeout {
                program: program.display().to_string(),
                secs: timeout.as_secs(),
            });
        }
        thread::sleep(Duration::from_millis(2));
    };
    let elapsed = start.elapsed();
    let stdout = reader.join().unwrap_or_default();
    Ok(Outcome {
        stdout,
        exit_code: status.code(),
        elapsed,
    })
}
