//! Typed errors. Every load error names where it happened (section, field path, stream
//! offset) and ends with what the user can do about it.

use std::io;

/// Why a snapshot could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(
        "not a snapshot: expected 'QEVM' version 3 at offset 0, found magic {magic:#010x} \
         version {version}; check that the file is a beige snapshot (decompress it first if \
         you are reading the raw stream)"
    )]
    BadMagic { magic: u32, version: u32 },

    #[error(
        "snapshot truncated at offset {offset} while reading {context}: the file is \
         incomplete (an interrupted save or copy); save the snapshot again"
    )]
    Truncated { offset: u64, context: String },

    #[error(
        "unknown section '{idstr}' instance {instance_id} at offset {offset}: the snapshot \
         was saved by a machine with other devices; load it with the same -M machine type \
         and options it was saved with"
    )]
    UnknownSection {
        idstr: String,
        instance_id: u32,
        offset: u64,
    },

    #[error(
        "section '{idstr}' instance {instance_id} is missing from the snapshot: the \
         snapshot was saved by a machine with other devices; load it with the same -M \
         machine type and options it was saved with"
    )]
    MissingSection { idstr: String, instance_id: u32 },

    #[error(
        "section '{section}' appears twice (second time at offset {offset}); the snapshot \
         is corrupt"
    )]
    DuplicateSection { section: String, offset: u64 },

    #[error(
        "'{section}' at offset {offset} is version {found}, but this build supports at most \
         version {supported}: the snapshot comes from a newer beige; load it with that \
         version or a newer one"
    )]
    VersionTooNew {
        section: String,
        offset: u64,
        found: u32,
        supported: u32,
    },

    #[error(
        "'{section}' at offset {offset} is version {found}, older than the oldest version \
         this build loads ({minimum}); load it with an older beige and save it again"
    )]
    VersionTooOld {
        section: String,
        offset: u64,
        found: u32,
        minimum: u32,
    },

    #[error(
        "unknown subsection '{name}' in '{section}' at offset {offset}: the snapshot was \
         saved by a newer beige or with other -global options; load it with a build that \
         knows this subsection, or save it again with the older machine type"
    )]
    UnknownSubsection {
        section: String,
        name: String,
        offset: u64,
    },

    #[error(
        "snapshot is for machine type '{found}' but this machine is '{expected}'; start \
         beige with -M {found} to load it"
    )]
    MachineMismatch { expected: String, found: String },

    #[error(
        "RAM block '{name}' in the snapshot is {found} bytes but this machine has {expected}; \
         start beige with the -m size the snapshot was saved with"
    )]
    RamSizeMismatch {
        name: String,
        found: u64,
        expected: u64,
    },

    #[error("{context} at offset {offset}: value {value:#x} is out of range ({rule}); the snapshot is corrupt")]
    OutOfRange {
        context: String,
        offset: u64,
        value: u64,
        rule: String,
    },

    #[error(
        "{context} at offset {offset}: expected {expected}, found {found}; the snapshot is \
         corrupt or was written by an incompatible build"
    )]
    Malformed {
        context: String,
        offset: u64,
        expected: String,
        found: String,
    },

    #[error("'{section}' rejected the loaded state: {message}; the snapshot is corrupt")]
    Invalid { section: String, message: String },

    #[error(
        "snapshot file is damaged ({0}): its zstd checksum or framing is wrong; the file \
         changed after it was saved, restore it from a good copy"
    )]
    Corrupt(io::Error),

    #[error("cannot read the snapshot: {0}")]
    Io(io::Error),
}

/// Why a snapshot could not be written.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("cannot write the snapshot: {0}; check free disk space and permissions")]
    Io(#[from] io::Error),
    #[error("two sections are both called '{idstr}' instance {instance_id}; give each device a distinct instance id")]
    DuplicateSection { idstr: String, instance_id: u32 },
}
