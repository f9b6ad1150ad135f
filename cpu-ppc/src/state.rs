//! Saved state of the CPU: section `cpu`, subsection `cpu/irq_state`.
//!
//! Everything architected is saved, plus the virtual clock and the timebase and
//! decrementer offsets, so a restored CPU continues identically. Derived caches (soft
//! TLB, translated blocks) are not saved; `post_load` drops them.

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

use crate::Cpu;

const BAT_NAMES: [[&str; 2]; 8] = [
    ["ibat0u", "ibat0l"],
    ["ibat1u", "ibat1l"],
    ["ibat2u", "ibat2l"],
    ["ibat3u", "ibat3l"],
    ["dbat0u", "dbat0l"],
    ["dbat1u", "dbat1l"],
    ["dbat2u", "dbat2l"],
    ["dbat3u", "dbat3l"],
];

impl Cpu {
    /// `cpu/irq_state` is sent only when it carries something and the machine type
    /// migrates it (property `cpu.migrate-irq-state`).
    fn irq_state_needed(&self) -> bool {
        self.cfg.migrate_irq_state && (self.pending_interrupts != 0 || self.irq_input_state != 0)
    }
}

fn irq_state() -> Vmsd<Cpu> {
    Vmsd::builder("cpu/irq_state")
        .version(1)
        .field(
            "pending_interrupts",
            |s: &Cpu| &s.pending_interrupts,
            |s| &mut s.pending_interrupts,
        )
        .field(
            "irq_input_state",
            |s: &Cpu| &s.irq_input_state,
            |s| &mut s.irq_input_state,
        )
        .build()
}

impl VmState for Cpu {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Cpu>> = LazyLock::new(|| {
            let mut b = Vmsd::builder("cpu")
                .version(1)
                .field("gpr", |s: &Cpu| &s.gpr, |s| &mut s.gpr)
                .field("fpr", |s: &Cpu| &s.fpr, |s| &mut s.fpr)
                .field("cr", |s: &Cpu| &s.cr_saved, |s| &mut s.cr_saved)
                .field("xer", |s: &Cpu| &s.xer, |s| &mut s.xer)
                .field("lr", |s: &Cpu| &s.lr, |s| &mut s.lr)
                .field("ctr", |s: &Cpu| &s.ctr, |s| &mut s.ctr)
                .field("fpscr", |s: &Cpu| &s.fpscr, |s| &mut s.fpscr)
                .field("msr", |s: &Cpu| &s.msr, |s| &mut s.msr)
                .field("nip", |s: &Cpu| &s.nip, |s| &mut s.nip)
                .field("srr0", |s: &Cpu| &s.srr0, |s| &mut s.srr0)
                .field("srr1", |s: &Cpu| &s.srr1, |s| &mut s.srr1)
                .field("sprg", |s: &Cpu| &s.sprg, |s| &mut s.sprg)
                .field("dar", |s: &Cpu| &s.dar, |s| &mut s.dar)
                .field("dsisr", |s: &Cpu| &s.dsisr, |s| &mut s.dsisr)
                .field("ear", |s: &Cpu| &s.ear, |s| &mut s.ear)
                .field("pvr", |s: &Cpu| &s.pvr, |s| &mut s.pvr)
                .field("hid0", |s: &Cpu| &s.hid0, |s| &mut s.hid0)
                .field("hid1", |s: &Cpu| &s.hid1, |s| &mut s.hid1)
                .field("l2cr", |s: &Cpu| &s.l2cr, |s| &mut s.l2cr)
                .field("thrm", |s: &Cpu| &s.thrm, |s| &mut s.thrm)
                .field("ictc", |s: &Cpu| &s.ictc, |s| &mut s.ictc)
                .field("mmcr0", |s: &Cpu| &s.mmcr0, |s| &mut s.mmcr0)
                .field("mmcr1", |s: &Cpu| &s.mmcr1, |s| &mut s.mmcr1)
                .field("pmc", |s: &Cpu| &s.pmc, |s| &mut s.pmc)
                .field("sia", |s: &Cpu| &s.sia, |s| &mut s.sia)
                .field("iabr", |s: &Cpu| &s.iabr, |s| &mut s.iabr)
                .field("dabr", |s: &Cpu| &s.dabr, |s| &mut s.dabr)
                .field("sr", |s: &Cpu| &s.mmu.sr, |s| &mut s.mmu.sr)
                .field("sdr1", |s: &Cpu| &s.mmu.sdr1, |s| &mut s.mmu.sdr1);
            for (n, [upper, lower]) in BAT_NAMES.into_iter().enumerate() {
                let (k, ibat) = (n % 4, n < 4);
                b = b
                    .field(
                        upper,
                        move |s: &Cpu| {
                            if ibat {
                                &s.mmu.ibat[k].upper
                            } else {
                                &s.mmu.dbat[k].upper
                            }
                        },
                        move |s| {
                            if ibat {
                                &mut s.mmu.ibat[k].upper
                            } else {
                                &mut s.mmu.dbat[k].upper
                            }
                        },
                    )
                    .field(
                        lower,
                        move |s: &Cpu| {
                            if ibat {
                                &s.mmu.ibat[k].lower
                            } else {
                                &s.mmu.dbat[k].lower
                            }
                        },
                        move |s| {
                            if ibat {
                                &mut s.mmu.ibat[k].lower
                            } else {
                                &mut s.mmu.dbat[k].lower
                            }
                        },
                    );
            }
            b.field(
                "reserve_valid",
                |s: &Cpu| &s.reserve_valid,
                |s| &mut s.reserve_valid,
            )
            .field(
                "reserve_addr",
                |s: &Cpu| &s.reserve_addr,
                |s| &mut s.reserve_addr,
            )
            .field("clock_ns", |s: &Cpu| &s.now_ns, |s| &mut s.now_ns)
            .field(
                "tb_offset",
                |s: &Cpu| &s.tb.tb_offset,
                |s| &mut s.tb.tb_offset,
            )
            .field("dec_base", |s: &Cpu| &s.tb.dec_base, |s| &mut s.tb.dec_base)
            .field(
                "dec_base_ticks",
                |s: &Cpu| &s.tb.dec_base_ticks,
                |s| &mut s.tb.dec_base_ticks,
            )
            .field(
                "dec_deadline_ns",
                |s: &Cpu| &s.tb.dec_deadline,
                |s| &mut s.tb.dec_deadline,
            )
            .subsection(irq_state(), |s: &Cpu| s.irq_state_needed())
            .pre_save(|s| s.cr_saved = s.cr())
            .pre_load(|s| {
                // A stream without the subsection leaves both zero.
                s.pending_interrupts = 0;
                s.irq_input_state = 0;
            })
            .post_load(|s, _version| {
                if s.tb.freq == 0 {
                    return Err("timebase frequency is zero".into());
                }
                s.set_cr(s.cr_saved);
                s.flush_caches();
                Ok(())
            })
            .build()
        });
        &V
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CpuConfig, Pin};
    use savevm::testing::{assert_mutated_roundtrip, assert_roundtrip};

    #[test]
    fn reset_cpu_roundtrips() {
        let mut cpu = Cpu::default();
        assert_roundtrip(&mut cpu);
    }

    #[test]
    fn every_register_group_survives_roundtrip() {
        let mut cpu = Cpu::default();
        assert_mutated_roundtrip(&mut cpu, |c| {
            c.gpr[7] = 0x1234_5678;
            c.fpr[3] = 0x7FF4_0000_0000_0001; // SNaN pattern must stay bit-exact
            c.mmu.dbat[2].lower = 0x0000_0012;
            c.mmu.sr[15] = 0x0000_0ABC;
            c.reserve_valid = true;
            c.reserve_addr = 0x4000;
            c.now_ns = 12345;
            c.tb.tb_offset = 99;
        });
        let bytes = savevm::save_bytes(&mut cpu);
        let mut fresh = Cpu::default();
        savevm::load_bytes(&mut fresh, &bytes).unwrap();
        assert_eq!(fresh.fpr[3], 0x7FF4_0000_0000_0001);
        assert_eq!(fresh.mmu.dbat[2].lower, 0x12);
        assert_eq!(fresh.now_ns(), 12345);
    }

    #[test]
    fn subsection_absent_when_irq_state_zero() {
        let mut cpu = Cpu::default();
        let quiet = savevm::save_bytes(&mut cpu);
        assert!(!contains(&quiet, b"cpu/irq_state"));
        cpu.set_pin(Pin::Int, true);
        let busy = savevm::save_bytes(&mut cpu);
        assert!(contains(&busy, b"cpu/irq_state"));
    }

    #[test]
    fn subsection_absent_when_migration_disabled() {
        let mut cpu = Cpu::new(CpuConfig {
            migrate_irq_state: false,
            ..CpuConfig::default()
        });
        cpu.set_pin(Pin::Int, true);
        let bytes = savevm::save_bytes(&mut cpu);
        assert!(!contains(&bytes, b"cpu/irq_state"));
    }

    #[test]
    fn irq_state_restored_and_absent_subsection_clears_it() {
        let mut src = Cpu::default();
        src.set_pin(Pin::Int, true);
        let bytes = savevm::save_bytes(&mut src);
        let mut dst = Cpu::default();
        savevm::load_bytes(&mut dst, &bytes).unwrap();
        assert_eq!(dst.irq_input_state, 1 << Pin::Int as u32);
        assert_ne!(dst.pending_interrupts, 0);

        let quiet = savevm::save_bytes(&mut Cpu::default());
        savevm::load_bytes(&mut dst, &quiet).unwrap();
        assert_eq!((dst.irq_input_state, dst.pending_interrupts), (0, 0));
    }

    fn contains(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }
}
