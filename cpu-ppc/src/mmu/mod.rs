//! Address translation for the PowerPC 750: BATs, segment registers and the hashed
//! page table of the 32-bit OEA (PowerPC 750 RISC Microprocessor User's Manual,
//! chapter 5; Programming Environments Manual for 32-bit implementations, chapter 7).
//!
//! [`translate`] is the whole walk for one effective address with translation on:
//! BAT first (a BAT hit beats the page table), then the segment register, then the
//! primary and secondary PTE groups. Fault bits are the ones QEMU's `mmu-hash32.c`
//! reports, except where the 750 manual defines behaviour QEMU does not model:
//! direct-store segments (refused), fetches from guarded memory (refused) and
//! fetches from pages the key and PP make unreadable (refused; QEMU lets every
//! fetch through PP). `qemu_golden` replays cases recorded on qemu-system-ppc and
//! lists exactly these differences.
//! Real mode (`MSR[IR]/MSR[DR]` clear) is the caller's: it never calls [`translate`].

pub mod bat;
pub mod hash32;
pub mod tlb;

#[cfg(test)]
mod qemu_golden;

/// One BAT register pair (upper and lower word), as written by `mtspr`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bat {
    pub upper: u32,
    pub lower: u32,
}

/// The MMU's architected registers. The CPU owns them; they are saved with it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MmuRegs {
    pub ibat: [Bat; 4],
    pub dbat: [Bat; 4],
    pub sr: [u32; 16],
    pub sdr1: u32,
}

/// The kind of access being translated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Instruction fetch: uses the IBATs and raises ISI.
    Fetch,
    /// Data load: uses the DBATs and raises DSI.
    Load,
    /// Data store: uses the DBATs, raises DSI with `DSISR[ST]`, sets the C bit.
    Store,
}

/// A successful translation.
///
/// `pa` is the physical address of the effective address asked for. Every other
/// effective address with the same `ea & page_mask` translates the same way, to
/// `(pa & page_mask) | (ea & !page_mask)`, so a TLB may cache it at any page size up
/// to `!page_mask + 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Translation {
    pub pa: u32,
    /// A store to this page may go ahead without walking again. False for read-only
    /// pages and also for writable pages whose PTE C bit is still clear, so that the
    /// first store comes back here to set it.
    pub writable: bool,
    /// Mask of the effective-address bits that select this mapping:
    /// `0xFFFF_F000` for a page, larger for a BAT block.
    pub page_mask: u32,
    /// Storage attributes W, I, M, G in bits 3..0 (W = 8, I = 4, M = 2, G = 1).
    pub wimg: u8,
    /// The mapping came from a BAT rather than the page table.
    pub from_bat: bool,
}

/// A translation fault. The core raises the exception; for DSI it also sets
/// DAR to the effective address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Instruction storage interrupt (vector 0x400); `srr1` holds the cause bits
    /// `SRR1[1..4]` to OR into SRR1.
    Isi { srr1: u32 },
    /// Data storage interrupt (vector 0x300); `dsisr` is the whole new DSISR.
    Dsi { dsisr: u32 },
}

/// Cause bits of ISI (in SRR1) and DSI (in DSISR), IBM bit numbering in comments.
pub mod cause {
    /// Bit 1: no PTE matched in either PTE group.
    pub const NOT_FOUND: u32 = 0x4000_0000;
    /// ISI bit 3: fetch from a direct-store or no-execute segment, or guarded memory.
    pub const ISI_NO_FETCH: u32 = 0x1000_0000;
    /// Bit 4: the access is not permitted by the PP bits and key.
    pub const PROTECTION: u32 = 0x0800_0000;
    /// DSISR bit 5: data access to a direct-store segment (the 750 has none).
    pub const DSI_DIRECT_STORE: u32 = 0x0400_0000;
    /// DSISR bit 6: the access was a store.
    pub const DSI_STORE: u32 = 0x0200_0000;
}

/// Physical memory as the page-table walker sees it: big-endian words.
pub trait PteMem {
    fn read_u32(&mut self, pa: u32) -> u32;
    fn write_u32(&mut self, pa: u32, v: u32);
}

/// Translates `ea` for `access` with translation enabled, as the 750 does: a BAT hit
/// wins, otherwise the segment register and the hashed page table decide.
/// Updates the PTE R and C bits through `mem` when they change.
pub fn translate(
    regs: &MmuRegs,
    ea: u32,
    access: Access,
    msr_pr: bool,
    mem: &mut impl PteMem,
) -> Result<Translation, Fault> {
    let bats = if access == Access::Fetch {
        &regs.ibat
    } else {
        &regs.dbat
    };
    if let Some(hit) = bat::lookup(bats, ea, msr_pr) {
        return bat::check(hit, ea, access);
    }
    hash32::translate_segment(
        regs.sr[(ea >> 28) as usize],
        regs.sdr1,
        ea,
        access,
        msr_pr,
        mem,
    )
}

/// [`translate`] without side effects, for debuggers and logs (QEMU's
/// `get_phys_page_debug`): the same answer, but the PTE R and C bits are left as
/// they are.
pub fn translate_debug(
    regs: &MmuRegs,
    ea: u32,
    access: Access,
    msr_pr: bool,
    mem: &mut impl PteMem,
) -> Result<Translation, Fault> {
    struct ReadOnly<'a, M>(&'a mut M);
    impl<M: PteMem> PteMem for ReadOnly<'_, M> {
        fn read_u32(&mut self, pa: u32) -> u32 {
            self.0.read_u32(pa)
        }
        fn write_u32(&mut self, _pa: u32, _v: u32) {}
    }
    translate(regs, ea, access, msr_pr, &mut ReadOnly(mem))
}

/// The fault for a protection violation of `access` (page or BAT).
pub(crate) fn protection_fault(access: Access) -> Fault {
    match access {
        Access::Fetch => Fault::Isi {
            srr1: cause::PROTECTION,
        },
        Access::Load => Fault::Dsi {
            dsisr: cause::PROTECTION,
        },
        Access::Store => Fault::Dsi {
            dsisr: cause::PROTECTION | cause::DSI_STORE,
        },
    }
}

/// A sparse physical memory for tests, recording every PTE write.
#[cfg(test)]
pub(crate) mod test_mem {
    use super::hash32::{primary_hash, pte0_tag, pteg_address, PTE0_H, PTE0_V, PTE_SIZE};
    use super::PteMem;
    use std::collections::HashMap;

    #[derive(Debug, Default)]
    pub struct FakeMem {
        pub words: HashMap<u32, u32>,
        pub writes: Vec<(u32, u32)>,
    }

    impl PteMem for FakeMem {
        fn read_u32(&mut self, pa: u32) -> u32 {
            self.words.get(&pa).copied().unwrap_or(0)
        }
        fn write_u32(&mut self, pa: u32, v: u32) {
            self.writes.push((pa, v));
            self.words.insert(pa, v);
        }
    }

    /// Where a PTE goes: which group and which of its eight slots.
    #[derive(Debug, Clone, Copy)]
    pub struct Slot {
        pub secondary: bool,
        pub index: u32,
    }

    pub const PRIMARY0: Slot = Slot {
        secondary: false,
        index: 0,
    };

    impl FakeMem {
        /// Writes a valid PTE for `ea` in segment `vsid` and returns its address.
        /// `pte1_low` carries R, C, WIMG and PP.
        pub fn install_pte(
            &mut self,
            sdr1: u32,
            vsid: u32,
            ea: u32,
            pa: u32,
            pte1_low: u32,
            slot: Slot,
        ) -> u32 {
            let hash = primary_hash(vsid, ea);
            let group = pteg_address(sdr1, if slot.secondary { !hash } else { hash });
            let addr = group + slot.index * PTE_SIZE;
            let h = if slot.secondary { PTE0_H } else { 0 };
            self.words.insert(addr, PTE0_V | h | pte0_tag(vsid, ea));
            self.words
                .insert(addr + 4, (pa & 0xFFFF_F000) | (pte1_low & 0x1FF));
            addr
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bat::{BATU_VP, BATU_VS};
    use super::hash32::{PTE1_C, PTE1_R, SR_T};
    use super::test_mem::{FakeMem, PRIMARY0};
    use super::*;

    const SDR1: u32 = 0x0010_0000; // 64 KiB table at 1 MiB
    const VSID: u32 = 0x0012_3456;

    /// A 256 MiB DBAT/IBAT pair mapping EA 0xC000_0000 to PA 0 read-write.
    fn kernel_bat() -> Bat {
        Bat {
            upper: 0xC000_0000 | (0x7FF << 2) | BATU_VS,
            lower: 0x10 | 2, // BRPN 0, M, read-write
        }
    }

    fn regs_with_segment(vsid: u32) -> MmuRegs {
        MmuRegs {
            sr: [vsid; 16],
            sdr1: SDR1,
            ..MmuRegs::default()
        }
    }

    #[test]
    fn dbat_hit_beats_page_table() {
        let mut regs = regs_with_segment(VSID);
        regs.dbat[2] = kernel_bat();
        let mut mem = FakeMem::default();
        mem.install_pte(SDR1, VSID, 0xC000_5000, 0x0800_0000, 2, PRIMARY0);

        let t = translate(&regs, 0xC000_5123, Access::Load, false, &mut mem).unwrap();

        assert_eq!(t.pa, 0x0000_5123);
        assert!(t.from_bat);
        assert!(mem.writes.is_empty(), "a BAT hit must not touch the PTE");
    }

    #[test]
    fn fetch_uses_ibats_and_data_uses_dbats() {
        let mut regs = regs_with_segment(VSID);
        regs.ibat[0] = kernel_bat();
        let mut mem = FakeMem::default();

        let fetch = translate(&regs, 0xC000_0100, Access::Fetch, false, &mut mem);
        let load = translate(&regs, 0xC000_0100, Access::Load, false, &mut mem);

        assert_eq!(fetch.unwrap().pa, 0x0000_0100);
        assert_eq!(
            load,
            Err(Fault::Dsi {
                dsisr: cause::NOT_FOUND
            })
        );
    }

    #[test]
    fn supervisor_only_bat_misses_in_user_mode() {
        let mut regs = regs_with_segment(VSID);
        regs.dbat[0] = kernel_bat();
        let mut mem = FakeMem::default();

        let user = translate(&regs, 0xC000_0000, Access::Load, true, &mut mem);
        regs.dbat[0].upper = (regs.dbat[0].upper & !BATU_VS) | BATU_VP;
        let user_vp = translate(&regs, 0xC000_0000, Access::Load, true, &mut mem);
        let super_vp = translate(&regs, 0xC000_0000, Access::Load, false, &mut mem);

        assert!(matches!(user, Err(Fault::Dsi { .. })));
        assert!(user_vp.unwrap().from_bat);
        assert!(matches!(super_vp, Err(Fault::Dsi { .. })));
    }

    #[test]
    fn segment_direct_store_loses_to_bat() {
        let mut regs = regs_with_segment(SR_T);
        regs.dbat[1] = kernel_bat();
        let mut mem = FakeMem::default();

        let t = translate(&regs, 0xC123_4568, Access::Store, false, &mut mem).unwrap();

        assert_eq!(t.pa, 0x0123_4568);
        assert!(t.writable);
    }

    #[test]
    fn debug_translation_gives_the_same_answer_without_touching_r_or_c() {
        let regs = regs_with_segment(VSID);
        let mut mem = FakeMem::default();
        mem.install_pte(SDR1, VSID, 0x1000_7000, 0x0066_6000, 2, PRIMARY0);

        let t = translate_debug(&regs, 0x1000_7008, Access::Store, false, &mut mem);
        let miss = translate_debug(&regs, 0x1000_8000, Access::Load, false, &mut mem);

        assert_eq!(t.map(|t| t.pa), Ok(0x0066_6008));
        assert_eq!(
            miss,
            Err(Fault::Dsi {
                dsisr: cause::NOT_FOUND
            })
        );
        assert!(mem.writes.is_empty());
    }

    #[test]
    fn page_table_translation_through_top_level_sets_r_once() {
        let regs = regs_with_segment(VSID);
        let mut mem = FakeMem::default();
        let pte = mem.install_pte(SDR1, VSID, 0x1000_3000, 0x0055_5000, 2, PRIMARY0);

        let first = translate(&regs, 0x1000_3ABC, Access::Load, false, &mut mem).unwrap();
        let second = translate(&regs, 0x1000_3ABC, Access::Load, false, &mut mem).unwrap();

        assert_eq!(first.pa, 0x0055_5ABC);
        assert_eq!(second, first);
        assert_eq!(mem.writes, vec![(pte + 4, 0x0055_5000 | PTE1_R | 2)]);
        assert_eq!(mem.words[&(pte + 4)] & PTE1_C, 0);
    }
}
