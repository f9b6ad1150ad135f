//! Differential tests of beige's CPU against QEMU's user-mode emulator.
//!
//! Freestanding guest programs (`guest/cpu/`, C and assembly, no libc) and
//! RISU-style random instruction sequences ([`risu`]) are built with the
//! `powerpc-linux-gnu` cross toolchain ([`toolchain`]), then run twice: under
//! `qemu-ppc -cpu 750` ([`qemu`]) and under beige's `cpu-ppc` in user mode
//! ([`user`]: an ELF loader, a Linux-like initial stack and a syscall shim).
//! The two stdouts must be identical; [`diff`] reports the first difference.
//!
//! `bench/cpu-vs-qemu.sh` times the same binaries under both emulators.

pub mod diff;
pub mod harness;
pub mod qemu;
pub mod risu;
pub mod toolchain;
pub mod user;
