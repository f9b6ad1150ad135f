//! Special-purpose registers: numbers, privilege and side effects of `mfspr`/`mtspr`.

use crate::exceptions::{Exception, PROGRAM_ILLEGAL, PROGRAM_PRIV};
use crate::mmu::Bat;
use crate::{msr, xer, Cpu};

pub const XER: u32 = 1;
pub const LR: u32 = 8;
pub const CTR: u32 = 9;
pub const DSISR: u32 = 18;
pub const DAR: u32 = 19;
pub const DEC: u32 = 22;
pub const SDR1: u32 = 25;
pub const SRR0: u32 = 26;
pub const SRR1: u32 = 27;
/// User-readable timebase (mfspr form of mftb).
pub const TBL_READ: u32 = 268;
pub const TBU_READ: u32 = 269;
pub const SPRG0: u32 = 272;
pub const SPRG3: u32 = 275;
pub const EAR: u32 = 282;
pub const TBL_WRITE: u32 = 284;
pub const TBU_WRITE: u32 = 285;
pub const PVR: u32 = 287;
pub const IBAT0U: u32 = 528;
pub const DBAT3L: u32 = 543;
pub const UMMCR0: u32 = 936;
pub const UPMC1: u32 = 937;
pub const UPMC2: u32 = 938;
pub const USIA: u32 = 939;
pub const UMMCR1: u32 = 940;
pub const UPMC3: u32 = 941;
pub const UPMC4: u32 = 942;
pub const MMCR0: u32 = 952;
pub const PMC1: u32 = 953;
pub const PMC2: u32 = 954;
pub const SIA: u32 = 955;
pub const MMCR1: u32 = 956;
pub const PMC3: u32 = 957;
pub const PMC4: u32 = 958;
pub const HID0: u32 = 1008;
pub const HID1: u32 = 1009;
pub const IABR: u32 = 1010;
pub const DABR: u32 = 1013;
pub const L2CR: u32 = 1017;
pub const ICTC: u32 = 1019;
pub const THRM1: u32 = 1020;
pub const THRM3: u32 = 1022;

/// HID0: enable machine check pin.
pub const HID0_EMCP: u32 = 1 << 31;
/// HID0 DOZE | NAP | SLEEP: MSR[POW] halts only when one is selected (QEMU's
/// `check_pow_hid0`).
pub const HID0_POWER_MODES: u32 = 0x00E0_0000;

/// SPR numbers with bit 0x10 set are supervisor-only.
fn privileged(spr: u32) -> bool {
    spr & 0x10 != 0
}

impl Cpu {
    /// The exception for an SPR number the 750 does not have, as QEMU decides it:
    /// privileged numbers fault only in user mode; others are illegal in user mode or
    /// for SPR 0/4/5/6, and a no-op otherwise.
    fn invalid_spr(&self, spr: u32) -> Result<(), Exception> {
        let pr = self.msr & msr::PR != 0;
        if privileged(spr) {
            if pr {
                return Err(Exception::Program { srr1: PROGRAM_PRIV });
            }
        } else if pr || matches!(spr, 0 | 4 | 5 | 6) {
            return Err(Exception::Program {
                srr1: PROGRAM_ILLEGAL,
            });
        }
        Ok(())
    }

    fn bat_read(&self, spr: u32) -> u32 {
        let n = (spr - IBAT0U) as usize;
        let bats: &[Bat; 4] = if n < 8 {
            &self.mmu.ibat
        } else {
            &self.mmu.dbat
        };
        let b = &bats[(n % 8) / 2];
        if n % 2 == 0 {
            b.upper
        } else {
            b.lower
        }
    }

    /// `mfspr`. `Ok(None)` is a no-op (invalid SPR that QEMU ignores).
    pub(crate) fn mfspr(&mut self, spr: u32) -> Result<Option<u32>, Exception> {
        if privileged(spr) && self.msr & msr::PR != 0 {
            return Err(Exception::Program { srr1: PROGRAM_PRIV });
        }
        Ok(Some(match spr {
            XER => self.xer,
            LR => self.lr,
            CTR => self.ctr,
            DSISR => self.dsisr,
            DAR => self.dar,
            DEC => self.tb.dec(self.now_ns),
            SDR1 => self.mmu.sdr1,
            SRR0 => self.srr0,
            SRR1 => self.srr1,
            TBL_READ => self.tb.tb(self.now_ns) as u32,
            TBU_READ => (self.tb.tb(self.now_ns) >> 32) as u32,
            SPRG0..=SPRG3 => self.sprg[(spr - SPRG0) as usize],
            EAR => self.ear,
            PVR => self.pvr,
            IBAT0U..=DBAT3L => self.bat_read(spr),
            UMMCR0 | MMCR0 => self.mmcr0,
            UMMCR1 | MMCR1 => self.mmcr1,
            UPMC1 | PMC1 => self.pmc[0],
            UPMC2 | PMC2 => self.pmc[1],
            UPMC3 | PMC3 => self.pmc[2],
            UPMC4 | PMC4 => self.pmc[3],
            USIA | SIA => self.sia,
            HID0 => self.hid0,
            HID1 => self.hid1,
            IABR => self.iabr,
            DABR => self.dabr,
            L2CR => self.l2cr,
            ICTC => self.ictc,
            THRM1..=THRM3 => self.thrm[(spr - THRM1) as usize],
            _ => {
                self.invalid_spr(spr)?;
                return Ok(None);
            }
        }))
    }

    /// `mtspr`. Writes that change translation flush the soft TLB.
    pub(crate) fn mtspr(&mut self, spr: u32, v: u32) -> Result<(), Exception> {
        if privileged(spr) && self.msr & msr::PR != 0 {
            return Err(Exception::Program { srr1: PROGRAM_PRIV });
        }
        match spr {
            XER => self.xer = v & xer::MASK,
            LR => self.lr = v,
            CTR => self.ctr = v,
            DSISR => self.dsisr = v,
            DAR => self.dar = v,
            DEC => {
                if self.tb.set_dec(self.now_ns, v) {
                    self.pending_interrupts |= 1 << crate::interrupt::DECR;
                }
            }
            SDR1 => {
                self.mmu.sdr1 = v;
                self.tlb.flush_all();
            }
            SRR0 => self.srr0 = v,
            SRR1 => self.srr1 = v,
            SPRG0..=SPRG3 => self.sprg[(spr - SPRG0) as usize] = v,
            EAR => self.ear = v,
            TBL_WRITE => {
                let tb = self.tb.tb(self.now_ns);
                self.tb.set_tb(self.now_ns, (tb & !0xFFFF_FFFF) | v as u64);
            }
            TBU_WRITE => {
                let tb = self.tb.tb(self.now_ns);
                self.tb
                    .set_tb(self.now_ns, (tb & 0xFFFF_FFFF) | (v as u64) << 32);
            }
            IBAT0U..=DBAT3L => {
                let n = (spr - IBAT0U) as usize;
                let bat = if n < 8 {
                    &mut self.mmu.ibat[(n % 8) / 2]
                } else {
                    &mut self.mmu.dbat[(n % 8) / 2]
                };
                if n % 2 == 0 {
                    bat.write_upper(v);
                } else {
                    bat.write_lower(v);
                }
                self.tlb.flush_all();
            }
            MMCR0 => self.mmcr0 = v,
            MMCR1 => self.mmcr1 = v,
            PMC1 => self.pmc[0] = v,
            PMC2 => self.pmc[1] = v,
            PMC3 => self.pmc[2] = v,
            PMC4 => self.pmc[3] = v,
            SIA => self.sia = v,
            HID0 => self.hid0 = v,
            HID1 => self.hid1 = v,
            IABR => self.iabr = v,
            DABR => self.dabr = v,
            L2CR => self.l2cr = v,
            ICTC => self.ictc = v,
            THRM1..=THRM3 => self.thrm[(spr - THRM1) as usize] = v,
            // PVR and the user performance-monitor mirrors are read-only; QEMU ignores
            // the write in supervisor state.
            PVR | UMMCR0..=UPMC4 | TBL_READ | TBU_READ => self.invalid_spr(spr)?,
            _ => self.invalid_spr(spr)?,
        }
        Ok(())
    }
}
