//! The Power Macintosh G3 (Beige) board, as QEMU's `g3beige`.

pub mod adb;
pub mod board;
pub mod cuda;
pub mod dbdma;
pub mod display;
pub mod elf;
pub mod escc;
pub mod fw_cfg;
pub mod grackle;
pub mod heathrow_pic;
pub mod ide;
pub mod machine;
pub mod nvram;
pub mod pci;
pub mod schema;
pub mod screamer;
pub mod vga;
pub mod via;

pub use machine::{
    find_machine_type, Machine, MachineConfig, MachineError, RunExit, SnapshotError, MACHINE_TYPES,
};
