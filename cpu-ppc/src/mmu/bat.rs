//! Block address translation: four IBAT and four DBAT pairs (750 manual 5.3;
//! PEM 7.4). A block is 128 KiB to 256 MiB, selected by BEPI under the BL mask.

use super::{cause, protection_fault, Access, Bat, Fault, Translation};

/// BATU: block effective page index, EA bits 0..14.
pub const BATU_BEPI: u32 = 0xFFFE_0000;
/// BATU: block length mask, 11 bits; ones select EA bits taken from the EA.
pub const BATU_BL: u32 = 0x0000_1FFC;
/// BATU: valid in supervisor mode (MSR[PR] = 0).
pub const BATU_VS: u32 = 0x0000_0002;
/// BATU: valid in user mode (MSR[PR] = 1).
pub const BATU_VP: u32 = 0x0000_0001;
/// BATL: block real page number.
pub const BATL_BRPN: u32 = 0xFFFE_0000;
/// BATL: storage attributes W, I, M, G.
pub const BATL_WIMG: u32 = 0x0000_0078;
/// BATL: the G (guarded) bit.
pub const BATL_G: u32 = 0x0000_0008;
/// BATL: protection bits.
pub const BATL_PP: u32 = 0x0000_0003;

/// A matching BAT pair and the mask of EA bits its block decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatHit {
    pub bat: Bat,
    pub mask: u32,
}

/// The EA mask a BAT decodes, or `None` when it is not valid for this privilege.
pub fn block_mask(upper: u32, msr_pr: bool) -> Option<u32> {
    let valid = if msr_pr { BATU_VP } else { BATU_VS };
    if upper & valid == 0 {
        return None;
    }
    Some(BATU_BEPI & !((upper & BATU_BL) << 15))
}

/// The first BAT of `bats` that maps `ea` for this privilege. BEPI bits inside the
/// block (a misaligned BEPI) never match, as in QEMU.
pub fn lookup(bats: &[Bat; 4], ea: u32, msr_pr: bool) -> Option<BatHit> {
    bats.iter().find_map(|bat| {
        let mask = block_mask(bat.upper, msr_pr)?;
        (ea & mask == bat.upper & BATU_BEPI).then_some(BatHit { bat: *bat, mask })
    })
}

/// Applies a BAT hit's protection to `access`. PP = 0 is no access, 1 and 3
/// read-only, 2 read-write; a fetch from a guarded block (G = 1) is refused with
/// SRR1[3] as the 750 manual's table 5-3 says (QEMU does not check G).
pub fn check(hit: BatHit, ea: u32, access: Access) -> Result<Translation, Fault> {
    let pp = hit.bat.lower & BATL_PP;
    let allowed = match access {
        Access::Fetch | Access::Load => pp != 0,
        Access::Store => pp == 2,
    };
    if !allowed {
        return Err(protection_fault(access));
    }
    if access == Access::Fetch && hit.bat.lower & BATL_G != 0 {
        return Err(Fault::Isi {
            srr1: cause::ISI_NO_FETCH,
        });
    }
    Ok(Translation {
        // QEMU masks BRPN with the block mask; the manual requires it aligned.
        pa: (hit.bat.lower & hit.mask) | (ea & !hit.mask),
        writable: pp == 2,
        page_mask: hit.mask,
        wimg: ((hit.bat.lower & BATL_WIMG) >> 3) as u8,
        from_bat: true,
    })
}
