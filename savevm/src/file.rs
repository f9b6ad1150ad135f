//! Snapshot files: one zstd frame (content checksum on) over the QEVM stream, so
//! `zstd -d snap.zst` yields a stream `analyze-migration.py` parses. Compression is
//! streaming and multi-threaded; RAM pages go from guest memory into the encoder.

use std::io::{self, BufReader, BufWriter, Read, Write};

use crate::error::{LoadError, SaveError};
use crate::stream::{load_stream, save_stream, LoadReport, RamBlock, RamBlockMut, SectionRef};

/// How to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOptions {
    /// zstd level. 3 (the default) keeps the benchmark guest under 15 MB; 1 needs
    /// about 45% less CPU for about 12% more bytes (see the bench and README numbers).
    pub level: i32,
    /// zstd worker threads (0 = compress on the calling thread).
    pub threads: u32,
}

impl Default for FileOptions {
    fn default() -> Self {
        FileOptions {
            level: 3,
            threads: 2,
        }
    }
}

/// Input buffer in front of the encoder: large enough that per-page writes do not
/// each reach zstd.
const WRITE_BUF: usize = 1 << 20;

/// Saves the machine as a compressed snapshot into `w`. Returns `w` after the frame
/// is finished.
pub fn save_file<W: Write>(
    w: W,
    opts: FileOptions,
    machine_type: &str,
    ram: &[RamBlock<'_>],
    sections: &mut [SectionRef<'_>],
) -> Result<W, SaveError> {
    let mut enc = zstd::stream::write::Encoder::new(w, opts.level)?;
    enc.include_checksum(true)?;
    if opts.threads > 0 {
        enc.multithread(opts.threads)?;
    }
    let mut buf = BufWriter::with_capacity(WRITE_BUF, enc);
    save_stream(&mut buf, machine_type, ram, sections)?;
    let enc = buf.into_inner().map_err(|e| e.into_error())?;
    Ok(enc.finish()?)
}

/// Loads a compressed snapshot from `r` into freshly constructed devices and RAM.
/// Reads the whole frame, so a damaged file fails its checksum (`LoadError::Corrupt`)
/// even when the damage is past the last section.
pub fn load_file<R: Read>(
    r: R,
    machine_type: &str,
    ram: &mut [RamBlockMut<'_>],
    sections: &mut [SectionRef<'_>],
) -> Result<LoadReport, LoadError> {
    let mut dec = zstd::stream::read::Decoder::with_buffer(BufReader::with_capacity(1 << 17, r))
        .map_err(LoadError::Io)?
        .single_frame();
    let report = load_stream(&mut dec, machine_type, ram, sections)?;
    // The QEVM stream ended; make sure the frame did too (checksum checked here).
    let mut one = [0u8; 1];
    match dec.read(&mut one) {
        Ok(0) => {
            let mut rest = dec.finish();
            if rest.read(&mut one).map_err(LoadError::Io)? != 0 {
                return Err(LoadError::Malformed {
                    context: "snapshot file".into(),
                    offset: 0,
                    expected: "end of file after the zstd frame".into(),
                    found: "trailing data".into(),
                });
            }
        }
        Ok(_) => {
            return Err(LoadError::Malformed {
                context: "snapshot file".into(),
                offset: 0,
                expected: "end of the zstd frame after the stream".into(),
                found: "more data".into(),
            })
        }
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
            return Err(LoadError::Truncated {
                offset: 0,
                context: "the end of the zstd frame".into(),
            })
        }
        Err(e) => return Err(LoadError::Corrupt(e)),
    }
    Ok(report)
}
