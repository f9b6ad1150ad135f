//! Segment registers and the hashed page table (750 manual 5.4-5.5; PEM 7.5-7.6).
//!
//! The 750 has no direct-store support: any access to a T = 1 segment is refused
//! (ISI with SRR1[3], DSI with DSISR[5]), per the 750 manual's table 5-3. QEMU
//! instead lets integer accesses through there; no Mac OS or Linux code uses them.

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
