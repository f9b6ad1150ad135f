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
    /// Effective page number (ea >> 12), or INVALID.
    pub tag: u32,
    /// Physical byte address of the page's start (inside RAM).
    pub pa_page: u32,
}

#[derive(Debug, Clone)]
pub struct SoftTlb {
    pub fetch: [TlbEntry; TLB_SIZE],
    pub load: [TlbEntry; TLB_SIZE],
    pub store: [TlbEntry; TLB_SIZE],
}

const EMPTY: TlbEntry = TlbEntry {
    tag: INVALID,
    pa_page: 0,
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
        }
    }

    #[inline(always)]
    pub fn index(ea: u32) -> usize {
        (ea >> 12) as usize & (TLB_SIZE - 1)
    }

    #[inline(always)]
    pub fn lookup(table: &[TlbEntry; TLB_SIZE], ea: u32) -> Option<u32> {
        let e = table[Self::index(ea)];
        (e.tag == ea >> 12).then_some(e.pa_page | (ea & 0xFFF))
    }

    pub fn insert(table: &mut [TlbEntry; TLB_SIZE], ea: u32, pa: u32) {
        table[Self::index(ea)] = TlbEntry {
            tag: ea >> 12,
            pa_page: pa & !0xFFF,
        };
    }

    pub fn flush_all(&mut self) {
        self.fetch = [EMPTY; TLB_SIZE];
        self.load = [EMPTY; TLB_SIZE];
        self.store = [EMPTY; TLB_SIZE];
    }

    /// Drop store entries that map physical page `pa_page` (it now holds code).
    pub fn drop_store_to_page(&mut self, pa_page: u32) {
        for e in self.store.iter_mut() {
            if e.tag != INVALID && e.pa_page == pa_page {
                *e = EMPTY;
            }
        }
    }

    /// `tlbie`: drop every entry for this effective page.
    pub fn flush_ea(&mut self, ea: u32) {
        let i = Self::index(ea);
        for t in [&mut self.fetch, &mut self.load, &mut self.store] {
            if t[i].tag == ea >> 12 {
                t[i] = EMPTY;
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
    fn code_page_removes_store_entries() {
        let mut t = SoftTlb::new();
        SoftTlb::insert(&mut t.store, 0x4000, 0x8000);
        t.drop_store_to_page(0x8000);
        assert_eq!(SoftTlb::lookup(&t.store, 0x4000), None);
    }
}
