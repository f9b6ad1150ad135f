//! Exceptions of the PowerPC 750: vectors, SRR0/SRR1 and the MSR on entry.
//!
//! A guest exception is not a host error: it is an [`Exception`] value returned by an
//! instruction and delivered here (750 manual, chapter 4).

use crate::{msr, Cpu};

/// SRR1 cause bits of the program exception (PEM 6.4.7).
pub const PROGRAM_FP: u32 = 0x0010_0000;
pub const PROGRAM_ILLEGAL: u32 = 0x0008_0000;
pub const PROGRAM_PRIV: u32 = 0x0004_0000;
pub const PROGRAM_TRAP: u32 = 0x0002_0000;

/// SRR1 bits 1-4 and 10-15 carry exception causes; the rest are copied from MSR.
const SRR1_CAUSE_MASK: u32 = 0x783F_0000;

/// DSISR for a store access (bit 6).
pub const DSISR_STORE: u32 = 0x0200_0000;

/// A guest exception raised by an instruction or an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exception {
    SystemReset,
    MachineCheck,
    /// Data storage: DAR and the whole DSISR.
    Dsi {
        dar: u32,
        dsisr: u32,
    },
    /// Instruction storage: cause bits for SRR1.
    Isi {
        srr1: u32,
    },
    External,
    /// Alignment: DAR and DSISR (instruction fields).
    Alignment {
        dar: u32,
        dsisr: u32,
    },
    /// Program: one of the `PROGRAM_*` cause bits.
    Program {
        srr1: u32,
    },
    FpUnavailable,
    Decrementer,
    /// `sc`: SRR0 is the instruction after it.
    Syscall,
    Trace,
    SystemManagement,
}

impl Exception {
    /// Vector offset (750 manual table 4-2).
    pub fn vector(self) -> u32 {
        match self {
            Exception::SystemReset => 0x100,
            Exception::MachineCheck => 0x200,
            Exception::Dsi { .. } => 0x300,
            Exception::Isi { .. } => 0x400,
            Exception::External => 0x500,
            Exception::Alignment { .. } => 0x600,
            Exception::Program { .. } => 0x700,
            Exception::FpUnavailable => 0x800,
            Exception::Decrementer => 0x900,
            Exception::Syscall => 0xC00,
            Exception::Trace => 0xD00,
            Exception::SystemManagement => 0x1400,
        }
    }
}

impl Cpu {
    /// Deliver `e`. `srr0` is the address to resume at (the faulting instruction, or
    /// the next one for `sc` and asynchronous interrupts).
    pub fn deliver(&mut self, e: Exception, srr0: u32) {
        let mut cause = 0;
        match e {
            Exception::Dsi { dar, dsisr } | Exception::Alignment { dar, dsisr } => {
                self.dar = dar;
                self.dsisr = dsisr;
            }
            Exception::Isi { srr1 } | Exception::Program { srr1 } => cause = srr1,
            _ => {}
        }
        self.srr0 = srr0;
        self.srr1 = (self.msr & !SRR1_CAUSE_MASK) | (cause & SRR1_CAUSE_MASK);
        // IP and ME are kept; LE takes ILE; everything else clears (750 table 4-3).
        let mut new = self.msr & (msr::IP | msr::ME | msr::ILE);
        if self.msr & msr::ILE != 0 {
            new |= msr::LE;
        }
        self.set_msr(new);
        let prefix = if self.msr & msr::IP != 0 {
            0xFFF0_0000
        } else {
            0
        };
        self.nip = prefix | e.vector();
        tracing::debug!(
            target: "int",
            "Raise exception at {srr0:08x} => {:08x} ({e:x?}) SRR1 {:08x}",
            self.nip,
            self.srr1
        );
        if self.log_exceptions {
            self.exception_log.push((srr0, e.vector(), self.dar));
        }
    }

    /// Write MSR (only implemented bits), flushing the TLB when translation changes.
    pub(crate) fn set_msr(&mut self, value: u32) {
        let new = value & msr::WRITABLE;
        if (new ^ self.msr) & msr::TRANSLATION != 0 {
            self.tlb.flush_all();
        }
        self.msr = new;
    }

    /// The highest-priority pending interrupt the MSR allows now, cleared if it is
    /// edge-triggered (QEMU `ppc_next_unmasked_interrupt` order for the 6xx).
    pub(crate) fn next_interrupt(&mut self) -> Option<Exception> {
        use crate::interrupt::*;
        let p = self.pending_interrupts;
        if p == 0 {
            return None;
        }
        if p & (1 << RESET) != 0 {
            self.pending_interrupts &= !(1 << RESET);
            return Some(Exception::SystemReset);
        }
        if p & (1 << MCK) != 0 && self.msr & msr::ME != 0 {
            self.pending_interrupts &= !(1 << MCK);
            return Some(Exception::MachineCheck);
        }
        if self.msr & msr::EE == 0 {
            return None;
        }
        // EXT and SMI are levels: they stay pending until the pin drops.
        if p & (1 << EXT) != 0 {
            return Some(Exception::External);
        }
        if p & (1 << DECR) != 0 {
            self.pending_interrupts &= !(1 << DECR);
            return Some(Exception::Decrementer);
        }
        if p & (1 << SMI) != 0 {
            return Some(Exception::SystemManagement);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CpuConfig;

    #[test]
    fn program_exception_sets_srr1_cause_and_vector_with_ip_prefix() {
        let mut cpu = Cpu::new(CpuConfig::default());
        cpu.msr = msr::IP | msr::EE | msr::PR | msr::IR | msr::DR | msr::ME;
        cpu.deliver(Exception::Program { srr1: PROGRAM_PRIV }, 0x1234);
        assert_eq!(cpu.srr0, 0x1234);
        assert_eq!(
            cpu.srr1,
            msr::IP | msr::EE | msr::PR | msr::IR | msr::DR | msr::ME | PROGRAM_PRIV
        );
        assert_eq!(cpu.msr, msr::IP | msr::ME);
        assert_eq!(cpu.nip, 0xFFF0_0700);
    }

    #[test]
    fn dsi_sets_dar_dsisr_and_vector_without_ip() {
        let mut cpu = Cpu::new(CpuConfig::default());
        cpu.msr = msr::DR | msr::ME;
        cpu.deliver(
            Exception::Dsi {
                dar: 0xDEAD_BEEC,
                dsisr: 0x4200_0000,
            },
            0x100,
        );
        assert_eq!(
            (cpu.dar, cpu.dsisr, cpu.nip),
            (0xDEAD_BEEC, 0x4200_0000, 0x300)
        );
        assert_eq!(cpu.srr1, msr::DR | msr::ME);
    }

    #[test]
    fn external_interrupt_waits_for_ee() {
        let mut cpu = Cpu::new(CpuConfig::default());
        cpu.set_pin(crate::Pin::Int, true);
        cpu.msr = 0;
        assert_eq!(cpu.next_interrupt(), None);
        cpu.msr = msr::EE;
        assert_eq!(cpu.next_interrupt(), Some(Exception::External));
        cpu.set_pin(crate::Pin::Int, false);
        assert_eq!(cpu.next_interrupt(), None);
    }
}
