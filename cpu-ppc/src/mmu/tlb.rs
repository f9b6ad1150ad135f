//! A small software TLB in front of [`translate`](super::translate): direct-mapped,
//! 4 KiB pages, one array per access kind, so a hit needs no permission check.
//!
//! An entry is filled only from a successful translation of the same kind, so the
//! store array holds only pages whose C bit is already set, and a load never makes
//! a later store skip the walk that sets C. Entries are tagged with `MSR[PR]`, so a
//! privilege change needs no flush. Flush everything on BAT, SR and SDR1 writes and
//! on `MSR[IR]/MSR[DR]` changes; `tlbie` maps to [`Tlb::flush_ea`].

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

#[cfg(test)]
mod tests {
    use super::*;

    fn page(pa: u32) -> Translation {
        Translation {
            pa,
            writable: true,
            page_mask: 0xFFFF_F000,
            wimg: 0b0010,
            from_bat: false,
        }
    }

    #[test]
    fn hit_returns_physical_page_plus_offset() {
        let mut tlb = Tlb::new();
        tlb.insert(0x1234_5678, Access::Load, false, &page(0x0099_9678));

        let hit = tlb.lookup(0x1234_5ABC, Access::Load, false);

        assert_eq!(
            hit,
            Some(TlbHit {
                pa: 0x0099_9ABC,
                wimg: 0b0010
            })
        );
    }

    #[test]
    fn load_entry_does_not_serve_stores_or_fetches() {
        let mut tlb = Tlb::new();
        tlb.insert(0x1000, Access::Load, false, &page(0x5000));

        assert_eq!(tlb.lookup(0x1000, Access::Store, false), None);
        assert_eq!(tlb.lookup(0x1000, Access::Fetch, false), None);
    }

    #[test]
    fn entry_is_tagged_with_privilege() {
        let mut tlb = Tlb::new();
        tlb.insert(0x1000, Access::Fetch, true, &page(0x5000));

        assert_eq!(tlb.lookup(0x1000, Access::Fetch, false), None);
        assert!(tlb.lookup(0x1000, Access::Fetch, true).is_some());
    }

    #[test]
    fn aliasing_page_replaces_and_misses() {
        let mut tlb = Tlb::new();
        let alias = 0x1000 + (TLB_SETS as u32) * 0x1000;
        tlb.insert(0x1000, Access::Load, false, &page(0x5000));
        tlb.insert(alias, Access::Load, false, &page(0x6000));

        assert_eq!(tlb.lookup(0x1000, Access::Load, false), None);
        assert_eq!(
            tlb.lookup(alias, Access::Load, false).map(|h| h.pa),
            Some(0x6000)
        );
    }

    #[test]
    fn empty_tlb_misses_page_zero() {
        let tlb = Tlb::new();

        assert_eq!(tlb.lookup(0, Access::Load, false), None);
    }

    #[test]
    fn flush_all_forgets_every_kind() {
        let mut tlb = Tlb::new();
        for access in [Access::Fetch, Access::Load, Access::Store] {
            tlb.insert(0x7000, access, false, &page(0x5000));
        }

        tlb.flush_all();

        for access in [Access::Fetch, Access::Load, Access::Store] {
            assert_eq!(tlb.lookup(0x7000, access, false), None);
        }
    }

    #[test]
    fn flush_ea_forgets_the_whole_congruence_class_only() {
        let mut tlb = Tlb::new();
        let class_mate = 0x0003_0000 + 0x4_0000; // 64 pages later: same EA[14:19]
        let neighbour = 0x0003_1000;
        tlb.insert(0x0003_0000, Access::Store, false, &page(0x1000));
        tlb.insert(class_mate, Access::Fetch, true, &page(0x2000));
        tlb.insert(neighbour, Access::Load, false, &page(0x3000));

        tlb.flush_ea(0x0003_0ABC);

        assert_eq!(tlb.lookup(0x0003_0000, Access::Store, false), None);
        assert_eq!(tlb.lookup(class_mate, Access::Fetch, true), None);
        assert!(tlb.lookup(neighbour, Access::Load, false).is_some());
    }
}

/// The safety property of any TLB against a plain map of what was inserted: a hit
/// always returns the latest translation inserted for that page, kind and
/// privilege, and nothing survives a flush that covers it. Misses are always
/// allowed.
#[cfg(test)]
mod model_properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[derive(Debug, Clone)]
    enum Op {
        Insert {
            ea: u32,
            kind: u8,
            pr: bool,
            pa: u32,
        },
        Lookup {
            ea: u32,
            kind: u8,
            pr: bool,
        },
        FlushEa(u32),
        FlushAll,
    }

    fn access(kind: u8) -> Access {
        [Access::Fetch, Access::Load, Access::Store][kind as usize % 3]
    }

    fn op() -> impl Strategy<Value = Op> {
        // Few pages, so that lookups meet earlier inserts and flushes: eight
        // congruence classes, each with pages that share it (page + 64) and pages
        // that share a TLB set (page + 256).
        let ea = (
            0u32..8,
            prop_oneof![Just(0u32), Just(64), Just(256), Just(320)],
            0u32..0x1000,
        )
            .prop_map(|(class, alias, off)| ((class + alias) << 12) | off);
        prop_oneof![
            4 => (ea.clone(), 0u8..3, any::<bool>(), any::<u32>())
                .prop_map(|(ea, kind, pr, pa)| Op::Insert { ea, kind, pr, pa }),
            4 => (ea.clone(), 0u8..3, any::<bool>()).prop_map(|(ea, kind, pr)| Op::Lookup { ea, kind, pr }),
            1 => ea.prop_map(Op::FlushEa),
            1 => Just(Op::FlushAll),
        ]
    }

    proptest! {
        #[test]
        fn hits_are_never_stale(ops in proptest::collection::vec(op(), 1..300)) {
            let mut tlb = Tlb::new();
            let mut model: HashMap<(u32, u8, bool), u32> = HashMap::new();
            for op in ops {
                match op {
                    Op::Insert { ea, kind, pr, pa } => {
                        let t = Translation {
                            pa,
                            writable: true,
                            page_mask: 0xFFFF_F000,
                            wimg: 0,
                            from_bat: false,
                        };
                        tlb.insert(ea, access(kind), pr, &t);
                        model.insert((ea >> 12, kind, pr), pa & 0xFFFF_F000);
                    }
                    Op::Lookup { ea, kind, pr } => {
                        if let Some(hit) = tlb.lookup(ea, access(kind), pr) {
                            let want = model.get(&(ea >> 12, kind, pr)).copied();
                            prop_assert_eq!(Some(hit.pa), want.map(|p| p | (ea & 0xFFF)));
                        }
                    }
                    Op::FlushEa(ea) => {
                        tlb.flush_ea(ea);
                        model.retain(|k, _| k.0 != ea >> 12);
                        // Entries of other pages may go too; the model keeps them,
                        // which only makes later hits on them optional.
                    }
                    Op::FlushAll => {
                        tlb.flush_all();
                        model.clear();
                    }
                }
            }
        }
    }
}
