//! ===================== THE SEAM TO THE REAL MACHINE =====================
//! The only file where the UI meets `machine-g3beige`. The lead wires it:
//! `machine_types` should come from the machine crate's list of versioned
//! types, and `build_vm` should build the machine from `Config` and return it
//! behind the `Vm` trait (see `vm.rs` for each method's contract).
//! Until then `build_vm` fails with a clear message.

use crate::cli::Config;
use crate::vm::Vm;

/// One entry of `-M help`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineType {
    pub name: &'static str,
    pub description: &'static str,
    /// For an alias (`g3beige`): the versioned type it stands for.
    pub alias_of: Option<&'static str>,
    pub is_default: bool,
    /// RAM limit in MiB (g3beige: 2047, as QEMU's mac_oldworld).
    pub max_ram_mib: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GlueError {
    #[error(
        "machine not yet wired: this build of beige has its command line, monitor and \
         snapshots but no machine behind them (ui/src/glue.rs::build_vm)"
    )]
    NotWired,
    #[error("{0}")]
    Machine(String),
}

/// Machine types `-M` accepts. Replace with the machine crate's table.
pub fn machine_types() -> Vec<MachineType> {
    vec![
        MachineType {
            name: "g3beige",
            description: "Heathrow based PowerMAC",
            alias_of: Some("g3beige-1.1"),
            is_default: true,
            max_ram_mib: 2047,
        },
        MachineType {
            name: "g3beige-1.1",
            description: "Heathrow based PowerMAC (migrates CPU interrupt state)",
            alias_of: None,
            is_default: false,
            max_ram_mib: 2047,
        },
        MachineType {
            name: "g3beige-1.0",
            description: "Heathrow based PowerMAC (cpu.migrate-irq-state=off)",
            alias_of: None,
            is_default: false,
            max_ram_mib: 2047,
        },
    ]
}

/// The text of `-M help`, laid out as QEMU's.
pub fn machine_help() -> String {
    let mut s = String::from("Supported machines are:\n");
    for t in machine_types() {
        let mut d = t.description.to_string();
        if let Some(a) = t.alias_of {
            d = format!("{d} (alias of {a})");
        }
        if t.is_default {
            d += " (default)";
        }
        s += &format!("{:<20} {d}\n", t.name);
    }
    s
}

/// Build the machine for `cfg`. `cfg.firmware` is already found and checked
/// to be a big-endian PowerPC ELF; `cfg.machine.name` is one of
/// `machine_types()` (possibly the alias); `cfg.globals` are unvalidated
/// `-global` properties the machine must accept or refuse by name.
pub fn build_vm(cfg: &Config) -> Result<Box<dyn Vm>, GlueError> {
    let _ = cfg;
    Err(GlueError::NotWired)
}
