//! Block address translation: four IBAT and four DBAT pairs (750 manual 5.3;
//! PEM 7.4). A block is 128 KiB to 256 MiB, selected by BEPI under the BL mask.

use super::{cause, protection_fault, Access, Bat, Fault, Translation};

/// BATU: block effective page index, EA bits 0..14.
pub const BATU_BEPI: u32 = 0xFFFE_0000;
/// BATU: block length mask, 11 bits; ones select EA bits taken from the EA.
pub const BATU_BL: u32 = 0x0000_1FFC;
/// BATU: valid in supervisor mode (`MSR[PR]` = 0).
pub const BATU_VS: u32 = 0x0000_0002;
/// BATU: valid in user mode (`MSR[PR]` = 1).
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
/// block (a misaligned BEPI) are ignored: QEMU clears them when BATU is written
/// (see [`Bat::write_upper`]), so it translates such a BAT as if aligned.
pub fn lookup(bats: &[Bat; 4], ea: u32, msr_pr: bool) -> Option<BatHit> {
    bats.iter().find_map(|bat| {
        let mask = block_mask(bat.upper, msr_pr)?;
        (ea & mask == bat.upper & mask).then_some(BatHit { bat: *bat, mask })
    })
}

impl Bat {
    /// `mtspr xBATnU`, as QEMU stores it: BEPI bits under the new BL are cleared,
    /// and so are BRPN bits under it in the lower word, which also loses its
    /// reserved bits 0x1FF84. `mfspr` then reads these masked values back.
    pub fn write_upper(&mut self, value: u32) {
        let mask = (value << 15) & 0x0FFE_0000;
        self.upper = (value & 0x0000_1FFF) | (value & !0x0001_FFFF & !mask);
        self.lower = (self.lower & 0x0000_007B) | (self.lower & !0x0001_FFFF & !mask);
    }

    /// `mtspr xBATnL`: stored as written.
    pub fn write_lower(&mut self, value: u32) {
        self.lower = value;
    }
}

/// Applies a BAT hit's protection to `access`. PP = 0 is no access, 1 and 3
/// read-only, 2 read-write; a fetch from a guarded block (G = 1) is refused with
/// `SRR1[3]` as the 750 manual's table 5-3 says (QEMU does not check G).
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

#[cfg(test)]
mod tests {
    use super::*;

    const RW: u32 = 2;

    /// A BAT mapping `size` bytes at `ea` to `pa`, valid in both modes.
    fn bat(ea: u32, pa: u32, size: u32, lower_bits: u32) -> Bat {
        let bl = ((size >> 17) - 1) << 2;
        Bat {
            upper: ea | bl | BATU_VS | BATU_VP,
            lower: pa | lower_bits,
        }
    }

    fn one(b: Bat) -> [Bat; 4] {
        [b, Bat::default(), Bat::default(), Bat::default()]
    }

    #[test]
    fn smallest_block_is_128k_and_ends_there() {
        let bats = one(bat(0x0002_0000, 0x0040_0000, 0x2_0000, RW));

        let inside = lookup(&bats, 0x0003_FFFF, false);
        let below = lookup(&bats, 0x0001_FFFF, false);
        let above = lookup(&bats, 0x0004_0000, false);

        assert_eq!(inside.map(|h| h.mask), Some(0xFFFE_0000));
        assert_eq!(below, None);
        assert_eq!(above, None);
    }

    #[test]
    fn largest_block_is_256m() {
        let bats = one(bat(0xF000_0000, 0x1000_0000, 0x1000_0000, RW));

        let hit = lookup(&bats, 0xFFFF_FFFC, false).unwrap();
        let t = check(hit, 0xFFFF_FFFC, Access::Load).unwrap();

        assert_eq!(hit.mask, 0xF000_0000);
        assert_eq!(t.pa, 0x1FFF_FFFC);
        assert_eq!(t.page_mask, 0xF000_0000);
    }

    #[test]
    fn block_offset_comes_from_ea_under_bl() {
        let b = bat(0xC080_0000, 0x0380_0000, 0x80_0000, RW); // 8 MiB
        let hit = lookup(&one(b), 0xC0AB_CDEF, false).unwrap();

        let t = check(hit, 0xC0AB_CDEF, Access::Store).unwrap();

        assert_eq!(t.pa, 0x03AB_CDEF);
    }

    #[test]
    fn bepi_bits_inside_the_block_are_ignored() {
        // BEPI 0x0002_0000 with a 256 KiB block: bit 0x0002_0000 is under BL.
        let bats = one(bat(0x0002_0000, 0x0080_0000, 0x4_0000, RW));

        let hit = lookup(&bats, 0x0002_0010, false).unwrap();

        assert_eq!(
            check(hit, 0x0002_0010, Access::Load).unwrap().pa,
            0x0082_0010
        );
        assert!(lookup(&bats, 0x0000_0000, false).is_some());
        assert!(lookup(&bats, 0x0004_0000, false).is_none());
    }

    #[test]
    fn write_upper_masks_bepi_and_brpn_under_bl_like_qemu() {
        let mut b = Bat {
            upper: 0,
            lower: 0x0086_0000 | 0x1_FF80 | 0x7F,
        };

        b.write_upper(0x0006_0000 | (3 << 2) | BATU_VS); // 512 KiB block

        assert_eq!(b.upper, (3 << 2) | BATU_VS);
        assert_eq!(b.lower, 0x0080_0000 | 0x7B);
    }

    #[test]
    fn write_lower_keeps_every_bit() {
        let mut b = Bat::default();

        b.write_lower(0xFFFF_FFFF);

        assert_eq!(b.lower, 0xFFFF_FFFF);
    }

    #[test]
    fn first_matching_bat_wins() {
        let bats = [
            Bat::default(),
            bat(0x0000_0000, 0x0100_0000, 0x100_0000, RW),
            bat(0x0000_0000, 0x0200_0000, 0x100_0000, RW),
            Bat::default(),
        ];

        let hit = lookup(&bats, 0x1234, false).unwrap();

        assert_eq!(check(hit, 0x1234, Access::Load).unwrap().pa, 0x0100_1234);
    }

    #[test]
    fn invalid_bat_never_matches_even_with_matching_bepi() {
        let mut b = bat(0, 0, 0x1000_0000, RW);
        b.upper &= !(BATU_VS | BATU_VP);

        assert_eq!(lookup(&one(b), 0, false), None);
        assert_eq!(lookup(&one(b), 0, true), None);
    }

    #[test]
    fn valid_bits_select_privilege() {
        let mut vs_only = bat(0, 0, 0x2_0000, RW);
        vs_only.upper &= !BATU_VP;
        let mut vp_only = bat(0, 0, 0x2_0000, RW);
        vp_only.upper &= !BATU_VS;

        assert!(lookup(&one(vs_only), 0, false).is_some());
        assert!(lookup(&one(vs_only), 0, true).is_none());
        assert!(lookup(&one(vp_only), 0, true).is_some());
        assert!(lookup(&one(vp_only), 0, false).is_none());
    }

    fn access_result(pp: u32, access: Access) -> Result<bool, Fault> {
        let b = bat(0, 0, 0x2_0000, pp);
        let hit = lookup(&one(b), 0x100, false).unwrap();
        check(hit, 0x100, access).map(|t| t.writable)
    }

    #[test]
    fn pp_zero_refuses_every_access() {
        let isi = Err(Fault::Isi {
            srr1: cause::PROTECTION,
        });
        let dsi_load = Err(Fault::Dsi {
            dsisr: cause::PROTECTION,
        });
        let dsi_store = Err(Fault::Dsi {
            dsisr: cause::PROTECTION | cause::DSI_STORE,
        });

        assert_eq!(access_result(0, Access::Fetch), isi);
        assert_eq!(access_result(0, Access::Load), dsi_load);
        assert_eq!(access_result(0, Access::Store), dsi_store);
    }

    #[test]
    fn pp_one_and_three_are_read_only() {
        for pp in [1, 3] {
            assert_eq!(access_result(pp, Access::Fetch), Ok(false));
            assert_eq!(access_result(pp, Access::Load), Ok(false));
            assert_eq!(
                access_result(pp, Access::Store),
                Err(Fault::Dsi { dsisr: 0x0A00_0000 })
            );
        }
    }

    #[test]
    fn pp_two_is_read_write() {
        assert_eq!(access_result(2, Access::Fetch), Ok(true));
        assert_eq!(access_result(2, Access::Load), Ok(true));
        assert_eq!(access_result(2, Access::Store), Ok(true));
    }

    #[test]
    fn fetch_from_guarded_block_is_isi_bit3_but_load_is_fine() {
        let b = bat(0x8000_0000, 0x8000_0000, 0x1000_0000, 0x28 | RW); // I and G
        let hit = lookup(&one(b), 0x8000_0000, false).unwrap();

        assert_eq!(
            check(hit, 0x8000_0000, Access::Fetch),
            Err(Fault::Isi {
                srr1: cause::ISI_NO_FETCH
            })
        );
        let load = check(hit, 0x8000_0000, Access::Load).unwrap();
        assert_eq!(load.wimg, 0b0101);
    }

    #[test]
    fn fetch_from_no_access_guarded_block_reports_protection() {
        let b = bat(0, 0, 0x2_0000, BATL_G);
        let hit = lookup(&one(b), 0, false).unwrap();

        assert_eq!(
            check(hit, 0, Access::Fetch),
            Err(Fault::Isi {
                srr1: cause::PROTECTION
            })
        );
    }

    #[test]
    fn wimg_comes_from_batl() {
        let b = bat(0, 0, 0x2_0000, 0x78 | RW);
        let hit = lookup(&one(b), 0, false).unwrap();

        assert_eq!(check(hit, 0, Access::Load).unwrap().wimg, 0xF);
    }
}

/// BAT matching and address formation against the manual's figure (PEM 7.4.3),
/// bit by bit with IBM numbering.
#[cfg(test)]
mod manual_properties {
    use super::*;
    use proptest::prelude::*;

    fn bits(value: u32, from: u32, to: u32) -> u32 {
        let len = to - from + 1;
        (value >> (31 - to)) & ((1u32 << len) - 1)
    }

    /// Hit: EA[0:3] = BEPI[0:3] and EA[4:14] & !BL = BEPI[4:14]; the valid bit
    /// for the privilege is set.
    fn manual_hit(upper: u32, ea: u32, pr: bool) -> bool {
        let valid = if pr { upper & 1 } else { (upper >> 1) & 1 };
        let bl = bits(upper, 19, 29);
        valid == 1
            && bits(ea, 0, 3) == bits(upper, 0, 3)
            && bits(ea, 4, 14) & !bl & 0x7FF == bits(upper, 4, 14)
    }

    /// PA: BRPN[0:3] || (BRPN[4:14] | (EA[4:14] & BL)) || EA[15:31].
    fn manual_pa(upper: u32, lower: u32, ea: u32) -> u32 {
        let bl = bits(upper, 19, 29);
        (bits(lower, 0, 3) << 28)
            | ((bits(lower, 4, 14) | (bits(ea, 4, 14) & bl)) << 17)
            | bits(ea, 15, 31)
    }

    /// A well-formed BAT: BL of contiguous low ones, BEPI and BRPN aligned to it.
    fn aligned_bat() -> impl Strategy<Value = Bat> {
        (0u32..=11, any::<u32>(), any::<u32>(), 0u32..4, 0u32..16).prop_map(
            |(ones, raw_u, raw_l, v, wimg_pp)| {
                let bl = (1u32 << ones) - 1;
                let block = !(bl << 17) & BATU_BEPI;
                Bat {
                    upper: (raw_u & block) | (bl << 2) | v,
                    lower: (raw_l & block) | (wimg_pp << 3) | 2,
                }
            },
        )
    }

    proptest! {
        #[test]
        fn bat_hit_and_address_match_the_manual(
            bat in aligned_bat(), ea in any::<u32>(), pr in any::<bool>(), near in any::<bool>()
        ) {
            // Half the cases aim at the block's first 128 KiB, so hits are common.
            let ea = if near { (bat.upper & BATU_BEPI) | (ea & 0x1_FFFF) } else { ea };
            let bats = [bat, Bat::default(), Bat::default(), Bat::default()];

            let hit = lookup(&bats, ea, pr);

            prop_assert_eq!(hit.is_some(), manual_hit(bat.upper, ea, pr));
            if let Some(hit) = hit {
                let t = check(hit, ea, Access::Load).unwrap();
                prop_assert_eq!(t.pa, manual_pa(bat.upper, bat.lower, ea));
            }
        }
    }
}
