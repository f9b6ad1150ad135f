//! The PowerPC 750 (G3) CPU of beige, as a translating interpreter.
//!
//! Guest code is decoded once into translation blocks of pre-decoded micro-ops
//! ([`decode`]), built per physical page ([`translate`]), kept in [`block_cache`] and
//! run by [`exec`]. Exceptions follow the 750's vectors and SRR0/SRR1 rules
//! ([`exceptions`]); address translation is [`mmu`] behind a soft TLB ([`tlb`]).
//!
//! References: *PowerPC 750 RISC Microprocessor User's Manual* (IBM, 1999) and the
//! *Programming Environments Manual for 32-bit Implementations* (PEM). Behaviour where
//! the manuals leave freedom follows QEMU's `target/ppc` (the project's reference).
//!
//! The board side is the [`Bus`] trait: RAM as a [`GuestRam`], every other physical
//! access through `Bus::read`/`Bus::write`, and the input pins through `Bus::take_pins`.

pub mod block_cache;
pub mod bus;
pub mod decode;
pub mod disasm;
pub mod exceptions;
pub mod exec;
mod fp;
pub mod fpu;
pub mod mmu;
pub mod ram;
pub mod spr;
pub mod state;
#[cfg(test)]
mod testutil;
pub mod timebase;
pub mod tlb;
pub mod translate;

pub use bus::Bus;
pub use exceptions::Exception;
pub use ram::GuestRam;

use block_cache::BlockCache;
use mmu::MmuRegs;
use timebase::TimeBase;
use tlb::SoftTlb;

/// Construction parameters (ARCHITECTURE.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuConfig {
    /// Processor version register; 0x00080301 is the 750 v3.1 of the Beige G3.
    pub pvr: u32,
    /// Virtual nanoseconds per retired instruction.
    pub ns_per_insn: u64,
    /// Timebase and decrementer frequency in Hz.
    pub tb_freq: u64,
    /// Send subsection `cpu/irq_state` (property `cpu.migrate-irq-state`).
    pub migrate_irq_state: bool,
    /// Linux user-mode emulation: start in problem state and stop at `sc`.
    pub user_mode: bool,
}

impl Default for CpuConfig {
    fn default() -> Self {
        CpuConfig {
            pvr: 0x0008_0301,
            ns_per_insn: 10,
            tb_freq: 16_600_000,
            migrate_irq_state: true,
            user_mode: false,
        }
    }
}

/// Why [`Cpu::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Virtual time reached `until_ns`.
    Deadline,
    /// MSR[POW] is set: the CPU sleeps until an interrupt. Call [`Cpu::idle_until`].
    Idle,
    /// The bus asked to stop, or (user mode) the program hit an exception it cannot
    /// continue from; see [`Cpu::user_fault`].
    Stop,
    /// User mode only: `sc` executed; NIP is past it. r0 holds the syscall number.
    Syscall,
}

/// Input pins; the discriminant is QEMU's `PPC6xx_INPUT_*` bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Pin {
    Hreset = 0,
    Sreset = 1,
    Mcp = 3,
    Smi = 4,
    Int = 5,
}

/// QEMU's `PPC_INTERRUPT_*` bit numbers for `pending_interrupts`.
pub mod interrupt {
    pub const RESET: u32 = 0;
    pub const MCK: u32 = 2;
    pub const EXT: u32 = 3;
    pub const SMI: u32 = 4;
    pub const DECR: u32 = 8;
}

/// MSR bits (PEM table 2-5), as 32-bit masks.
pub mod msr {
    pub const POW: u32 = 1 << 18;
    pub const ILE: u32 = 1 << 16;
    pub const EE: u32 = 1 << 15;
    pub const PR: u32 = 1 << 14;
    pub const FP: u32 = 1 << 13;
    pub const ME: u32 = 1 << 12;
    pub const FE0: u32 = 1 << 11;
    pub const SE: u32 = 1 << 10;
    pub const BE: u32 = 1 << 9;
    pub const FE1: u32 = 1 << 8;
    pub const IP: u32 = 1 << 6;
    pub const IR: u32 = 1 << 5;
    pub const DR: u32 = 1 << 4;
    pub const PM: u32 = 1 << 2;
    pub const RI: u32 = 1 << 1;
    pub const LE: u32 = 1;
    /// Bits a 750 implements (QEMU's `msr_mask` for the 750).
    pub const WRITABLE: u32 = 0x0005_FF77;
    /// Bits that change how addresses are translated: the TLB is flushed when they do.
    pub const TRANSLATION: u32 = IR | DR | PR;
}

/// XER bits.
pub mod xer {
    pub const SO: u32 = 1 << 31;
    pub const OV: u32 = 1 << 30;
    pub const CA: u32 = 1 << 29;
    /// Bits that exist on the 750: SO, OV, CA and the string byte count.
    pub const MASK: u32 = SO | OV | CA | 0x7F;
}

/// The PowerPC 750.
///
/// Architected registers are public fields so a user-mode runner or debugger can read
/// and write them directly between calls to [`Cpu::run`].
#[derive(Debug)]
pub struct Cpu {
    pub cfg: CpuConfig,
    pub gpr: [u32; 32],
    /// FPRs as IEEE double bit patterns.
    pub fpr: [u64; 32],
    /// CR as its eight 4-bit fields, one per byte (CR0 first): compares and record
    /// forms write one byte and branches test one bit of one, without the shifts
    /// and masks of the packed register (QEMU's `crf[8]`). `cr()` packs them.
    pub(crate) crf: [u8; 8],
    /// `cr()` on its way to and from a snapshot (see `state.rs`).
    pub(crate) cr_saved: u32,
    pub xer: u32,
    pub lr: u32,
    pub ctr: u32,
    pub nip: u32,
    pub msr: u32,
    pub fpscr: u32,
    pub srr0: u32,
    pub srr1: u32,
    pub sprg: [u32; 4],
    pub dar: u32,
    pub dsisr: u32,
    pub ear: u32,
    pub pvr: u32,
    pub hid0: u32,
    pub hid1: u32,
    pub l2cr: u32,
    pub thrm: [u32; 3],
    pub ictc: u32,
    pub mmcr0: u32,
    pub mmcr1: u32,
    pub pmc: [u32; 4],
    pub sia: u32,
    pub iabr: u32,
    pub dabr: u32,
    /// BATs, segment registers and SDR1.
    pub mmu: MmuRegs,
    /// `lwarx` reservation: held, and its effective address.
    pub reserve_valid: bool,
    pub reserve_addr: u32,
    /// Input pin levels, bit n = [`Pin`] n (QEMU `irq_input_state`).
    pub irq_input_state: u32,
    /// Raised, not yet taken interrupts, bit n = [`interrupt`] n.
    pub pending_interrupts: u32,
    /// User mode: the exception that stopped the program.
    pub user_fault: Option<Exception>,
    /// Retired instructions since creation (for MIPS figures; not saved).
    pub icount: u64,
    /// Debug aid: when true, every delivered exception is appended to
    /// `exception_log` as (SRR0, vector, DAR). Not saved.
    pub log_exceptions: bool,
    pub exception_log: Vec<(u32, u32, u32)>,
    pub(crate) now_ns: u64,
    pub(crate) tb: TimeBase,
    pub(crate) tlb: SoftTlb,
    pub(crate) blocks: BlockCache,
    /// Set when a block must end after the current instruction (MMIO changed pins,
    /// a store hit translated code).
    pub(crate) end_block: bool,
    /// The board asked to stop during a device access (see `Bus::stop_requested`).
    pub(crate) stop_requested: bool,
    /// New pin levels a device access reported, applied when its block has ended:
    /// a reset pin must not replace the CPU under a running op.
    pub(crate) pins_pending: Option<u32>,
    /// The exception an op raised, on its way from the op to delivery.
    pub(crate) exception: Option<Exception>,
    /// Chaining from block to block stops at this virtual time (see
    /// `exec::Cpu::chain`).
    pub(crate) chain_until: u64,
    /// The time before the running block's first op (see `exec::Cpu::sync_time`).
    pub(crate) blk_ns: u64,
    /// The page of the running block: its ops hold their offsets into it (see
    /// `exec::Cpu::ea_of`).
    pub(crate) blk_page: u32,
    pub(crate) jump_cache: exec::JumpCache,
}

impl Default for Cpu {
    fn default() -> Self {
        Cpu::new(CpuConfig::default())
    }
}

impl Cpu {
    /// A CPU in its hard-reset state.
    pub fn new(cfg: CpuConfig) -> Cpu {
        let mut cpu = Cpu::power_on(cfg);
        cpu.reset();
        cpu
    }

    /// Registers as QEMU shows them with `-S` (g3beige.md), at virtual time zero.
    fn power_on(cfg: CpuConfig) -> Cpu {
        Cpu {
            cfg,
            gpr: [0; 32],
            fpr: [0; 32],
            crf: [0; 8],
            cr_saved: 0,
            xer: 0,
            lr: 0,
            ctr: 0,
            nip: 0xFFF0_0100,
            msr: msr::IP,
            fpscr: 0,
            srr0: 0,
            srr1: 0,
            sprg: [0; 4],
            dar: 0,
            dsisr: 0,
            ear: 0,
            pvr: cfg.pvr,
            hid0: 0,
            hid1: 0,
            l2cr: 0,
            thrm: [0; 3],
            ictc: 0,
            mmcr0: 0,
            mmcr1: 0,
            pmc: [0; 4],
            sia: 0,
            iabr: 0,
            dabr: 0,
            mmu: MmuRegs::default(),
            reserve_valid: false,
            reserve_addr: 0,
            irq_input_state: 0,
            pending_interrupts: 0,
            user_fault: None,
            icount: 0,
            log_exceptions: false,
            exception_log: Vec::new(),
            now_ns: 0,
            tb: TimeBase::new(cfg.tb_freq),
            tlb: SoftTlb::new(),
            blocks: BlockCache::new(),
            end_block: false,
            stop_requested: false,
            pins_pending: None,
            exception: None,
            chain_until: 0,
            blk_ns: 0,
            blk_page: 0,
            jump_cache: exec::JumpCache::new(),
        }
    }

    /// Hard reset: registers as at power-on. Virtual time keeps running; the
    /// timebase restarts from zero.
    pub fn reset(&mut self) {
        let cfg = self.cfg;
        let now = self.now_ns;
        let mut fresh = Cpu::power_on(cfg);
        fresh.now_ns = now;
        fresh.icount = self.icount;
        fresh.log_exceptions = self.log_exceptions;
        fresh.exception_log = std::mem::take(&mut self.exception_log);
        *self = fresh;
        self.tb.reset(now);
        if cfg.user_mode {
            // Linux user space: problem state, FP on, no translation (flat memory).
            self.msr = msr::PR | msr::FP | msr::ME | msr::EE;
            self.nip = 0;
        }
    }

    /// Virtual time in nanoseconds.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Skip virtual time while halted (MSR[POW]); never past the next decrementer
    /// underflow, so the wake-up happens on time.
    pub fn idle_until(&mut self, ns: u64) {
        let target = ns.min(self.tb.dec_deadline_ns());
        if target > self.now_ns {
            self.now_ns = target;
        }
    }

    /// When the CPU itself next needs to run: the decrementer underflow.
    pub fn next_deadline_ns(&self) -> Option<u64> {
        Some(self.tb.dec_deadline_ns())
    }

    /// Drive one input pin. INT is level-sensitive, as QEMU's `ppc6xx_set_irq`.
    pub fn set_pin(&mut self, pin: Pin, level: bool) {
        let bit = 1u32 << pin as u32;
        let levels = if level {
            self.irq_input_state | bit
        } else {
            self.irq_input_state & !bit
        };
        self.set_pins(levels);
    }

    /// Apply a whole new set of pin levels (as from `Bus::take_pins`).
    pub fn set_pins(&mut self, levels: u32) {
        // Whatever a device access reported before is older than these.
        self.pins_pending = None;
        let old = self.irq_input_state;
        self.irq_input_state = levels;
        let level = |pin: Pin| levels & (1 << pin as u32) != 0;
        let rose = |pin: Pin| (levels & !old) & (1 << pin as u32) != 0;
        let set = |p: &mut u32, n: u32, on: bool| {
            if on {
                *p |= 1 << n
            } else {
                *p &= !(1 << n)
            }
        };
        // INT, SMI and MCP are level inputs in QEMU: the pending bit follows the pin.
        set(
            &mut self.pending_interrupts,
            interrupt::EXT,
            level(Pin::Int),
        );
        set(
            &mut self.pending_interrupts,
            interrupt::SMI,
            level(Pin::Smi),
        );
        if rose(Pin::Mcp) && self.hid0 & spr::HID0_EMCP != 0 {
            self.pending_interrupts |= 1 << interrupt::MCK;
        }
        if rose(Pin::Sreset) {
            self.pending_interrupts |= 1 << interrupt::RESET;
        }
        if rose(Pin::Hreset) {
            self.reset();
            self.irq_input_state = levels;
        }
    }

    /// The timebase as `mftb` reads it now.
    pub fn timebase(&self) -> u64 {
        self.tb.tb(self.now_ns)
    }

    /// The decrementer as `mfdec` reads it now.
    pub fn decrementer(&self) -> u32 {
        self.tb.dec(self.now_ns)
    }

    /// Drop every translated block and TLB entry (after an external change to
    /// registers, e.g. loadvm).
    pub fn flush_caches(&mut self) {
        self.tlb.flush_all();
        self.blocks.clear();
    }

    /// Read CR field `n` (0 = CR0) as a 4-bit value.
    #[inline(always)]
    pub fn cr_field(&self, n: u32) -> u32 {
        self.crf[n as usize & 7] as u32
    }

    /// The condition register, packed as `mfcr` reads it.
    pub fn cr(&self) -> u32 {
        self.crf.iter().fold(0, |cr, &f| cr << 4 | f as u32)
    }

    pub fn set_cr(&mut self, cr: u32) {
        for (n, f) in self.crf.iter_mut().enumerate() {
            *f = (cr >> (28 - 4 * n)) as u8 & 15;
        }
    }

    /// CR bit `bi` (0 = CR0[LT]).
    #[inline(always)]
    pub(crate) fn cr_bit(&self, bi: u32) -> u32 {
        (self.crf[(bi >> 2) as usize & 7] as u32 >> (3 - (bi & 3))) & 1
    }
}
