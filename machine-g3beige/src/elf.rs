//! Just enough ELF32 big-endian PowerPC parsing to place firmware and kernels.

use thiserror::Error;

const EM_PPC: u16 = 20;
const PT_LOAD: u32 = 1;

#[derive(Debug, Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("not an ELF file (bad magic)")]
    NotElf,
    #[error("not a 32-bit big-endian PowerPC ELF (class {class}, data {data}, machine {machine})")]
    WrongKind { class: u8, data: u8, machine: u16 },
    #[error("truncated ELF: {what} lies outside the {len}-byte file")]
    Truncated { what: &'static str, len: usize },
    #[error("ELF has no loadable segments")]
    NoSegments,
}

/// A loadable segment: `file_size` bytes of data at `paddr`, then zeros up to `mem_size`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u32,
    pub paddr: u32,
    pub data: Vec<u8>,
    pub mem_size: u32,
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
        let hi = self
            .segments
            .iter()
            .map(|s| s.vaddr.saturating_add(s.mem_size))
            .max()
            .unwrap_or(0);
        (lo, hi)
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn slice<'a>(
    b: &'a [u8],
    off: usize,
    len: usize,
    what: &'static str,
) -> Result<&'a [u8], ElfError> {
    off.checked_add(len)
        .and_then(|end| b.get(off..end))
        .ok_or(ElfError::Truncated { what, len: b.len() })
}

pub fn parse(bytes: &[u8]) -> Result<Elf, ElfError> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf);
    }
    let hdr = slice(bytes, 0, 52, "ELF header")?;
    let (class, data, machine) = (hdr[4], hdr[5], be16(hdr, 18));
    if class != 1 || data != 2 || machine != EM_PPC {
        return Err(ElfError::WrongKind {
            class,
            data,
            machine,
        });
    }
    let entry = be32(hdr, 24);
    let phoff = be32(hdr, 28) as usize;
    let phentsize = be16(hdr, 42) as usize;
    let phnum = be16(hdr, 44) as usize;
    if phentsize < 32 {
        return Err(ElfError::Truncated {
            what: "program header",
            len: bytes.len(),
        });
    }
    let mut segments = Vec::new();
    for i in 0..phnum {
        let ph = slice(bytes, phoff + i * phentsize, 32, "program header")?;
        if be32(ph, 0) != PT_LOAD {
            continue;
        }
        let (offset, vaddr, paddr) = (be32(ph, 4) as usize, be32(ph, 8), be32(ph, 12));
        let (filesz, memsz) = (be32(ph, 16), be32(ph, 20));
        let data = slice(bytes, offset, filesz as usize, "segment data")?.to_vec();
        segments.push(Segment {
            vaddr,
            paddr,
            data,
            mem_size: memsz.max(filesz),
        });
    }
    if segments.is_empty() {
        return Err(ElfError::NoSegments);
    }
    Ok(Elf { entry, segments })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny_elf(machine: u16) -> Vec<u8> {
        let mut b = vec![0u8; 52 + 32 + 8];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 1;
        b[5] = 2;
        b[18..20].copy_from_slice(&machine.to_be_bytes());
        b[24..28].copy_from_slice(&0xFFF0_0100u32.to_be_bytes());
        b[28..32].copy_from_slice(&52u32.to_be_bytes());
        b[42..44].copy_from_slice(&32u16.to_be_bytes());
        b[44..46].copy_from_slice(&1u16.to_be_bytes());
        let ph = &mut b[52..84];
        ph[0..4].copy_from_slice(&PT_LOAD.to_be_bytes());
        ph[4..8].copy_from_slice(&84u32.to_be_bytes());
        ph[8..12].copy_from_slice(&0xFFF0_0000u32.to_be_bytes());
        ph[12..16].copy_from_slice(&0xFFF0_0000u32.to_be_bytes());
        ph[16..20].copy_from_slice(&8u32.to_be_bytes());
        ph[20..24].copy_from_slice(&16u32.to_be_bytes());
        b[84..92].copy_from_slice(b"beigerom");
        b
    }

    #[test]
    fn parses_entry_and_load_segment() {
        let elf = parse(&tiny_elf(EM_PPC)).unwrap();
        assert_eq!(elf.entry, 0xFFF0_0100);
        assert_eq!(elf.segments.len(), 1);
        assert_eq!(elf.segments[0].data, b"beigerom");
        assert_eq!(elf.segments[0].mem_size, 16);
        assert_eq!(elf.vaddr_span(), (0xFFF0_0000, 0xFFF0_0010));
    }

    #[test]
    fn rejects_other_architectures() {
        assert_eq!(
            parse(&tiny_elf(62)),
            Err(ElfError::WrongKind {
                class: 1,
                data: 2,
                machine: 62
            })
        );
        assert_eq!(parse(b"MZ\x90\x00"), Err(ElfError::NotElf));
    }

    #[test]
    fn truncated_segment_is_an_error_not_a_panic() {
        let mut b = tiny_elf(EM_PPC);
        b.truncate(86);
        assert!(matches!(parse(&b), Err(ElfError::Truncated { .. })));
        for len in 0..b.len() {
            let _ = parse(&b[..len]);
        }
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
        assert_eq!(elf.vaddr_span().0, 0xFFF0_0000);
    }
}
