//! PowerPC 750 interpreter.

pub mod fpu;
pub mod mmu;
