//! Guest RAM and the per-page "holds translated code" flags, and the board's ROM
//! behind it in the same allocation, so the soft TLB serves loads from either.
//!
//! The CPU's own stores check the flag inline. Every other writer (device DMA, loaders,
//! loadvm) goes through the methods here, which queue the touched code pages so the CPU
//! drops the stale blocks before its next block lookup.

/// Guest pages are 4 KB, the PowerPC page size.
pub const PAGE_SHIFT: u32 = 12;
pub const PAGE_SIZE: u32 = 1 << PAGE_SHIFT;

/// RAM bytes (big-endian guest) plus code-page tracking.
#[derive(Debug, Clone)]
pub struct GuestRam {
    /// RAM, then the ROM image, if any: a soft TLB load entry holds an offset into
    /// it (for RAM, the physical address). Boxed, so it never changes length: the
    /// CPU's TLB hits rely on that (see `Bus`).
    bytes: Box<[u8]>,
    ram_len: usize,
    /// Physical address of the ROM's first byte.
    rom_base: u32,
    /// One bit per page: blocks were translated from this page.
    code: Vec<u64>,
    /// Code pages written by someone other than the CPU, to be invalidated.
    pending: Vec<u32>,
    /// Everything must be invalidated (bulk load).
    pending_all: bool,
}

impl GuestRam {
    /// Zeroed RAM of `size` bytes (rounded up to a whole page).
    pub fn new(size: usize) -> GuestRam {
        GuestRam::with_rom(size, 0, &[])
    }

    /// Zeroed RAM of `size` bytes, and a read-only `rom` at physical `rom_base`
    /// (page-aligned, above RAM).
    pub fn with_rom(size: usize, rom_base: u32, rom: &[u8]) -> GuestRam {
        let size = size.div_ceil(PAGE_SIZE as usize) * PAGE_SIZE as usize;
        let pages = size >> PAGE_SHIFT;
        debug_assert!(rom_base % PAGE_SIZE == 0 && (rom.is_empty() || rom_base as usize >= size));
        // One zeroed allocation (the kernel zeroes pages lazily), the ROM copied in.
        let mut bytes = vec![0; size + rom.len()].into_boxed_slice();
        bytes[size..].copy_from_slice(rom);
        GuestRam {
            bytes,
            ram_len: size,
            rom_base,
            code: vec![0; pages.div_ceil(64)],
            pending: Vec::new(),
            pending_all: false,
        }
    }

    pub fn len(&self) -> usize {
        self.ram_len
    }

    pub fn is_empty(&self) -> bool {
        self.ram_len == 0
    }

    /// Read-only view of all of RAM.
    pub fn as_slice(&self) -> &[u8] {
        &self.bytes[..self.ram_len]
    }

    /// Mutable view of all of RAM for bulk restore (loadvm). Invalidates every block.
    pub fn as_mut_slice_invalidate_all(&mut self) -> &mut [u8] {
        self.pending_all = true;
        &mut self.bytes[..self.ram_len]
    }

    /// Whether `[pa, pa+len)` lies inside RAM.
    pub fn contains(&self, pa: u32, len: usize) -> bool {
        (pa as usize)
            .checked_add(len)
            .is_some_and(|end| end <= self.ram_len)
    }

    /// The ROM image.
    pub fn rom(&self) -> &[u8] {
        &self.bytes[self.ram_len..]
    }

    /// The `len` bytes at `pa` as a load sees them, from RAM or ROM.
    pub(crate) fn loadable(&self, pa: u32, len: usize) -> Option<&[u8]> {
        if self.contains(pa, len) {
            return Some(&self.bytes[pa as usize..pa as usize + len]);
        }
        let off = pa.checked_sub(self.rom_base)? as usize;
        self.rom().get(off..off.checked_add(len)?)
    }

    /// Where ROM page `pa_page` lies in the bytes the CPU's load path indexes, if
    /// it is ROM.
    pub(crate) fn rom_page_offset(&self, pa_page: u32) -> Option<u32> {
        let off = pa_page.checked_sub(self.rom_base)? as usize;
        (off + PAGE_SIZE as usize <= self.rom().len()).then(|| (self.ram_len + off) as u32)
    }

    /// Copy RAM into `buf`; false (and `buf` untouched) if out of range.
    pub fn read(&self, pa: u32, buf: &mut [u8]) -> bool {
        if !self.contains(pa, buf.len()) {
            return false;
        }
        let pa = pa as usize;
        buf.copy_from_slice(&self.bytes[pa..pa + buf.len()]);
        true
    }

    /// Copy `data` into RAM (DMA, loaders); false if out of range. Code pages touched
    /// are queued for invalidation.
    pub fn write(&mut self, pa: u32, data: &[u8]) -> bool {
        if !self.contains(pa, data.len()) {
            return false;
        }
        self.note_external_write(pa, data.len());
        let pa = pa as usize;
        self.bytes[pa..pa + data.len()].copy_from_slice(data);
        true
    }

    /// Fill `[pa, pa+len)` with `byte`; false if out of range.
    pub fn fill(&mut self, pa: u32, len: usize, byte: u8) -> bool {
        if !self.contains(pa, len) {
            return false;
        }
        self.note_external_write(pa, len);
        let pa = pa as usize;
        self.bytes[pa..pa + len].fill(byte);
        true
    }

    /// Big-endian word at `pa`, if inside RAM.
    pub fn read_u32(&self, pa: u32) -> Option<u32> {
        let mut b = [0; 4];
        self.read(pa, &mut b).then(|| u32::from_be_bytes(b))
    }

    /// Store a big-endian word; false if outside RAM.
    pub fn write_u32(&mut self, pa: u32, v: u32) -> bool {
        self.write(pa, &v.to_be_bytes())
    }

    fn note_external_write(&mut self, pa: u32, len: usize) {
        if len == 0 {
            return;
        }
        let first = pa >> PAGE_SHIFT;
        let last = ((pa as usize + len - 1) >> PAGE_SHIFT) as u32;
        for page in first..=last {
            if self.is_code(page) {
                self.invalidate_code_page(page);
            }
        }
    }

    /// Page `page` no longer holds code: queue its blocks for dropping before the
    /// CPU's next block lookup.
    pub(crate) fn invalidate_code_page(&mut self, page: u32) {
        self.clear_code(page);
        self.pending.push(page);
    }

    pub(crate) fn is_code(&self, page: u32) -> bool {
        let p = page as usize;
        self.code
            .get(p / 64)
            .is_some_and(|w| w & (1 << (p % 64)) != 0)
    }

    pub(crate) fn set_code(&mut self, page: u32) {
        let p = page as usize;
        if let Some(w) = self.code.get_mut(p / 64) {
            *w |= 1 << (p % 64);
        }
    }

    pub(crate) fn clear_code(&mut self, page: u32) {
        let p = page as usize;
        if let Some(w) = self.code.get_mut(p / 64) {
            *w &= !(1 << (p % 64));
        }
    }

    /// Raw bytes for the CPU's fast path (which does its own code-page checks): RAM,
    /// then ROM, which only load entries of the soft TLB point into.
    #[inline(always)]
    pub(crate) fn bytes_mut(&mut self) -> &mut [u8] {
        &mut self.bytes
    }

    /// Drain queued invalidations: `Err(())` means "flush everything".
    pub(crate) fn take_invalidations(&mut self, out: &mut Vec<u32>) -> bool {
        let all = std::mem::take(&mut self.pending_all);
        if all {
            self.code.fill(0);
            self.pending.clear();
        } else {
            out.append(&mut self.pending);
        }
        all
    }

    #[inline(always)]
    pub(crate) fn has_invalidations(&self) -> bool {
        self.pending_all || !self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_write_to_code_page_queues_invalidation() {
        let mut ram = GuestRam::new(0x4000);
        ram.set_code(1);
        assert!(ram.write(0x1ffe, &[1, 2, 3, 4]));
        let mut out = Vec::new();
        assert!(!ram.take_invalidations(&mut out));
        assert_eq!(out, vec![1]);
        assert!(!ram.is_code(1));
    }

    #[test]
    fn out_of_range_access_is_refused_not_panicking() {
        let mut ram = GuestRam::new(0x1000);
        assert!(!ram.write(0xfff, &[0, 0]));
        assert_eq!(ram.read_u32(u32::MAX), None);
        assert!(!ram.fill(0x800, 0x1000, 0));
    }

    #[test]
    fn words_are_big_endian() {
        let mut ram = GuestRam::new(0x1000);
        ram.write_u32(8, 0x1234_5678);
        assert_eq!(ram.as_slice()[8..12], [0x12, 0x34, 0x56, 0x78]);
        assert_eq!(ram.read_u32(8), Some(0x1234_5678));
    }
}
