//! The mac-io NVRAM of OldWorld Macs: 8 KB, byte `i` at offset `i << 4` (QEMU
//! hw/nvram/mac_nvram.c; OpenBIOS arch/ppc/qemu/qemu.c, `OW_IO_NVRAM_SHIFT` = 4).
//!
//! A fresh NVRAM holds QEMU 7.2's layout from `pmac_format_nvram_partition`: the
//! first half is OpenBIOS's (a CHRP "system" partition of 0xC10 bytes for the
//! Open Firmware variables, then a "free" partition), the second half an empty Mac
//! OS X partition (signature 0x5A, generation 2, Adler-32 over its body).
//!
//! With `-nvram FILE` the contents are loaded from the file at start (a missing file
//! is created with the fresh layout) and written back by [`Nvram::flush`], which the
//! board calls on exit; the file is host plumbing and is never part of the snapshot.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

/// Size of the NVRAM in bytes.
pub const NVRAM_SIZE: usize = 0x2000;
/// Address shift: byte `i` decodes at offset `i << NVRAM_IT_SHIFT`.
pub const NVRAM_IT_SHIFT: u32 = 4;
/// Size of the MMIO window (8 KB × 16).
pub const NVRAM_WINDOW: u32 = (NVRAM_SIZE as u32) << NVRAM_IT_SHIFT;

/// CHRP partition signature: Open Firmware system variables.
pub const CHRP_NVPART_SYSTEM: u8 = 0x70;
/// CHRP partition signature: free space.
pub const CHRP_NVPART_FREE: u8 = 0x7F;
/// Mac OS X partition signature.
pub const OSX_NVRAM_SIGNATURE: u8 = 0x5A;
/// Minimum size QEMU gives the system partition, so OpenBIOS can add variables.
pub const DEF_SYSTEM_SIZE: usize = 0xC10;

/// Errors loading or saving the NVRAM file.
#[derive(Debug, thiserror::Error)]
pub enum NvramError {
    /// The file could not be read or written.
    #[error("NVRAM file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The file is not an 8 KB NVRAM image.
    #[error(
        "NVRAM file {path} is {found} bytes, but the g3beige NVRAM is {expected} bytes; \
         pass a file made by beige, or a new file name to create one"
    )]
    WrongSize {
        /// The file.
        path: PathBuf,
        /// 8192.
        expected: usize,
        /// The file's size.
        found: usize,
    },
}

/// The NVRAM chip.
#[derive(Debug)]
pub struct Nvram {
    /// The 8 KB contents (saved).
    pub data: Vec<u8>,
    file: Option<PathBuf>,
    dirty: bool,
}

impl Default for Nvram {
    fn default() -> Self {
        Self::new()
    }
}

impl Nvram {
    /// An in-memory NVRAM with QEMU's fresh layout.
    pub fn new() -> Self {
        Nvram {
            data: fresh_image(),
            file: None,
            dirty: false,
        }
    }

    /// An NVRAM backed by `path`: loaded if the file exists, otherwise created with
    /// the fresh layout.
    pub fn with_file(path: &Path) -> Result<Self, NvramError> {
        let io = |source| NvramError::Io {
            path: path.to_owned(),
            source,
        };
        let data = match fs::read(path) {
            Ok(d) if d.len() == NVRAM_SIZE => d,
            Ok(d) => {
                return Err(NvramError::WrongSize {
                    path: path.to_owned(),
                    expected: NVRAM_SIZE,
                    found: d.len(),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let d = fresh_image();
                fs::write(path, &d).map_err(io)?;
                d
            }
            Err(e) => return Err(io(e)),
        };
        Ok(Nvram {
            data,
            file: Some(path.to_owned()),
            dirty: false,
        })
    }

    /// Writes the contents back to the file if they changed since the last flush.
    pub fn flush(&mut self) -> Result<(), NvramError> {
        if let (Some(path), true) = (&self.file, self.dirty) {
            fs::write(path, &self.data).map_err(|source| NvramError::Io {
                path: path.clone(),
                source,
            })?;
            self.dirty = false;
        }
        Ok(())
    }

    /// Whether there are changes not yet written to the file.
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Marks the contents as changed, e.g. after loading a snapshot.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    fn index(offset: u32) -> usize {
        ((offset >> NVRAM_IT_SHIFT) as usize) & (NVRAM_SIZE - 1)
    }

    /// MMIO read: every access returns the one byte it decodes to.
    pub fn read(&mut self, offset: u32, _size: u32) -> u32 {
        u32::from(self.data[Self::index(offset)])
    }

    /// MMIO write: stores the low byte of `value`.
    pub fn write(&mut self, offset: u32, _size: u32, value: u32) {
        let i = Self::index(offset);
        if self.data[i] != value as u8 {
            self.data[i] = value as u8;
            self.dirty = true;
        }
    }
}

impl Drop for Nvram {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::error!("{e}");
        }
    }
}

impl VmState for Nvram {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Nvram>> = LazyLock::new(|| {
            Vmsd::builder("macio_nvram")
                .version(1)
                .minimum_version(1)
                .vbuffer(
                    "data",
                    |_| NVRAM_SIZE,
                    NVRAM_SIZE,
                    |s: &Nvram| &s.data,
                    |s| &mut s.data,
                )
                // The running machine's NVRAM now differs from the file's.
                .post_load(|s, _| {
                    s.dirty = true;
                    Ok(())
                })
                .build()
        });
        &V
    }
}

/// Sets a CHRP partition header's length (in 16-byte units, big-endian) and its
/// checksum (one's-complement-style byte sum of the header, as CHRP defines it).
fn finish_partition(header: &mut [u8], size: usize) {
    header[2..4].copy_from_slice(&((size >> 4) as u16).to_be_bytes());
    let mut sum = u32::from(header[0]);
    for &b in &header[2..16] {
        sum += u32::from(b);
        sum = (sum + ((sum & 0xFF00) >> 8)) & 0xFF;
    }
    header[1] = sum as u8;
}

fn partition(data: &mut [u8], signature: u8, name: &[u8], size: usize) {
    data[0] = signature;
    // QEMU copies the name with pstrcpy into 12 bytes: at most 11 characters + NUL.
    let n = name.len().min(11);
    data[4..4 + n].copy_from_slice(&name[..n]);
    finish_partition(&mut data[..16], size);
}

/// zlib's `adler32(0, buf)` (QEMU passes 0, not 1, as the starting value).
fn adler32_from_zero(buf: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (0u32, 0u32);
    for &x in buf {
        a = (a + u32::from(x)) % MOD;
        b = (b + a) % MOD;
    }
    (b << 16) | a
}

/// QEMU 7.2's fresh OldWorld NVRAM: OpenBIOS partitions in the first half, an empty
/// Mac OS X partition in the second.
pub fn fresh_image() -> Vec<u8> {
    let mut d = vec![0u8; NVRAM_SIZE];
    let half = NVRAM_SIZE / 2;
    // System partition: header, then the variables (none) and their end marker.
    partition(&mut d[..], CHRP_NVPART_SYSTEM, b"system", DEF_SYSTEM_SIZE);
    partition(
        &mut d[DEF_SYSTEM_SIZE..],
        CHRP_NVPART_FREE,
        b"free",
        half - DEF_SYSTEM_SIZE,
    );
    let osx = &mut d[half..];
    partition(osx, OSX_NVRAM_SIGNATURE, b"wwwwwwwwwwww", half);
    osx[20..24].copy_from_slice(&2u32.to_be_bytes()); // generation
    let sum = adler32_from_zero(&osx[20..half]);
    osx[16..20].copy_from_slice(&sum.to_be_bytes());
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_image_matches_qemu_7_2_bytes() {
        // Read from QEMU 7.2 with `xp` at macio+0x60000 before OpenBIOS adds variables.
        let d = fresh_image();
        assert_eq!(&d[0..4], &[0x70, 0xD9, 0x00, 0xC1]);
        assert_eq!(&d[4..11], b"system\0");
        assert_eq!(&d[0xC10..0xC14], &[0x7F, 0x62, 0x00, 0x3F]);
        assert_eq!(&d[0xC14..0xC19], b"free\0");
        assert_eq!(&d[0x1000..0x1004], &[0x5A, 0x7D, 0x01, 0x00]);
        assert_eq!(&d[0x1004..0x1010], b"wwwwwwwwwww\0");
        assert_eq!(&d[0x1010..0x1018], &[0x1F, 0xD2, 0x00, 0x02, 0, 0, 0, 2]);
    }

    #[test]
    fn random_mmio_stays_inside_8k() {
        let mut nv = Nvram::new();
        crate::pci::random_mmio(9, 20_000, u32::MAX, |w, off, size, v| {
            if w {
                nv.write(off, size, v);
            } else {
                assert!(nv.read(off, size) <= 0xFF);
            }
        });
        assert_eq!(nv.data.len(), NVRAM_SIZE);
    }

    #[test]
    fn state_roundtrips() {
        let mut nv = Nvram::new();
        savevm::testing::assert_mutated_roundtrip(&mut nv, |n| n.write(0x40 << 4, 1, 0x99));
    }

    #[test]
    fn byte_i_decodes_at_offset_i_shl_4() {
        let mut nv = Nvram::new();
        nv.write(0x123 << 4, 1, 0xAB);
        assert_eq!(nv.data[0x123], 0xAB);
        assert_eq!(
            nv.read((0x123 << 4) + 5, 1),
            0xAB,
            "low address bits ignored"
        );
        assert_eq!(nv.read(0, 4), 0x70);
    }

    #[test]
    fn file_is_created_then_persists_writes_on_flush() {
        let dir = std::env::temp_dir().join(format!("beige-nvram-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("nvram.bin");
        let _ = fs::remove_file(&path);

        let mut nv = Nvram::with_file(&path).unwrap();
        assert_eq!(fs::read(&path).unwrap(), fresh_image());
        nv.write(0x20 << 4, 1, 0x42);
        assert!(nv.is_dirty());
        nv.flush().unwrap();
        assert!(!nv.is_dirty());
        drop(nv);

        let nv = Nvram::with_file(&path).unwrap();
        assert_eq!(nv.data[0x20], 0x42);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn wrong_sized_file_is_refused_with_its_size() {
        let dir = std::env::temp_dir().join(format!("beige-nvram-bad-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("short.bin");
        fs::write(&path, [0u8; 100]).unwrap();

        let err = Nvram::with_file(&path).unwrap_err();
        assert!(matches!(err, NvramError::WrongSize { found: 100, .. }));
        assert!(err.to_string().contains("8192"));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn writing_same_value_leaves_it_clean() {
        let mut nv = Nvram::new();
        nv.write(0, 1, 0x70);
        assert!(!nv.is_dirty());
    }
}
