//! Versioned device-state descriptions, QEMU-compatible migration streams and zstd
//! snapshot files.
//!
//! # Describing a device
//! ```
//! use std::sync::LazyLock;
//! use savevm::{Vmsd, VmState};
//!
//! #[derive(Default)]
//! struct Escc { wr9: u8, regs: [u32; 4], irq_pending: bool }
//!
//! impl VmState for Escc {
//!     fn vmsd() -> &'static Vmsd<Self> {
//!         static V: LazyLock<Vmsd<Escc>> = LazyLock::new(|| {
//!             Vmsd::<Escc>::builder("escc")
//!                 .version(2)
//!                 .minimum_version(1)
//!                 .field("wr9", |s| &s.wr9, |s| &mut s.wr9)
//!                 .field_since(2, "regs", |s| &s.regs, |s| &mut s.regs)
//!                 .subsection(
//!                     Vmsd::builder("escc/irq")
//!                         .field("pending", |s: &Escc| &s.irq_pending, |s| &mut s.irq_pending)
//!                         .build(),
//!                     |s| s.irq_pending,
//!                 )
//!                 .pre_load(|s| s.irq_pending = false)
//!                 .post_load(|s, _version| {
//!                     if s.wr9 & 0x01 != 0 { return Err("WR9 bit 0 is reserved".into()); }
//!                     Ok(())
//!                 })
//!                 .build()
//!         });
//!         &V
//!     }
//! }
//!
//! let mut dev = Escc { wr9: 0xc0, ..Default::default() };
//! savevm::testing::assert_roundtrip(&mut dev);
//! ```
//!
//! # Properties
//! [`props::Props::resolve`] combines registered defaults, a machine type's compat list
//! and `-global` overrides; the board copies values into device structs, where a
//! subsection's `needed` predicate may read them.
//!
//! The stream layout, the no-ambiguity rule and droppable data are in `FORMAT.md`.

pub mod error;
pub mod file;
mod json;
pub mod props;
#[cfg(test)]
mod proptests;
pub mod schema;
pub mod stream;
pub mod testing;
pub mod vmsd;
pub mod wire;

pub use error::{LoadError, SaveError};
pub use file::{load_file, save_file, FileOptions};
pub use props::{CompatProp, PropDef, PropError, PropType, PropValue, Props};
pub use stream::{
    load_stream, save_stream, LoadReport, RamBlock, RamBlockMut, Section, SectionRef, G3BEIGE_RAM,
};
pub use vmsd::{
    describe_saved, load_bytes, load_bytes_version, save_bytes, Describe, FieldInfo, FieldKind,
    FieldType, Prim, Shape, VmState, Vmsd, VmsdBuilder,
};
pub use wire::Reader;
