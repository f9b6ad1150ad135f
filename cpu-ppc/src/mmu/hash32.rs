//! Segment registers and the hashed page table (750 manual 5.4-5.5; PEM 7.5-7.6).
//!
//! The 750 has no direct-store support: any access to a T = 1 segment is refused
//! (ISI with `SRR1[3]`, DSI with `DSISR[5]`), per the 750 manual's table 5-3. QEMU
//! instead lets integer accesses through there; no Mac OS or Linux code uses them.
//! A fetch needs read permission from the key and PP bits (ISI `SRR1[4]` otherwise)
//! and an unguarded page (ISI `SRR1[3]`); QEMU checks neither.

use super::{cause, protection_fault, Access, Fault, PteMem, Translation};

/// SR: T, a direct-store segment.
pub const SR_T: u32 = 0x8000_0000;
/// SR: Ks, the supervisor-state protection key.
pub const SR_KS: u32 = 0x4000_0000;
/// SR: Kp, the user-state protection key.
pub const SR_KP: u32 = 0x2000_0000;
/// SR: N, no-execute.
pub const SR_N: u32 = 0x1000_0000;
/// SR: virtual segment ID, 24 bits.
pub const SR_VSID: u32 = 0x00FF_FFFF;

/// SDR1: physical base of the page table.
pub const SDR1_HTABORG: u32 = 0xFFFF_0000;
/// SDR1: mask of hash bits used above the minimum 64 KiB table.
pub const SDR1_HTABMASK: u32 = 0x0000_01FF;

/// Bytes in one PTE and in one PTE group of eight.
pub const PTE_SIZE: u32 = 8;
pub const PTEG_SIZE: u32 = 64;

/// PTE word 0: valid.
pub const PTE0_V: u32 = 0x8000_0000;
/// PTE word 0: VSID.
pub const PTE0_VSID: u32 = 0x7FFF_FF80;
/// PTE word 0: H, the entry lives in its secondary group.
pub const PTE0_H: u32 = 0x0000_0040;
/// PTE word 0: abbreviated page index, EA bits 4..9.
pub const PTE0_API: u32 = 0x0000_003F;
/// PTE word 1: real page number.
pub const PTE1_RPN: u32 = 0xFFFF_F000;
/// PTE word 1: referenced.
pub const PTE1_R: u32 = 0x0000_0100;
/// PTE word 1: changed.
pub const PTE1_C: u32 = 0x0000_0080;
/// PTE word 1: storage attributes W, I, M, G.
pub const PTE1_WIMG: u32 = 0x0000_0078;
/// PTE word 1: the G (guarded) bit.
pub const PTE1_G: u32 = 0x0000_0008;
/// PTE word 1: page protection.
pub const PTE1_PP: u32 = 0x0000_0003;

const PAGE_SHIFT: u32 = 12;
const PAGE_OFFSET: u32 = 0xFFF;
const HASH_BITS: u32 = 0x7_FFFF;

/// The 19-bit primary hash: low VSID bits XOR the 16-bit page index. The
/// secondary hash is its complement.
pub fn primary_hash(vsid: u32, ea: u32) -> u32 {
    ((vsid & SR_VSID) ^ ((ea >> PAGE_SHIFT) & 0xFFFF)) & HASH_BITS
}

/// Physical address of the PTE group selected by `hash` under `sdr1`.
///
/// HTABMASK selects how many hash bits above the low ten index the table. QEMU
/// adds the offset to HTABORG where the manual ORs it in; the two agree whenever
/// HTABORG is aligned to the table size, as the architecture requires.
pub fn pteg_address(sdr1: u32, hash: u32) -> u32 {
    let mask = ((sdr1 & SDR1_HTABMASK) << 16) | 0xFFFF;
    (sdr1 & SDR1_HTABORG).wrapping_add(hash.wrapping_mul(PTEG_SIZE) & mask)
}

/// The PTE word 0 that matches `vsid` and `ea`, without V and H.
pub fn pte0_tag(vsid: u32, ea: u32) -> u32 {
    ((vsid & SR_VSID) << 7) | ((ea >> 22) & PTE0_API)
}

/// What PP allows under the selected key: (read, write).
/// Key 0: PP 0-2 read-write, 3 read-only. Key 1: PP 0 none, 1 and 3 read-only,
/// 2 read-write.
pub fn pp_rights(key: bool, pp: u32) -> (bool, bool) {
    match (key, pp & PTE1_PP) {
        (false, 3) => (true, false),
        (false, _) => (true, true),
        (true, 0) => (false, false),
        (true, 2) => (true, true),
        (true, _) => (true, false),
    }
}

/// A PTE found in the table and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PteHit {
    pub addr: u32,
    pub pte0: u32,
    pub pte1: u32,
}

/// Searches the eight PTEs of one group for a valid entry with matching H, VSID
/// and API. The first match wins.
pub fn search_group(mem: &mut impl PteMem, pteg: u32, secondary: bool, tag: u32) -> Option<PteHit> {
    let want = PTE0_V | if secondary { PTE0_H } else { 0 } | tag;
    (0..8).find_map(|i| {
        let addr = pteg.wrapping_add(i * PTE_SIZE);
        let pte0 = mem.read_u32(addr);
        (pte0 == want).then(|| PteHit {
            addr,
            pte0,
            pte1: mem.read_u32(addr.wrapping_add(4)),
        })
    })
}

/// Finds the PTE for `ea` in segment `vsid`: primary group, then secondary.
pub fn find_pte(mem: &mut impl PteMem, sdr1: u32, vsid: u32, ea: u32) -> Option<PteHit> {
    let hash = primary_hash(vsid, ea);
    let tag = pte0_tag(vsid, ea);
    search_group(mem, pteg_address(sdr1, hash), false, tag)
        .or_else(|| search_group(mem, pteg_address(sdr1, !hash), true, tag))
}

/// Translates `ea` through segment register `sr` and the page table at `sdr1`,
/// after the BATs missed.
pub fn translate_segment(
    sr: u32,
    sdr1: u32,
    ea: u32,
    access: Access,
    msr_pr: bool,
    mem: &mut impl PteMem,
) -> Result<Translation, Fault> {
    if sr & SR_T != 0 {
        return Err(match access {
            Access::Fetch => Fault::Isi {
                srr1: cause::ISI_NO_FETCH,
            },
            Access::Load => Fault::Dsi {
                dsisr: cause::DSI_DIRECT_STORE,
            },
            Access::Store => Fault::Dsi {
                dsisr: cause::DSI_DIRECT_STORE | cause::DSI_STORE,
            },
        });
    }
    if access == Access::Fetch && sr & SR_N != 0 {
        return Err(Fault::Isi {
            srr1: cause::ISI_NO_FETCH,
        });
    }

    let Some(hit) = find_pte(mem, sdr1, sr & SR_VSID, ea) else {
        return Err(match access {
            Access::Fetch => Fault::Isi {
                srr1: cause::NOT_FOUND,
            },
            Access::Load => Fault::Dsi {
                dsisr: cause::NOT_FOUND,
            },
            Access::Store => Fault::Dsi {
                dsisr: cause::NOT_FOUND | cause::DSI_STORE,
            },
        });
    };

    let key = sr & if msr_pr { SR_KP } else { SR_KS } != 0;
    let (read, write) = pp_rights(key, hit.pte1);
    let allowed = match access {
        Access::Fetch | Access::Load => read,
        Access::Store => write,
    };
    if !allowed {
        return Err(protection_fault(access));
    }
    if access == Access::Fetch && hit.pte1 & PTE1_G != 0 {
        // 750 manual table 5-3: no fetch from guarded pages (QEMU does not check).
        return Err(Fault::Isi {
            srr1: cause::ISI_NO_FETCH,
        });
    }

    // R on every permitted access, C on a permitted store; written back only when
    // they change, as the hardware's PTE update does.
    let mut pte1 = hit.pte1 | PTE1_R;
    if access == Access::Store {
        pte1 |= PTE1_C;
    }
    if pte1 != hit.pte1 {
        mem.write_u32(hit.addr.wrapping_add(4), pte1);
    }

    Ok(Translation {
        pa: (pte1 & PTE1_RPN) | (ea & PAGE_OFFSET),
        writable: write && pte1 & PTE1_C != 0,
        page_mask: !PAGE_OFFSET,
        wimg: ((pte1 & PTE1_WIMG) >> 3) as u8,
        from_bat: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mmu::test_mem::{FakeMem, Slot, PRIMARY0};

    const SDR1: u32 = 0x0010_0000; // 64 KiB table at 1 MiB, HTABMASK 0
    const VSID: u32 = 0x00AB_CDEF;
    const EA: u32 = 0x3456_7000;
    const PA: u32 = 0x0123_4000;
    const RW: u32 = 2;

    fn load(mem: &mut FakeMem, sr: u32, ea: u32) -> Result<Translation, Fault> {
        translate_segment(sr, SDR1, ea, Access::Load, false, mem)
    }

    const DSI_NOT_FOUND: Result<Translation, Fault> = Err(Fault::Dsi {
        dsisr: cause::NOT_FOUND,
    });

    #[test]
    fn primary_group_hit_translates_page_and_offset() {
        let mut mem = FakeMem::default();
        mem.install_pte(
            SDR1,
            VSID,
            EA,
            PA,
            0x10 | RW,
            Slot {
                secondary: false,
                index: 5,
            },
        );

        let t = load(&mut mem, VSID, EA | 0x9AC).unwrap();

        assert_eq!(t.pa, PA | 0x9AC);
        assert_eq!(t.page_mask, 0xFFFF_F000);
        assert_eq!(t.wimg, 0b0010);
        assert!(!t.from_bat);
    }

    #[test]
    fn secondary_group_hit_when_primary_has_none() {
        let mut mem = FakeMem::default();
        let addr = mem.install_pte(
            SDR1,
            VSID,
            EA,
            PA,
            RW,
            Slot {
                secondary: true,
                index: 7,
            },
        );

        let t = load(&mut mem, VSID, EA).unwrap();

        assert_eq!(t.pa, PA);
        assert_eq!(addr & !0x3F, pteg_address(SDR1, !primary_hash(VSID, EA)));
    }

    #[test]
    fn primary_entry_beats_secondary_entry() {
        let mut mem = FakeMem::default();
        mem.install_pte(
            SDR1,
            VSID,
            EA,
            0x0AAA_A000,
            RW,
            Slot {
                secondary: true,
                index: 0,
            },
        );
        mem.install_pte(
            SDR1,
            VSID,
            EA,
            0x0BBB_B000,
            RW,
            Slot {
                secondary: false,
                index: 7,
            },
        );

        assert_eq!(load(&mut mem, VSID, EA).unwrap().pa, 0x0BBB_B000);
    }

    #[test]
    fn first_matching_entry_in_a_group_wins() {
        let mut mem = FakeMem::default();
        mem.install_pte(
            SDR1,
            VSID,
            EA,
            0x0000_1000,
            RW,
            Slot {
                secondary: false,
                index: 2,
            },
        );
        mem.install_pte(
            SDR1,
            VSID,
            EA,
            0x0000_2000,
            RW,
            Slot {
                secondary: false,
                index: 6,
            },
        );

        assert_eq!(load(&mut mem, VSID, EA).unwrap().pa, 0x0000_1000);
    }

    #[test]
    fn entry_with_wrong_h_bit_for_its_group_is_ignored() {
        let mut mem = FakeMem::default();
        let addr = mem.install_pte(SDR1, VSID, EA, PA, RW, PRIMARY0);
        mem.words.insert(addr, mem.words[&addr] | PTE0_H);

        assert_eq!(load(&mut mem, VSID, EA), DSI_NOT_FOUND);
    }

    #[test]
    fn invalid_entry_is_ignored() {
        let mut mem = FakeMem::default();
        let addr = mem.install_pte(SDR1, VSID, EA, PA, RW, PRIMARY0);
        mem.words.insert(addr, mem.words[&addr] & !PTE0_V);

        assert_eq!(load(&mut mem, VSID, EA), DSI_NOT_FOUND);
    }

    #[test]
    fn vsid_mismatch_is_not_a_hit() {
        let mut mem = FakeMem::default();
        mem.install_pte(SDR1, VSID, EA, PA, RW, PRIMARY0);

        // Same hash group (differs only above the 19 hashed bits), other VSID.
        assert_eq!(load(&mut mem, VSID ^ 0x0080_0000, EA), DSI_NOT_FOUND);
    }

    #[test]
    fn api_mismatch_is_not_a_hit() {
        let mut mem = FakeMem::default();
        mem.install_pte(SDR1, VSID, EA, PA, RW, PRIMARY0);

        // EA bits 4..9 differ (API) but bits 10..19 and the hash group match.
        let other = EA ^ 0x0400_0000;
        assert_eq!(
            pteg_address(SDR1, primary_hash(VSID, other)),
            pteg_address(SDR1, primary_hash(VSID, EA))
        );
        assert_eq!(load(&mut mem, VSID, other), DSI_NOT_FOUND);
    }

    #[test]
    fn no_match_faults_name_page_fault_and_direction() {
        let mut mem = FakeMem::default();

        let fetch = translate_segment(VSID, SDR1, EA, Access::Fetch, false, &mut mem);
        let load = translate_segment(VSID, SDR1, EA, Access::Load, false, &mut mem);
        let store = translate_segment(VSID, SDR1, EA, Access::Store, false, &mut mem);

        assert_eq!(fetch, Err(Fault::Isi { srr1: 0x4000_0000 }));
        assert_eq!(load, Err(Fault::Dsi { dsisr: 0x4000_0000 }));
        assert_eq!(store, Err(Fault::Dsi { dsisr: 0x4200_0000 }));
        assert!(mem.writes.is_empty());
    }

    /// The manual's table (PEM table 7-10): what each key and PP allow, written
    /// out independently of `pp_rights`.
    fn expected(key: bool, pp: u32, access: Access) -> bool {
        let (read, write) = match (key, pp) {
            (false, 0..=2) => (true, true),
            (false, 3) => (true, false),
            (true, 0) => (false, false),
            (true, 1) => (true, false),
            (true, 2) => (true, true),
            (true, 3) => (true, false),
            _ => unreachable!(),
        };
        match access {
            Access::Fetch | Access::Load => read,
            Access::Store => write,
        }
    }

    #[test]
    fn every_pp_and_key_combination_for_every_access() {
        for msr_pr in [false, true] {
            for key in [false, true] {
                // Set only the key for this privilege; the other one opposite, so
                // using the wrong key changes the outcome.
                let (ks, kp) = if msr_pr { (!key, key) } else { (key, !key) };
                let sr = VSID | if ks { SR_KS } else { 0 } | if kp { SR_KP } else { 0 };
                for pp in 0..4 {
                    for access in [Access::Fetch, Access::Load, Access::Store] {
                        let mut mem = FakeMem::default();
                        mem.install_pte(SDR1, VSID, EA, PA, pp, PRIMARY0);

                        let got = translate_segment(sr, SDR1, EA, access, msr_pr, &mut mem);

                        let case = format!("pr={msr_pr} key={key} pp={pp} {access:?}");
                        if expected(key, pp, access) {
                            assert_eq!(got.map(|t| t.pa), Ok(PA), "{case}");
                        } else {
                            let fault = match access {
                                Access::Fetch => Fault::Isi { srr1: 0x0800_0000 },
                                Access::Load => Fault::Dsi { dsisr: 0x0800_0000 },
                                Access::Store => Fault::Dsi { dsisr: 0x0A00_0000 },
                            };
                            assert_eq!(got, Err(fault), "{case}");
                            assert!(mem.writes.is_empty(), "{case}: R set on a refused access");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn load_sets_r_but_not_c_and_stays_unwritable() {
        let mut mem = FakeMem::default();
        let addr = mem.install_pte(SDR1, VSID, EA, PA, RW, PRIMARY0);

        let t = load(&mut mem, VSID, EA).unwrap();

        assert_eq!(mem.writes, vec![(addr + 4, PA | PTE1_R | RW)]);
        assert!(!t.writable, "C clear: the first store must walk again");
    }

    #[test]
    fn fetch_sets_r_but_not_c() {
        let mut mem = FakeMem::default();
        let addr = mem.install_pte(SDR1, VSID, EA, PA, RW, PRIMARY0);

        translate_segment(VSID, SDR1, EA, Access::Fetch, false, &mut mem).unwrap();

        assert_eq!(mem.words[&(addr + 4)] & (PTE1_R | PTE1_C), PTE1_R);
    }

    #[test]
    fn store_sets_r_and_c_in_one_write() {
        let mut mem = FakeMem::default();
        let addr = mem.install_pte(SDR1, VSID, EA, PA, 0x10 | RW, PRIMARY0);

        let t = translate_segment(VSID, SDR1, EA, Access::Store, false, &mut mem).unwrap();

        assert_eq!(
            mem.writes,
            vec![(addr + 4, PA | PTE1_R | PTE1_C | 0x10 | RW)]
        );
        assert!(t.writable);
    }

    #[test]
    fn no_pte_write_when_r_and_c_already_set() {
        let mut mem = FakeMem::default();
        mem.install_pte(SDR1, VSID, EA, PA, PTE1_R | PTE1_C | RW, PRIMARY0);

        let l = load(&mut mem, VSID, EA).unwrap();
        translate_segment(VSID, SDR1, EA, Access::Store, false, &mut mem).unwrap();

        assert!(mem.writes.is_empty());
        assert!(
            l.writable,
            "C already set: a load translation may be used for stores"
        );
    }

    #[test]
    fn load_with_r_set_writes_nothing() {
        let mut mem = FakeMem::default();
        mem.install_pte(SDR1, VSID, EA, PA, PTE1_R | RW, PRIMARY0);

        load(&mut mem, VSID, EA).unwrap();

        assert!(mem.writes.is_empty());
    }

    #[test]
    fn writable_false_for_read_only_page_even_with_c_set() {
        let mut mem = FakeMem::default();
        mem.install_pte(SDR1, VSID, EA, PA, PTE1_R | PTE1_C | 3, PRIMARY0);

        assert!(!load(&mut mem, VSID, EA).unwrap().writable);
    }

    #[test]
    fn no_execute_segment_refuses_fetch_only() {
        let mut mem = FakeMem::default();
        mem.install_pte(SDR1, VSID, EA, PA, RW, PRIMARY0);
        let sr = VSID | SR_N;

        let fetch = translate_segment(sr, SDR1, EA, Access::Fetch, false, &mut mem);
        let load = translate_segment(sr, SDR1, EA, Access::Load, false, &mut mem);

        assert_eq!(fetch, Err(Fault::Isi { srr1: 0x1000_0000 }));
        assert_eq!(load.unwrap().pa, PA);
    }

    #[test]
    fn no_execute_is_checked_before_the_walk() {
        let mut mem = FakeMem::default();

        let fetch = translate_segment(VSID | SR_N, SDR1, EA, Access::Fetch, false, &mut mem);

        assert_eq!(fetch, Err(Fault::Isi { srr1: 0x1000_0000 }));
    }

    #[test]
    fn direct_store_segment_is_refused_for_every_access() {
        let mut mem = FakeMem::default();
        let sr = SR_T | SR_KS | SR_KP | 0x0123;

        let fetch = translate_segment(sr, SDR1, EA, Access::Fetch, false, &mut mem);
        let load = translate_segment(sr, SDR1, EA, Access::Load, false, &mut mem);
        let store = translate_segment(sr, SDR1, EA, Access::Store, true, &mut mem);

        assert_eq!(fetch, Err(Fault::Isi { srr1: 0x1000_0000 }));
        assert_eq!(load, Err(Fault::Dsi { dsisr: 0x0400_0000 }));
        assert_eq!(store, Err(Fault::Dsi { dsisr: 0x0600_0000 }));
        assert!(mem.writes.is_empty());
    }

    #[test]
    fn fetch_from_guarded_page_is_isi_bit3_and_leaves_r_clear() {
        let mut mem = FakeMem::default();
        let addr = mem.install_pte(SDR1, VSID, EA, PA, PTE1_G | RW, PRIMARY0);

        let fetch = translate_segment(VSID, SDR1, EA, Access::Fetch, false, &mut mem);

        assert_eq!(fetch, Err(Fault::Isi { srr1: 0x1000_0000 }));
        assert_eq!(mem.words[&(addr + 4)] & PTE1_R, 0);
        assert_eq!(load(&mut mem, VSID, EA).unwrap().wimg, 0b0001);
    }

    #[test]
    fn pteg_address_uses_ten_hash_bits_for_a_64k_table() {
        assert_eq!(pteg_address(0x0010_0000, 0), 0x0010_0000);
        assert_eq!(pteg_address(0x0010_0000, 0x3FF), 0x0010_FFC0);
        assert_eq!(pteg_address(0x0010_0000, 0x7_FC00), 0x0010_0000);
    }

    #[test]
    fn pteg_address_uses_all_nineteen_bits_for_a_32m_table() {
        let sdr1 = 0x0200_0000 | 0x1FF;

        assert_eq!(pteg_address(sdr1, 0x7_FFFF), 0x03FF_FFC0);
        assert_eq!(pteg_address(sdr1, 0x4_0001), 0x0300_0040);
        assert_eq!(pteg_address(sdr1, !0x4_0001), 0x02FF_FF80);
    }

    #[test]
    fn htabmask_picks_hash_bits_partially() {
        // 256 KiB table: HTABMASK = 0b11 adds hash bits 10 and 11.
        let sdr1 = 0x0004_0000 | 0x3;

        assert_eq!(pteg_address(sdr1, 0x0C00), 0x0004_0000 + (0xC00 << 6));
        assert_eq!(pteg_address(sdr1, 0x1000), 0x0004_0000);
    }

    #[test]
    fn large_table_walk_finds_pte_in_high_group() {
        let sdr1 = 0x0200_0000 | 0x1FF; // 32 MiB table at 32 MiB
        let vsid = 0x0007_FFFF;
        let ea = 0x0000_0000; // page index 0: hash = 0x7FFFF, the last group
        let mut mem = FakeMem::default();
        let addr = mem.install_pte(sdr1, vsid, ea, PA, RW, PRIMARY0);

        let t = translate_segment(vsid, sdr1, ea | 0x10, Access::Load, false, &mut mem);

        assert_eq!(addr, 0x03FF_FFC0);
        assert_eq!(t.unwrap().pa, PA | 0x10);
    }

    #[test]
    fn small_table_ignores_high_hash_bits() {
        // With HTABMASK 0, hashes differing only above bit 9 share a group: two
        // EAs whose page indexes differ by 0x400 land in the same PTEG.
        let mut mem = FakeMem::default();
        let ea_a = 0x0000_0000;
        let ea_b = 0x0040_0000;
        let a = mem.install_pte(SDR1, VSID, ea_a, 0x0000_A000, RW, PRIMARY0);
        let b = mem.install_pte(
            SDR1,
            VSID,
            ea_b,
            0x0000_B000,
            RW,
            Slot {
                secondary: false,
                index: 1,
            },
        );

        assert_eq!(a + 8, b);
        assert_eq!(load(&mut mem, VSID, ea_a).unwrap().pa, 0x0000_A000);
        assert_eq!(load(&mut mem, VSID, ea_b).unwrap().pa, 0x0000_B000);
    }

    #[test]
    fn hash_uses_only_low_nineteen_vsid_bits() {
        assert_eq!(primary_hash(0x00F8_0000, 0), 0);
        assert_eq!(primary_hash(0x0007_FFFF, 0x0FFF_F000), 0x7_0000);
        assert_eq!(primary_hash(0x12, 0xF003_4000), 0x26);
    }

    #[test]
    fn pte0_tag_holds_vsid_and_api() {
        assert_eq!(pte0_tag(0x00FF_FFFF, 0x0FC0_0000), 0x7FFF_FFBF);
        assert_eq!(pte0_tag(0, 0x003F_F000), 0);
    }
}

/// Properties against a second, bit-by-bit formulation of the manual's figures
/// (PEM 7.6.1.1 and 7.6.2), written with IBM bit numbers so it shares no code or
/// shortcuts with the walker above.
#[cfg(test)]
mod manual_properties {
    use super::*;
    use crate::mmu::test_mem::FakeMem;
    use proptest::prelude::*;

    /// Bits `from..=to` (IBM numbering, 0 = most significant) of a `width`-bit value.
    fn bits(value: u32, width: u32, from: u32, to: u32) -> u32 {
        let len = to - from + 1;
        (value >> (width - 1 - to)) & ((1u32 << len) - 1)
    }

    /// Hash function 1: VSID[5:23] XOR (0b000 || EA[4:19]), 19 bits.
    fn manual_primary_hash(sr: u32, ea: u32) -> u32 {
        let vsid = bits(sr, 32, 8, 31); // 24-bit VSID in SR[8:31]
        bits(vsid, 24, 5, 23) ^ bits(ea, 32, 4, 19)
    }

    /// Hash function 2: the one's complement of hash 1, in 19 bits.
    fn manual_secondary_hash(sr: u32, ea: u32) -> u32 {
        !manual_primary_hash(sr, ea) & 0x7_FFFF
    }

    /// PTEG address: HTABORG[0:6] || (HTABORG[7:15] | (hash[0:8] & HTABMASK))
    /// || hash[9:18] || 0b000000.
    fn manual_pteg(sdr1: u32, hash: u32) -> u32 {
        let htaborg = bits(sdr1, 32, 0, 15);
        let htabmask = bits(sdr1, 32, 23, 31);
        let high = bits(htaborg, 16, 0, 6);
        let mid = bits(htaborg, 16, 7, 15) | (bits(hash, 19, 0, 8) & htabmask);
        let low = bits(hash, 19, 9, 18);
        (high << 25) | (mid << 16) | (low << 6)
    }

    /// PTE word 0: V || VSID || H || API, with API = EA[4:9].
    fn manual_pte0(sr: u32, ea: u32, secondary: bool) -> u32 {
        (1 << 31) | (bits(sr, 32, 8, 31) << 7) | (u32::from(secondary) << 6) | bits(ea, 32, 4, 9)
    }

    /// An SDR1 whose HTABORG has no ones under HTABMASK, as the manual requires.
    fn aligned_sdr1() -> impl Strategy<Value = u32> {
        (any::<u32>(), 0u32..=9).prop_map(|(raw, mask_bits)| {
            let htabmask = (1u32 << mask_bits) - 1;
            (raw & SDR1_HTABORG & !(htabmask << 16)) | htabmask
        })
    }

    proptest! {
        #[test]
        fn hashes_match_the_manual(sr in any::<u32>(), ea in any::<u32>()) {
            let vsid = sr & SR_VSID;
            prop_assert_eq!(primary_hash(vsid, ea), manual_primary_hash(sr, ea));
            prop_assert_eq!(!primary_hash(vsid, ea) & 0x7_FFFF, manual_secondary_hash(sr, ea));
        }

        #[test]
        fn pteg_addresses_match_the_manual(
            sdr1 in aligned_sdr1(), sr in any::<u32>(), ea in any::<u32>()
        ) {
            let vsid = sr & SR_VSID;
            let hash = primary_hash(vsid, ea);
            prop_assert_eq!(pteg_address(sdr1, hash), manual_pteg(sdr1, manual_primary_hash(sr, ea)));
            prop_assert_eq!(pteg_address(sdr1, !hash), manual_pteg(sdr1, manual_secondary_hash(sr, ea)));
        }

        #[test]
        fn pte_at_manual_address_is_found_and_translated(
            sdr1 in aligned_sdr1(),
            vsid in 0u32..=SR_VSID,
            ea in any::<u32>(),
            rpn in any::<u32>(),
            secondary in any::<bool>(),
            slot in 0u32..8,
        ) {
            let sr = vsid; // T = 0, Ks = Kp = 0, N = 0
            let hash = if secondary {
                manual_secondary_hash(sr, ea)
            } else {
                manual_primary_hash(sr, ea)
            };
            let pte = manual_pteg(sdr1, hash).wrapping_add(slot * 8);
            let mut mem = FakeMem::default();
            mem.words.insert(pte, manual_pte0(sr, ea, secondary));
            mem.words.insert(pte.wrapping_add(4), (rpn & 0xFFFF_F000) | 2);

            let t = translate_segment(sr, sdr1, ea, Access::Store, false, &mut mem);

            // The two groups always differ: the hashes differ in the ten low bits
            // that index even the smallest table.
            let t = t.expect("PTE at the manual's address must be found");
            prop_assert_eq!(t.pa, (rpn & 0xFFFF_F000) | (ea & 0xFFF));
            prop_assert_eq!(mem.words[&pte.wrapping_add(4)] & (PTE1_R | PTE1_C), PTE1_R | PTE1_C);
        }

        #[test]
        fn walk_never_panics_on_arbitrary_tables(
            sr in any::<u32>(),
            sdr1 in any::<u32>(),
            ea in any::<u32>(),
            pr in any::<bool>(),
            seed in any::<u32>(),
            access in prop_oneof![Just(Access::Fetch), Just(Access::Load), Just(Access::Store)],
        ) {
            // Fill both candidate groups with noise, half of it valid-looking.
            let mut mem = FakeMem::default();
            let hash = primary_hash(sr & SR_VSID, ea);
            for group in [pteg_address(sdr1, hash), pteg_address(sdr1, !hash)] {
                for i in 0..16u32 {
                    let noise = seed.rotate_left(i).wrapping_mul(0x9E37_79B9) ^ i;
                    let word = if i % 2 == 0 && noise & 1 == 0 {
                        PTE0_V | pte0_tag(sr & SR_VSID, ea) | (noise & PTE0_H)
                    } else {
                        noise
                    };
                    mem.words.insert(group.wrapping_add(i * 4), word);
                }
            }

            let result = translate_segment(sr, sdr1, ea, access, pr, &mut mem);

            if let Ok(t) = result {
                prop_assert_eq!(t.pa & 0xFFF, ea & 0xFFF);
                prop_assert!(access != Access::Store || t.writable);
            }
            prop_assert!(mem.writes.len() <= 1);
        }
    }
}
