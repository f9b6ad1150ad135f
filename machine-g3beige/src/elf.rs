//! ELF32 big-endian PowerPC executables: the `PT_LOAD` segments with their file
//! bytes, the memory size past them (bss), and the entry point. Enough for the
//! firmware, a Linux `vmlinux`, and what `powerpc-linux-gnu-gcc -static` builds
//! (the user-mode test runner loads those with it too). Never panics on bad input.

use thiserror::Error;

const EI_CLASS: usize = 4;
const EI_DATA: usize = 5;
const ELFCLASS32: u8 = 1;
const ELFDATA2MSB: u8 = 2;
const ET_EXEC: u16 = 2;
const EM_PPC: u16 = 20;
const PT_LOAD: u32 = 1;
/// Size of an ELF32 file header and of one program header.
pub const EHDR_SIZE: usize = 52;
pub const PHDR_SIZE: usize = 32;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("not an ELF file (bad magic)")]
    NotElf,
    #[error("unsupported ELF: {0} (beige loads 32-bit big-endian PowerPC executables)")]
    Unsupported(&'static str),
    #[error("truncated ELF: {what} needs bytes up to {end}, the file has {len}")]
    Truncated {
        what: &'static str,
        end: u64,
        len: usize,
    },
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
    #[error("ELF has no loadable segments")]
    NoSegments,
}

/// A loadable segment: `data` at `vaddr` (physically `paddr`), then zeros up to
/// `mem_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u32,
    pub paddr: u32,
    pub data: Vec<u8>,
    pub mem_size: u32,
}

impl Segment {
    /// One past the last virtual address the segment occupies (saturating: a
    /// segment may end exactly at 4 GB, as OpenBIOS's reset vector does).
    pub fn end(&self) -> u32 {
        self.vaddr.saturating_add(self.mem_size)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elf {
    pub entry: u32,
    pub segments: Vec<Segment>,
}

impl Elf {
    /// Lowest and highest (exclusive) virtual address covered by the segments.
    pub fn vaddr_span(&self) -> (u32, u32) {
        let lo = self.segments.iter().map(|s| s.vaddr).min().unwrap_or(0);
        let hi = self.segments.iter().map(Segment::end).max().unwrap_or(0);
        (lo, hi)
    }
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

pub fn parse(file: &[u8]) -> Result<Elf, ElfError> {
    if file.len() < 4 || &file[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    check_len(file, "the file header", EHDR_SIZE as u64)?;
    if file[EI_CLASS] != ELFCLASS32 {
        return Err(ElfError::Unsupported("not 32-bit"));
    }
    if file[EI_DATA] != ELFDATA2MSB {
        return Err(ElfError::Unsupported("not big-endian"));
    }
    if be16(file, 16) != ET_EXEC {
        return Err(ElfError::Unsupported("not an executable (ET_EXEC)"));
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
        let (vaddr, paddr) = (be32(file, ph + 8), be32(file, ph + 12));
        let (filesz, memsz) = (be32(file, ph + 16), be32(file, ph + 20));
        if filesz > memsz {
            return Err(ElfError::BadSegment {
                index,
                filesz,
                memsz,
            });
        }
        if u64::from(vaddr) + u64::from(memsz) > 1 << 32 {
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
        segments.push(Segment {
            vaddr,
            paddr,
            data,
            mem_size: memsz,
        });
    }
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
    }
    Ok(Elf { entry, segments })
}

/// A minimal executable for tests: one `PT_LOAD` segment holding `code` at file
/// offset 0x54, loaded (and entered) at `vaddr`, `mem_size` bytes long.
pub fn tiny_elf(code: &[u8], vaddr: u32, mem_size: u32) -> Vec<u8> {
    let mut f = vec![0u8; EHDR_SIZE + PHDR_SIZE];
    let off = f.len() as u32;
    f[..4].copy_from_slice(b"\x7fELF");
    f[EI_CLASS] = ELFCLASS32;
    f[EI_DATA] = ELFDATA2MSB;
    f[6] = 1;
    f[16..18].copy_from_slice(&ET_EXEC.to_be_bytes());
    f[18..20].copy_from_slice(&EM_PPC.to_be_bytes());
    f[24..28].copy_from_slice(&vaddr.to_be_bytes());
    f[28..32].copy_from_slice(&(EHDR_SIZE as u32).to_be_bytes());
    f[42..44].copy_from_slice(&(PHDR_SIZE as u16).to_be_bytes());
    f[44..46].copy_from_slice(&1u16.to_be_bytes());
    let ph = EHDR_SIZE;
    f[ph..ph + 4].copy_from_slice(&PT_LOAD.to_be_bytes());
    f[ph + 4..ph + 8].copy_from_slice(&off.to_be_bytes());
    f[ph + 8..ph + 12].copy_from_slice(&vaddr.to_be_bytes());
    f[ph + 12..ph + 16].copy_from_slice(&vaddr.to_be_bytes());
    f[ph + 16..ph + 20].copy_from_slice(&(code.len() as u32).to_be_bytes());
    f[ph + 20..ph + 24].copy_from_slice(&mem_size.to_be_bytes());
    f.extend_from_slice(code);
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROM: u32 = 0xFFF0_0000;

    #[test]
    fn parses_entry_and_load_segment_with_bss() {
        let elf = parse(&tiny_elf(b"beigerom", ROM, 16)).unwrap();

        assert_eq!(elf.entry, ROM);
        assert_eq!(elf.segments.len(), 1);
        assert_eq!(elf.segments[0].data, b"beigerom");
        assert_eq!(elf.segments[0].paddr, ROM);
        assert_eq!(elf.vaddr_span(), (ROM, ROM + 16));
    }

    #[test]
    fn rejects_other_kinds_of_file() {
        let mut x86 = tiny_elf(&[0; 4], ROM, 4);
        x86[18..20].copy_from_slice(&62u16.to_be_bytes());
        let mut little = tiny_elf(&[0; 4], ROM, 4);
        little[EI_DATA] = 1;

        assert_eq!(parse(&x86), Err(ElfError::Unsupported("not PowerPC")));
        assert_eq!(parse(&little), Err(ElfError::Unsupported("not big-endian")));
        assert_eq!(parse(b"MZ\x90\x00"), Err(ElfError::NotElf));
    }

    #[test]
    fn every_prefix_of_a_valid_file_fails_cleanly() {
        let file = tiny_elf(&[1, 2, 3, 4], ROM, 16);

        for len in 0..file.len() {
            assert!(parse(&file[..len]).is_err(), "prefix {len} accepted");
        }
    }

    #[test]
    fn bss_only_segment_may_point_past_end_of_file() {
        let mut file = tiny_elf(&[], 0x1000_0000, 0x2000);
        let ph = EHDR_SIZE;
        file[ph + 4..ph + 8].copy_from_slice(&0x1000u32.to_be_bytes());

        let elf = parse(&file).unwrap();

        assert!(elf.segments[0].data.is_empty());
        assert_eq!(elf.vaddr_span().1, 0x1000_2000);
    }

    #[test]
    fn bad_segment_sizes_are_rejected() {
        let wraps = tiny_elf(&[0; 4], 0xFFFF_FFF0, 0x20);
        // OpenBIOS's reset vector: the last word below 4 GB.
        let at_top = tiny_elf(&[0; 4], 0xFFFF_FFFC, 4);

        assert_eq!(
            parse(&tiny_elf(&[0; 8], ROM, 4)),
            Err(ElfError::BadSegment {
                index: 0,
                filesz: 8,
                memsz: 4
            })
        );
        assert!(matches!(
            parse(&wraps),
            Err(ElfError::SegmentWraps { index: 0, .. })
        ));
        assert_eq!(parse(&at_top).unwrap().segments[0].end(), u32::MAX);
    }

    #[test]
    fn real_openbios_loads_at_rom_base_when_installed() {
        let Ok(bytes) = std::fs::read("/usr/share/qemu/openbios-ppc") else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI must have qemu-system-data"
            );
            return;
        };
        let elf = parse(&bytes).unwrap();
        assert_eq!(elf.entry, 0xFFF0_8000);
        assert_eq!(elf.vaddr_span().0, ROM);
    }
}
