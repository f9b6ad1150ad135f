//! A small software TLB in front of [`translate`](super::translate): direct-mapped,
//! 4 KiB pages, one array per access kind, so a hit needs no permission check.
//!
//! An entry is filled only from a successful translation of the same kind, so the
//! store array holds only pages whose C bit is already set, and a load never makes
//! a later store skip the walk that sets C. Entries are tagged with MSR[PR], so a
//! privilege change needs no flush. Flush everything on BAT, SR and SDR1 writes and
//! on MSR[IR]/MSR[DR] changes; `tlbie` maps to [`Tlb::flush_ea`].

use super::{Access, Translation};

/// Sets per access kind. A multiple of [`CONGRUENCE_CLASSES`].
pub const TLB_SETS: usize = 256;
/// The 750's TLBs have 64 sets indexed by EA bits 14..19; `tlbie` invalidates a
/// whole set. Linux's `_tlbia` on the 750 relies on this, walking 64 pages.
pub const CONGRUENCE_CLASSES: usize = 64;

const PAGE_SHIFT: u32 = 12;
const PAGE_MASK: u32 = 0xFFFF_F000;
const TAG_VALID: u32 = 1;
const TAG_PR: u32 = 2;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Entry {
    /// EA page | TAG_PR if user mode | TAG_VALID; 0 is empty.
    tag: u32,
    /// Physical page address.
    pa_page: u32,
    wimg: u8,
}

/// A hit: the physical address and the storage attributes of its page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlbHit {
    pub pa: u32,
    pub wimg: u8,
}

/// Direct-mapped translation cache, one array for each [`Access`] kind.
#[derive(Debug, Clone)]
pub struct Tlb {
    sets: Box<[[Entry; TLB_SETS]; 3]>,
}

impl Default for Tlb {
    fn default() -> Self {
        Self::new()
    }
}

fn kind(access: Access) -> usize {
    match access {
        Access::Fetch => 0,
        Access::Load => 1,
        Access::Store => 2,
    }
}

fn index(ea: u32) -> usize {
    (ea >> PAGE_SHIFT) as usize % TLB_SETS
}

fn tag(ea: u32, msr_pr: bool) -> u32 {
    (ea & PAGE_MASK) | if msr_pr { TAG_PR } else { 0 } | TAG_VALID
}

impl Tlb {
    pub fn new() -> Self {
        Tlb {
            sets: Box::new([[Entry::default(); TLB_SETS]; 3]),
        }
    }

    /// The cached translation of `ea` for `access` in this privilege, if any.
    #[inline]
    pub fn lookup(&self, ea: u32, access: Access, msr_pr: bool) -> Option<TlbHit> {
        let e = &self.sets[kind(access)][index(ea)];
        (e.tag == tag(ea, msr_pr)).then_some(TlbHit {
            pa: e.pa_page | (ea & !PAGE_MASK),
            wimg: e.wimg,
        })
    }

    /// Caches the 4 KiB page of `ea` from a successful translation for `access`.
    /// A load translation is never put in the store array, even if writable, so a
    /// store always takes the walk once and the walker's C update happens.
    pub fn insert(&mut self, ea: u32, access: Access, msr_pr: bool, t: &Translation) {
        self.sets[kind(access)][index(ea)] = Entry {
            tag: tag(ea, msr_pr),
            pa_page: t.pa & PAGE_MASK,
            wimg: t.wimg,
        };
    }

    /// Forgets every entry.
    pub fn flush_all(&mut self) {
        for kind in self.sets.iter_mut() {
            kind.fill(Entry::default());
        }
    }

    /// `tlbie ea`: forgets every entry in the 750 congruence class of `ea` (the same
    /// EA bits 14..19), in all three arrays. That is a superset of the page of `ea`.
    pub fn flush_ea(&mut self, ea: u32) {
        let class = (ea >> PAGE_SHIFT) as usize % CONGRUENCE_CLASSES;
        for kind in self.sets.iter_mut() {
            for set in (class..TLB_SETS).step_by(CONGRUENCE_CLASSES) {
                kind[set] = Entry::default();
            }
        }
    }
}
