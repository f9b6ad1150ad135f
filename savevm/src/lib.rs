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
//! # Saving and loading a machine
//! The board lists its sections (every `T: VmState` is a [`Section`]) and RAM blocks,
//! and calls [`save_file`] / [`load_file`] (or [`save_stream`] / [`load_stream`] for
//! the raw QEMU stream). RAM pages stream straight from guest memory into the zstd
//! encoder; no copy of RAM is made. Load into freshly built devices; on error throw
//! them away.
//!
//! ```no_run
//! # use savevm::*;
//! # #[derive(Default)] struct Escc { wr9: u8 }
//! # impl VmState for Escc { fn vmsd() -> &'static Vmsd<Self> {
//! #     static V: std::sync::LazyLock<Vmsd<Escc>> = std::sync::LazyLock::new(||
//! #         Vmsd::<Escc>::builder("escc").field("wr9", |s| &s.wr9, |s| &mut s.wr9).build());
//! #     &V } }
//! # fn f(ram: &mut Vec<u8>, escc: &mut Escc) -> Result<(), Box<dyn std::error::Error>> {
//! let file = std::fs::File::create("snap.zst")?;
//! save_file(
//!     std::io::BufWriter::new(file),
//!     FileOptions::default(),
//!     "g3beige",
//!     &[RamBlock { name: G3BEIGE_RAM, data: ram }],
//!     &mut [SectionRef::new("escc", 0, escc)],
//! )?;
//!
//! let mut fresh_ram = vec![0u8; ram.len()];
//! let mut fresh_escc = Escc::default();
//! let report = load_file(
//!     std::fs::File::open("snap.zst")?,
//!     "g3beige",
//!     &mut [RamBlockMut::fresh(G3BEIGE_RAM, &mut fresh_ram)],
//!     &mut [SectionRef::new("escc", 0, &mut fresh_escc)],
//! )?;
//! for w in report.warnings { eprintln!("loadvm: {w}"); }
//! # Ok(()) }
//! ```
//!
//! idstrs and instance ids are wire format, like description names. The board's RAM
//! invalidation (translated code) after a load is the board's job.
//!
//! # Schema
//! [`schema::dump`] writes every description of a machine as JSON (like QEMU's
//! `-dump-vmstate`); `savevm-check OLD.json NEW.json` reports incompatible changes.
//!
//! # Properties
//! [`props::Props::resolve`] combines registered defaults, a machine type's compat list
//! and `-global` overrides; the board copies values into device structs, where a
//! subsection's `needed` predicate may read them.
//!
//! The stream layout, the no-ambiguity rule and droppable data are in `FORMAT.md`.

pub mod error;
pub mod file;
pub mod json;
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
