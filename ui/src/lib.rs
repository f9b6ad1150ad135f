//! The `beige` command: a Power Macintosh G3 (Beige) emulator driven by
//! QEMU's command line.
//!
//! - `cli`: QEMU-spelled options (one or two dashes) into a validated `Config`;
//! - `firmware`: finding OpenBIOS and checking it is a PowerPC ELF;
//! - `vm`: the trait the UI needs from a machine; `glue`: the real machine;
//! - `session`: the VM thread and host I/O threads; `chardev`, `mux`, `term`:
//!   serial/monitor backends, the Ctrl-A multiplexer, the raw terminal;
//! - `monitor`: HMP commands; `snapshot`: savevm/loadvm files;
//! - `logging`: `-d` categories as tracing targets;
//! - `window`: the guest screen in a winit + softbuffer window.

pub mod chardev;
pub mod cli;
pub mod firmware;
pub mod glue;
pub mod logging;
pub mod monitor;
pub mod mux;
pub mod none_machine;
pub mod screendump;
pub mod session;
pub mod snapshot;
pub mod term;
#[cfg(test)]
mod testutil;
pub mod vm;
pub mod window;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use cli::{Action, Config, HostEnv, ParseError};
use monitor::VmHost;
use session::{ExitReason, Options, StdIo};
use snapshot::SnapshotDir;

/// The host facts `cli` needs, read from the real environment.
pub fn host_env() -> HostEnv {
    let now_unix = monitor::unix_now();
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(Into::into)
    };
    HostEnv {
        now_unix,
        local_offset_s: term::local_utc_offset(now_unix),
        firmware_env_dir: var("BEIGE_FIRMWARE_DIR"),
        system_firmware: firmware::system_dirs(),
        xdg_data_home: var("XDG_DATA_HOME"),
        home: var("HOME"),
    }
}

/// The whole program; returns the process exit status.
pub fn run_main(args: Vec<OsString>) -> i32 {
    let cfg = match cli::parse(&args, &host_env()) {
        Ok(Action::Run(cfg)) => cfg,
        Ok(Action::Print(text)) => {
            print!("{text}");
            return 0;
        }
        Err(ParseError::Clap(e)) => {
            let _ = e.print();
            return e.exit_code();
        }
        Err(ParseError::Cli(e)) => {
            eprintln!("beige: {e}");
            return 1;
        }
    };
    match run_config(&cfg) {
        Ok(code) => code,
        Err(msg) => {
            term::restore();
            eprintln!("beige: {msg}");
            1
        }
    }
}

fn run_config(cfg: &Config) -> Result<i32, String> {
    logging::init(&cfg.log, cfg.log_file.as_deref())?;
    let vm: Box<dyn vm::Vm> = if cfg.machine.name == none_machine::NAME {
        Box::new(none_machine::NoneVm::new())
    } else {
        glue::build_vm(cfg).map_err(|e| e.to_string())?
    };
    if let Some(path) = &cfg.dump_vmstate {
        let mut f = std::fs::File::create(path)
            .map_err(|e| format!("-dump-vmstate {}: {e}", path.display()))?;
        vm.dump_vmstate(&mut f)
            .map_err(|e| format!("-dump-vmstate {}: {e}", path.display()))?;
        f.flush().map_err(|e| e.to_string())?;
        return Ok(0);
    }
    let mut host = VmHost::new(vm, SnapshotDir::new(&cfg.snapshot_dir));
    if let Some(tag) = &cfg.loadvm {
        host.snapshots
            .load(tag, host.vm.as_mut())
            .map_err(|e| format!("-loadvm: {e}"))?;
    }
    host.running = !cfg.start_stopped;
    let stdio_used = cfg.serial.iter().any(|s| s.uses_stdio()) || cfg.monitor.uses_stdio();
    let raw = if stdio_used {
        Some(term::RawGuard::enter().map_err(|e| format!("terminal: {e}"))?)
    } else {
        None
    };
    term::install_signal_handlers();
    let io = StdIo {
        stdin: Box::new(std::io::stdin()),
        stdout: Box::new(std::io::stdout()),
        echo: raw.as_ref().is_some_and(|r| r.is_raw()) || std::io::stdin().is_terminal(),
    };
    let opts = Options {
        serial: cfg.serial.clone(),
        monitor: cfg.monitor.clone(),
        pacing: cfg.pacing,
        no_reboot: cfg.no_reboot,
        display: None,
    };
    let reason = if cfg.display == cli::DisplayKind::Window {
        window::run(host, opts, io)
    } else {
        session::run(host, opts, io)
    };
    drop(raw);
    match reason? {
        ExitReason::PowerOff | ExitReason::Quit | ExitReason::Reset => Ok(0),
        ExitReason::Signal(sig) => {
            eprintln!("beige: terminating on signal {sig}");
            Ok(0)
        }
    }
}
