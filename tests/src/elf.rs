//! A loader for static 32-bit big-endian PowerPC ELF executables: the
//! `PT_LOAD` segments with their file bytes, bss zeroed (the memory size
//! past the file size), and the entry point. Enough for what
//! `powerpc-linux-gnu-gcc -static -nostdlib` produces.

use thiserror::Error;

const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;
const ELFCLASS32: u8 = 1;
const ELFDATA2MSB: u8 = 2;
const ET_EXEC: u16 = 2;
const EM_PPC: u16 = 20;
const PT_LOAD: u32 = 1;
/// Size of an ELF32 file header and of one program header.
const EHDR_SIZE: usize = 52;
const PHDR_SIZE: usize = 32;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("not an ELF file (bad magic); build the guest with powerpc-linux-gnu-gcc")]
    BadMagic,
    #[error("ELF file truncated: {what} needs bytes up to {end}, the file has {len}")]
    Truncated {
        what: &'static str,
        end: u64,
        len: usize,
    },
    #[error("unsupported ELF: {0} (beige runs static 32-bit big-endian PowerPC executables)")]
    Unsupported(&'static str),
    #[error("segment {index} has file size {filesz:#x} larger than its memory size {memsz:#x}")]
    BadSegment {
        index: usize,
        filesz: u32,
        memsz: u32,
    },
    #[error("segment {index} at {vaddr:#x}+{memsz:#x} wraps past 4 GB")]
    SegmentWraps {
        index: usize,
        vaddr: u32,
        memsz: u32,
    },
}

/// One loadable segment: `data` goes at `vaddr`, zeros follow up to `memsz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u32,
    pub memsz: u32,
    pub data: Vec<u8>,
}

impl Segment {
    /// One past the last byte the segment occupies.
    pub fn end(&self) -> u32 {
        self.vaddr + self.memsz
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elf {
    pub entry: u32,
    pub segments: Vec<Segment>,
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn check_len(file: &[u8], what: &'static str, end: u64) -> Result<(), ElfError> {
    if end > file.len() as u64 {
        return Err(ElfError::Truncated {
            what,
            end,
            len: file.len(),
        });
    }
    Ok(())
}

impl Elf {
    /// Parse `file`. Never panics on malformed input.
    pub fn parse(file: &[u8]) -> Result<Elf, ElfError> {
        if file.len() < 4 || &file[..4] != b"\x7fELF" {
            return Err(ElfError::BadMagic);
        }
        check_len(file, "the file header", EHDR_SIZE as u64)?;
        if file[EI_CLASS] != ELFCLASS32 {
            return Err(ElfError::Unsupported("not 32-bit"));
        }
        if file[EI_DATA] != ELFDATA2MSB {
            return Err(ElfError::Unsupported("not big-endian"));
        }
        if be16(file, 16) != ET_EXEC {
            return Err(ElfError::Unsupported("not a static executable (ET_EXEC)"));
        }
        if be16(file, 18) != EM_PPC {
            return Err(ElfError::Unsupported("not PowerPC"));
        }
        let entry = be32(file, 24);
        let phoff = be32(file, 28) as u64;
        let phentsize = be16(file, 42) as u64;
        let phnum = be16(file, 44) as u64;
        if phnum > 0 && phentsize < PHDR_SIZE as u64 {
            return Err(ElfError::Unsupported(
                "program headers smaller than 32 bytes",
            ));
        }
        check_len(file, "the program headers", phoff + phentsize * phnum)?;

        let mut segments = Vec::new();
        for index in 0..phnum as usize {
            let ph = (phoff + phentsize * index as u64) as usize;
            if be32(file, ph) != PT_LOAD {
                continue;
            }
            let offset = be32(file, ph + 4);
            let vaddr = be32(file, ph + 8);
            let filesz = be32(file, ph + 16);
            let memsz = be32(file, ph + 20);
            if filesz > memsz {
                return Err(ElfError::BadSegment {
                    index,
                    filesz,
                    memsz,
                });
            }
            if vaddr.checked_add(memsz).is_none() {
                return Err(ElfError::SegmentWraps {
                    index,
                    vaddr,
                    memsz,
                });
            }
            // A bss-only segment may name an offset past the end of the file.
            let data = if filesz == 0 {
                Vec::new()
            } else {
                let end = offset as u64 + filesz as u64;
                check_len(file, "a segment's file bytes", end)?;
                file[offset as usize..end as usize].to_vec()
            };
            segments.push(Segment { vaddr, memsz, data });
        }
        Ok(Elf { entry, segments })
    }

    /// One past the highest byte any segment occupies (the initial program break).
    pub fn image_end(&self) -> u32 {
        self.segments.iter().map(Segment::end).max().unwrap_or(0)
    }
}

/// A minimal ELF for tests: header, one PT_LOAD program header, `code` at
/// file offset 0x54 loaded at 0x1000_0054 (the entry point).
#[cfg(test)]
pub(crate) fn tiny_elf(code: &[u8], memsz: u32) -> Vec<u8> {
    let mut f = vec![0u8; EHDR_SIZE + PHDR_SIZE];
    f[..4].copy_from_slice(b"\x7fELF");
    f[EI_CLASS] = ELFCLASS32;
    f[EI_DATA] = ELFDATA2MSB;
    f[6] = 1;
    f[16..18].copy_from_slice(&ET_EXEC.to_be_bytes());
    f[18..20].copy_from_slice(&EM_PPC.to_be_bytes());
    f[24..28].copy_from_slice(&0x1000_0054u32.to_be_bytes());
    f[28..32].copy_from_slice(&(EHDR_SIZE as u32).to_be_bytes());
    f[42..44].copy_from_slice(&(PHDR_SIZE as u16).to_be_bytes());
    f[44..46].copy_from_slice(&1u16.to_be_bytes());
    let ph = EHDR_SIZE;
    f[ph..ph + 4].copy_from_slice(&PT_LOAD.to_be_bytes());
    f[ph + 4..ph + 8].copy_from_slice(&0x54u32.to_be_bytes());
    f[ph + 8..ph + 12].copy_from_slice(&0x1000_0054u32.to_be_bytes());
    f[ph + 16..ph + 20].copy_from_slice(&(code.len() as u32).to_be_bytes());
    f[ph + 20..ph + 24].copy_from_slice(&memsz.to_be_bytes());
    f.extend_from_slice(code);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entry_and_load_segment_with_bss() {
        let file = tiny_elf(&[0x48, 0, 0, 0], 0x100);

        let elf = Elf::parse(&file).unwrap();

        assert_eq!(elf.entry, 0x1000_0054);
        assert_eq!(elf.segments.len(), 1);
        assert_eq!(elf.segments[0].data, vec![0x48, 0, 0, 0]);
        assert_eq!(elf.image_end(), 0x1000_0154);
    }

    #[test]
    fn rejects_little_endian() {
        let mut file = tiny_elf(&[0; 4], 4);
        file[EI_DATA] = 1;

        assert_eq!(
            Elf::parse(&file),
            Err(ElfError::Unsupported("not big-endian"))
        );
    }

    #[test]
    fn truncated_segment_is_an_error_not_a_panic() {
        let mut file = tiny_elf(&[0; 8], 8);
        file.truncate(file.len() - 4);

        assert!(matches!(Elf::parse(&file), Err(ElfError::Truncated { .. })));
    }

    #[test]
    fn every_prefix_of_a_valid_file_parses_or_fails_cleanly() {
        let file = tiny_elf(&[1, 2, 3, 4], 16);

        for len in 0..file.len() {
            assert!(Elf::parse(&file[..len]).is_err(), "prefix {len} accepted");
        }
    }

    #[test]
    fn bss_only_segment_may_point_past_end_of_file() {
        let mut file = tiny_elf(&[], 0x2000);
        let ph = EHDR_SIZE;
        file[ph + 4..ph + 8].copy_from_slice(&0x1000u32.to_be_bytes());

        let elf = Elf::parse(&file).unwrap();

        assert!(elf.segments[0].data.is_empty());
        assert_eq!(elf.image_end(), 0x1000_2054);
    }

    #[test]
    fn filesz_larger_than_memsz_is_rejected() {
        let file = tiny_elf(&[0; 8], 4);

        assert_eq!(
            Elf::parse(&file),
            Err(ElfError::BadSegment {
                index: 0,
                filesz: 8,
                memsz: 4
            })
        );
    }
}
