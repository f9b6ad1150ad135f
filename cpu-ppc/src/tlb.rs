//! The soft TLB on the hot path: effective page -> RAM page, per access kind.
//!
//! Only RAM pages are cached; MMIO and faults always take the slow path. Entries are
//! 4 KB even under a BAT, which keeps a lookup to one compare. A store entry exists only
//! for pages whose translation allowed the store (C bit already set) and that hold no
//! translated code, so a hit needs no further checks.

pub const TLB_SIZE: usize = 256;
const INVALID: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
pub struct TlbEntry {
    /// Effective page address (ea & !0xFFF), or INVALID.
    pub tag: u32,
    /// Where the page starts in `GuestRam`'s bytes (its physical address for RAM;
    /// ROM, load entries only, lies past RAM) minus where it starts in effective
    /// addresses, so a hit is one add away: `ea + delta`.
    pub delta: u32,
}

#[derive(Debug, Clone)]
pub struct SoftTlb {
    pub fetch: [TlbEntry; TLB_SIZE],
    pub load: [TlbEntry; TLB_SIZE],
    pub store: [TlbEntry; TLB_SIZE],
    /// Bumped whenever fetch translations may have changed (see `exec::JumpCache`).
    generation: u64,
    /// Length of the `GuestRam` bytes the entries were checked against: every load
    /// and store entry's page lies within it (see `bind`).
    bound_len: usize,
}

const EMPTY: TlbEntry = TlbEntry {
    tag: INVALID,
    delta: 0,
};

impl Default for SoftTlb {
    fn default() -> Self {
        Self::new()
    }
}

impl SoftTlb {
    pub fn new() -> SoftTlb {
        SoftTlb {
            fetch: [EMPTY; TLB_SIZE],
            load: [EMPTY; TLB_SIZE],
            store: [EMPTY; TLB_SIZE],
            generation: 0,
            bound_len: 0,
        }
    }

    /// Keep the entries only if they were made against RAM of this length: a hit
    /// indexes RAM without a bounds check, so entries made against a longer one
    /// must go. (Offsets, not addresses: the same guest RAM in a new allocation
    /// keeps them.)
    pub fn bind(&mut self, ram_bytes_len: usize) {
        if ram_bytes_len != self.bound_len {
            self.flush_all();
            self.bound_len = ram_bytes_len;
        }
    }

    /// The length `bind` last saw.
    #[inline(always)]
    pub fn bound_len(&self) -> usize {
        self.bound_len
    }

    #[inline(always)]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    #[inline(always)]
    pub fn index(ea: u32) -> usize {
        (ea >> 12) as usize & (TLB_SIZE - 1)
    }

    #[inline(always)]
    pub fn lookup(table: &[TlbEntry; TLB_SIZE], ea: u32) -> Option<u32> {
        let e = table[Self::index(ea)];
        (e.tag == ea & !0xFFF).then_some(ea.wrapping_add(e.delta))
    }

    /// Like `lookup` for an `N`-byte access aligned to `N`, which therefore stays in
    /// its page: the tag is compared with the page address and the alignment bits
    /// together (a tag's are 0), so an unaligned access misses and takes the slow
    /// path, which also handles one that crosses into the next page.
    #[inline(always)]
    pub fn lookup_within<const N: usize>(table: &[TlbEntry; TLB_SIZE], ea: u32) -> Option<u32> {
        let e = table[Self::index(ea)];
        (e.tag == ea & !(0xFFF ^ (N as u32 - 1))).then_some(ea.wrapping_add(e.delta))
    }

    pub fn insert(table: &mut [TlbEntry; TLB_SIZE], ea: u32, pa: u32) {
        table[Self::index(ea)] = TlbEntry {
            tag: ea & !0xFFF,
            delta: (pa & !0xFFF).wrapping_sub(ea & !0xFFF),
        };
    }

    pub fn flush_all(&mut self) {
        self.fetch = [EMPTY; TLB_SIZE];
        self.load = [EMPTY; TLB_SIZE];
        self.store = [EMPTY; TLB_SIZE];
        self.generation += 1;
    }

    /// Drop store entries that map physical page `pa_page` (it now holds code).
    pub fn drop_store_to_page(&mut self, pa_page: u32) {
        for e in self.store.iter_mut() {
            if e.tag != INVALID && e.tag.wrapping_add(e.delta) == pa_page {
                *e = EMPTY;
            }
        }
    }

    /// `mtsr`: drop every entry in segment `sr`.
    pub fn flush_segment(&mut self, sr: u32) {
        self.retain(|tag| tag >> 28 != sr);
    }

    /// `tlbie`: drop every entry for the page index of `ea` in any segment, as the
    /// instruction does (it ignores the segment: two segments may share a VSID).
    pub fn flush_page_index(&mut self, ea: u32) {
        let index = (ea >> 12) & 0xFFFF;
        let i = Self::index(ea);
        self.generation += 1;
        for t in [&mut self.fetch, &mut self.load, &mut self.store] {
            // Every page with this index lands in slot `i`.
            if t[i].tag != INVALID && (t[i].tag >> 12) & 0xFFFF == index {
                t[i] = EMPTY;
            }
        }
    }

    fn retain(&mut self, keep: impl Fn(u32) -> bool) {
        self.generation += 1;
        for t in [&mut self.fetch, &mut self.load, &mut self.store] {
            for e in t.iter_mut() {
                if e.tag != INVALID && !keep(e.tag) {
                    *e = EMPTY;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_hits_only_same_page() {
        let mut t = SoftTlb::new();
        SoftTlb::insert(&mut t.load, 0x1234_5678, 0x0000_9000);
        assert_eq!(SoftTlb::lookup(&t.load, 0x1234_5ABC), Some(0x9ABC));
        assert_eq!(SoftTlb::lookup(&t.load, 0x1334_5678), None);
    }

    #[test]
    fn an_access_hits_only_when_aligned_to_its_size() {
        let mut t = SoftTlb::new();
        SoftTlb::insert(&mut t.load, 0x1234_5000, 0x9000);
        assert_eq!(
            SoftTlb::lookup_within::<4>(&t.load, 0x1234_5FFC),
            Some(0x9FFC)
        );
        assert_eq!(
            SoftTlb::lookup_within::<2>(&t.load, 0x1234_5FFE),
            Some(0x9FFE)
        );
        assert_eq!(
            SoftTlb::lookup_within::<1>(&t.load, 0x1234_5FFF),
            Some(0x9FFF)
        );
        // Unaligned, within the page or across its end: the slow path's.
        assert_eq!(SoftTlb::lookup_within::<4>(&t.load, 0x1234_5002), None);
        assert_eq!(SoftTlb::lookup_within::<4>(&t.load, 0x1234_5FFD), None);
        assert_eq!(SoftTlb::lookup_within::<2>(&t.load, 0x1234_5FFF), None);
    }

    #[test]
    fn tlbie_drops_the_page_index_in_every_segment_only() {
        let mut t = SoftTlb::new();
        SoftTlb::insert(&mut t.load, 0x1234_5000, 0x9000);
        SoftTlb::insert(&mut t.store, 0x8234_5000, 0x9000);
        SoftTlb::insert(&mut t.fetch, 0x1234_6000, 0xA000);
        t.flush_page_index(0x3234_5FFC);
        assert_eq!(SoftTlb::lookup(&t.load, 0x1234_5000), None);
        assert_eq!(SoftTlb::lookup(&t.store, 0x8234_5000), None);
        assert_eq!(SoftTlb::lookup(&t.fetch, 0x1234_6000), Some(0xA000));
    }

    #[test]
    fn segment_flush_keeps_other_segments() {
        let mut t = SoftTlb::new();
        SoftTlb::insert(&mut t.load, 0x3000_1000, 0x1000);
        SoftTlb::insert(&mut t.load, 0x4000_2000, 0x2000);
        let before = t.generation();
        t.flush_segment(3);
        assert_eq!(SoftTlb::lookup(&t.load, 0x3000_1000), None);
        assert_eq!(SoftTlb::lookup(&t.load, 0x4000_2000), Some(0x2000));
        assert_ne!(t.generation(), before);
    }

    #[test]
    fn code_page_removes_store_entries() {
        let mut t = SoftTlb::new();
        SoftTlb::insert(&mut t.store, 0x4000, 0x8000);
        t.drop_store_to_page(0x8000);
        assert_eq!(SoftTlb::lookup(&t.store, 0x4000), None);
    }
}
