//! Apple's descriptor-based DMA engine in mac-io (Apple "Macintosh Technology in the
//! Common Hardware Reference Platform", ch. 5 "DBDMA"; QEMU hw/misc/macio/mac_dbdma.c;
//! Linux include/asm/dbdma.h and drivers/ata/pata_macio.c).
//!
//! 32 channels of 0x80 bytes each, little-endian 32-bit registers. Software writes
//! ChannelControl as `mask << 16 | value`: only the bits set in `mask` change in
//! ChannelStatus. Setting RUN (or WAKE) makes the channel ACTIVE; the engine then
//! fetches 16-byte little-endian descriptors from CommandPtr in guest RAM.
//!
//! Processing runs in [`Dbdma::run`] over a [`DmaMemory`] the board passes in, with a
//! per-call step budget so a guest's branch-to-self loop cannot stall the emulator.
//! NOP, STOP, LOAD_WORD and STORE_WORD execute here with their wait, interrupt and
//! branch conditions. INPUT/OUTPUT commands need a device: the channel records the
//! request and stays ACTIVE until the device calls [`Dbdma::complete_io`]; with no
//! device behind it the channel simply waits (as in QEMU), and clearing RUN stops it.
//! Bad descriptors (null address, reserved keys) kill the channel: DEAD set, ACTIVE
//! cleared, interrupt raised.
//!
//! A DBDMA interrupt is an event (QEMU raises the line and never lowers it): each
//! one is latched per channel until the board takes it with
//! [`Dbdma::take_irq_pulses`] and pulses the PIC line (IDE0 DMA 0x02, IDE1 DMA 0x03).

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

use crate::pci::{le_reg_read, le_reg_write, UnimpLog};

/// Number of channels.
pub const DBDMA_CHANNELS: usize = 32;
/// Channel stride: channel `n` is at `n << DBDMA_CHANNEL_SHIFT`.
pub const DBDMA_CHANNEL_SHIFT: u32 = 7;
/// Registers implemented per channel (0x40 bytes; the rest of 0x80 is empty).
pub const DBDMA_REGS: usize = 16;
/// Channel of IDE0's DMA (macio +0x8B00).
pub const DBDMA_CHANNEL_IDE0: usize = 0x16;
/// Channel of IDE1's DMA (macio +0x8D00).
pub const DBDMA_CHANNEL_IDE1: usize = 0x1A;

/// ChannelControl (write: mask << 16 | value; reads 0).
pub const DBDMA_CONTROL: usize = 0x0;
/// ChannelStatus (read only).
pub const DBDMA_STATUS: usize = 0x1;
/// CommandPtrHi (reads 0: 32-bit addressing).
pub const DBDMA_CMDPTR_HI: usize = 0x2;
/// CommandPtrLo (16-byte aligned; ignored while ACTIVE).
pub const DBDMA_CMDPTR_LO: usize = 0x3;
/// InterruptSelect.
pub const DBDMA_INTR_SEL: usize = 0x4;
/// BranchSelect.
pub const DBDMA_BRANCH_SEL: usize = 0x5;
/// WaitSelect.
pub const DBDMA_WAIT_SEL: usize = 0x6;
/// TransferModes (unused, reads 0).
pub const DBDMA_XFER_MODE: usize = 0x7;
/// Data2PtrHi (unused, reads 0).
pub const DBDMA_DATA2PTR_HI: usize = 0x8;
/// Data2PtrLo (unused, reads 0).
pub const DBDMA_DATA2PTR_LO: usize = 0x9;
/// Reserved (reads back).
pub const DBDMA_RES1: usize = 0xA;
/// AddressHi (unused, reads 0).
pub const DBDMA_ADDRESS_HI: usize = 0xB;
/// BranchAddressHi (unused, reads 0).
pub const DBDMA_BRANCH_ADDR_HI: usize = 0xC;

/// Status: channel enabled by software.
pub const RUN: u32 = 0x8000;
/// Status: software pause.
pub const PAUSE: u32 = 0x4000;
/// Status: flush request.
pub const FLUSH: u32 = 0x2000;
/// Status: wake a waiting channel.
pub const WAKE: u32 = 0x1000;
/// Status: channel stopped on an error.
pub const DEAD: u32 = 0x0800;
/// Status: channel processing descriptors.
pub const ACTIVE: u32 = 0x0400;
/// Status: the last command branched.
pub const BT: u32 = 0x0100;
/// Status: device status bits s7..s0.
pub const DEVSTAT: u32 = 0x00FF;

/// Descriptor command field: command bits.
pub const COMMAND_MASK: u16 = 0xF000;
/// OUTPUT_MORE.
pub const OUTPUT_MORE: u16 = 0x0000;
/// OUTPUT_LAST.
pub const OUTPUT_LAST: u16 = 0x1000;
/// INPUT_MORE.
pub const INPUT_MORE: u16 = 0x2000;
/// INPUT_LAST.
pub const INPUT_LAST: u16 = 0x3000;
/// STORE_WORD (STORE_QUAD in Linux).
pub const STORE_WORD: u16 = 0x4000;
/// LOAD_WORD (LOAD_QUAD in Linux).
pub const LOAD_WORD: u16 = 0x5000;
/// NOP.
pub const DBDMA_NOP: u16 = 0x6000;
/// STOP.
pub const DBDMA_STOP: u16 = 0x7000;
/// Descriptor: key bits.
pub const KEY_MASK: u16 = 0x0700;
/// Key: stream 3 (highest valid stream key).
pub const KEY_STREAM3: u16 = 0x0300;
/// Key: stream 4 (reserved).
pub const KEY_STREAM4: u16 = 0x0400;
/// Key: device registers.
pub const KEY_REGS: u16 = 0x0500;
/// Key: system memory.
pub const KEY_SYSTEM: u16 = 0x0600;
/// Descriptor: interrupt condition bits.
pub const INTR_MASK: u16 = 0x0030;
/// Interrupt if the condition holds.
pub const INTR_IFSET: u16 = 0x0010;
/// Interrupt if the condition fails.
pub const INTR_IFCLR: u16 = 0x0020;
/// Always interrupt.
pub const INTR_ALWAYS: u16 = 0x0030;
/// Descriptor: branch condition bits.
pub const BR_MASK: u16 = 0x000C;
/// Branch if the condition holds.
pub const BR_IFSET: u16 = 0x0004;
/// Branch if the condition fails.
pub const BR_IFCLR: u16 = 0x0008;
/// Always branch.
pub const BR_ALWAYS: u16 = 0x000C;
/// Descriptor: wait condition bits.
pub const WAIT_MASK: u16 = 0x0003;
/// Wait if the condition holds.
pub const WAIT_IFSET: u16 = 0x0001;
/// Wait if the condition fails.
pub const WAIT_IFCLR: u16 = 0x0002;
/// Always wait.
pub const WAIT_ALWAYS: u16 = 0x0003;

/// Descriptors a channel may execute per [`Dbdma::run`] call.
pub const STEP_BUDGET: u32 = 256;

/// Guest physical memory as the DMA engine sees it (the board implements this over
/// `GuestRam`, so DMA writes invalidate translated code).
pub trait DmaMemory {
    /// Reads `buf.len()` bytes at `addr`; bytes outside RAM read as 0xFF.
    fn read(&mut self, addr: u32, buf: &mut [u8]);
    /// Writes `data` at `addr`; bytes outside RAM are dropped.
    fn write(&mut self, addr: u32, data: &[u8]);
}

/// A data transfer a channel asks its device to perform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DmaRequest {
    /// Guest physical address of the buffer.
    pub addr: u32,
    /// Requested byte count.
    pub len: u16,
    /// Memory to device (OUTPUT_*) rather than device to memory (INPUT_*).
    pub is_output: bool,
    /// The *_LAST variant: the end of a logical transfer.
    pub is_last: bool,
}

/// One 16-byte descriptor, decoded from little-endian memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Descriptor {
    req_count: u16,
    command: u16,
    phy_addr: u32,
    cmd_dep: u32,
}

impl Descriptor {
    fn fetch(mem: &mut dyn DmaMemory, at: u32) -> Self {
        let mut b = [0u8; 16];
        mem.read(at, &mut b);
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        Descriptor {
            req_count: u16_at(0),
            command: u16_at(2),
            phy_addr: u32_at(4),
            cmd_dep: u32_at(8),
        }
    }
}

/// One channel's registers (saved).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbdmaChannel {
    /// Register file, indexed by the `DBDMA_*` register numbers.
    pub regs: [u32; DBDMA_REGS],
    /// Waiting for the device to finish an INPUT/OUTPUT descriptor.
    pub io_pending: bool,
    /// That transfer's buffer address.
    pub io_addr: u32,
    /// That transfer's requested length.
    pub io_len: u16,
    /// That transfer goes memory to device.
    pub io_output: bool,
    /// That transfer is an *_LAST command.
    pub io_last: bool,
    /// An interrupt the board has not taken yet.
    pub irq_pending: bool,
}

impl DbdmaChannel {
    fn status(&self) -> u32 {
        self.regs[DBDMA_STATUS]
    }

    fn runnable(&self) -> bool {
        let s = self.status();
        !self.io_pending && s & RUN != 0 && s & ACTIVE != 0
    }

    /// Whether `cond_bits` (one of the IFSET/IFCLR/ALWAYS encodings) holds against
    /// the select register `sel` (mask << 16 | value over the low 4 status bits).
    fn condition(&self, cond_bits: u16, sel: usize) -> bool {
        let sel = self.regs[sel];
        let mask = (sel >> 16) & 0xF;
        let value = sel & 0xF;
        let hit = (self.status() & DEVSTAT & mask) == (value & mask);
        match cond_bits & 3 {
            0 => false,
            1 => hit,
            2 => !hit,
            _ => true,
        }
    }

    fn request(&self) -> DmaRequest {
        DmaRequest {
            addr: self.io_addr,
            len: self.io_len,
            is_output: self.io_output,
            is_last: self.io_last,
        }
    }

    fn kill(&mut self) {
        self.regs[DBDMA_STATUS] = (self.status() | DEAD) & !ACTIVE;
        self.irq_pending = true;
    }

    /// Applies a ChannelControl write (QEMU's `dbdma_control_write`).
    fn control_write(&mut self, control: u32) {
        let mask = control >> 16;
        let value = control & 0xFFFF;
        let mut status = self.status();
        if mask & RUN != 0 {
            if value & RUN != 0 {
                status |= RUN;
            } else {
                // Stopping the channel also clears DEAD.
                status &= !(DEAD | RUN);
                self.io_pending = false;
            }
        }
        if mask & WAKE != 0 && value & WAKE != 0 && status & RUN != 0 {
            status |= WAKE;
        }
        if mask & PAUSE != 0 {
            status = (status & !PAUSE) | (value & PAUSE);
        }
        status = (status & !(mask & DEVSTAT)) | (value & mask & DEVSTAT);
        // FLUSH completes at once: there is no buffered device data to push out.
        if status & PAUSE != 0 || status & RUN == 0 {
            status &= !ACTIVE;
        } else if mask & (RUN | PAUSE) != 0 || (mask & WAKE != 0 && value & WAKE != 0) {
            status |= ACTIVE;
        }
        self.regs[DBDMA_STATUS] = status;
    }

    /// Writes the completion status (and residual count) back into the descriptor.
    fn complete(&mut self, mem: &mut dyn DmaMemory, res_count: u16) {
        let at = self.regs[DBDMA_CMDPTR_LO];
        let mut b = [0u8; 4];
        b[0..2].copy_from_slice(&res_count.to_le_bytes());
        b[2..4].copy_from_slice(&(self.status() as u16).to_le_bytes());
        mem.write(at.wrapping_add(12), &b);
    }

    fn next(&mut self) {
        self.regs[DBDMA_STATUS] &= !BT;
        self.regs[DBDMA_CMDPTR_LO] = self.regs[DBDMA_CMDPTR_LO].wrapping_add(16);
    }

    fn interrupt_and_branch(&mut self, d: &Descriptor, may_branch: bool) {
        if self.condition((d.command & INTR_MASK) >> 4, DBDMA_INTR_SEL) {
            self.irq_pending = true;
        }
        if may_branch && self.condition((d.command & BR_MASK) >> 2, DBDMA_BRANCH_SEL) {
            self.regs[DBDMA_CMDPTR_LO] = d.cmd_dep & !0xF;
            self.regs[DBDMA_STATUS] |= BT;
        } else {
            self.next();
        }
    }

    /// Executes the descriptor at CommandPtr. Returns false when the channel cannot
    /// go on in this run: STOP, an INPUT/OUTPUT command waiting on its device (see
    /// [`Dbdma::pending_io`]), a wait condition (the channel stays ACTIVE and checks
    /// again on the next run, as QEMU's re-kicked bottom half does), or death.
    fn step(&mut self, mem: &mut dyn DmaMemory) -> bool {
        self.regs[DBDMA_STATUS] &= !WAKE;
        let d = Descriptor::fetch(mem, self.regs[DBDMA_CMDPTR_LO]);
        let cmd = d.command & COMMAND_MASK;
        let key = d.command & KEY_MASK;
        let waits = || self.condition(d.command & WAIT_MASK, DBDMA_WAIT_SEL);
        match cmd {
            DBDMA_STOP => {
                // STOP leaves CommandPtr on itself so software can append and wake.
                self.regs[DBDMA_STATUS] &= !(ACTIVE | DEAD | FLUSH);
                false
            }
            DBDMA_NOP => {
                if waits() {
                    return false;
                }
                self.complete(mem, 0);
                self.interrupt_and_branch(&d, true);
                true
            }
            OUTPUT_MORE | OUTPUT_LAST | INPUT_MORE | INPUT_LAST => {
                if d.phy_addr == 0 || key > KEY_STREAM3 {
                    self.kill();
                    return false;
                }
                self.io_pending = true;
                self.io_addr = d.phy_addr;
                self.io_len = d.req_count;
                self.io_output = cmd <= OUTPUT_LAST;
                self.io_last = cmd == OUTPUT_LAST || cmd == INPUT_LAST;
                false
            }
            LOAD_WORD | STORE_WORD => {
                if key == KEY_STREAM4 {
                    self.kill();
                    return false;
                }
                // Only system memory is implemented, as in mac-io.
                let (len, addr) = match d.req_count & 7 {
                    n if n & 4 != 0 => (4usize, d.phy_addr & !3),
                    n if n & 2 != 0 => (2, d.phy_addr & !1),
                    _ => (1, d.phy_addr),
                };
                if cmd == LOAD_WORD {
                    let mut b = [0u8; 4];
                    mem.read(addr, &mut b[..len]);
                    let mut dep = d.cmd_dep.to_le_bytes();
                    dep[..len].copy_from_slice(&b[..len]);
                    mem.write(self.regs[DBDMA_CMDPTR_LO].wrapping_add(8), &dep);
                } else {
                    mem.write(addr, &d.cmd_dep.to_le_bytes()[..len]);
                }
                if waits() {
                    return false;
                }
                self.complete(mem, 0);
                self.regs[DBDMA_STATUS] &= !FLUSH;
                self.interrupt_and_branch(&d, false);
                true
            }
            _ => {
                self.kill();
                false
            }
        }
    }
}

/// The DBDMA controller.
#[derive(Debug, Clone)]
pub struct Dbdma {
    /// The channels (saved).
    pub channels: [DbdmaChannel; DBDMA_CHANNELS],
    unimp: UnimpLog,
}

impl Default for Dbdma {
    fn default() -> Self {
        Self::new()
    }
}

impl Dbdma {
    /// All channels idle.
    pub fn new() -> Self {
        Dbdma {
            channels: std::array::from_fn(|_| DbdmaChannel::default()),
            unimp: UnimpLog::default(),
        }
    }

    /// MMIO read.
    pub fn read(&mut self, offset: u32, size: u32) -> u32 {
        let ch = ((offset >> DBDMA_CHANNEL_SHIFT) as usize) % DBDMA_CHANNELS;
        let reg = ((offset >> 2) & 0x1F) as usize;
        let value = match reg {
            DBDMA_CONTROL => 0,
            DBDMA_STATUS | DBDMA_CMDPTR_LO | DBDMA_INTR_SEL | DBDMA_BRANCH_SEL | DBDMA_WAIT_SEL => {
                self.channels[ch].regs[reg]
            }
            DBDMA_RES1 | 0xD..=0xF => self.channels[ch].regs[reg],
            r if r < DBDMA_REGS => 0, // 32-bit addressing: the "Hi" halves are 0
            _ => {
                self.unimp.report("dbdma", false, offset, size, 0);
                0
            }
        };
        le_reg_read(value, offset & 3, size)
    }

    /// MMIO write. Run [`Dbdma::run`] afterwards when [`Dbdma::busy`].
    pub fn write(&mut self, offset: u32, size: u32, value: u32) {
        let ch = ((offset >> DBDMA_CHANNEL_SHIFT) as usize) % DBDMA_CHANNELS;
        let reg = ((offset >> 2) & 0x1F) as usize;
        if reg >= DBDMA_REGS {
            self.unimp.report("dbdma", true, offset, size, value);
            return;
        }
        let c = &mut self.channels[ch];
        let v = le_reg_write(c.regs[reg], offset & 3, size, value);
        match reg {
            DBDMA_CONTROL => c.control_write(v),
            DBDMA_STATUS => {} // read only
            DBDMA_CMDPTR_LO => {
                if c.status() & ACTIVE == 0 {
                    c.regs[reg] = v & !0xF;
                }
            }
            _ => c.regs[reg] = v,
        }
    }

    /// Whether some channel can make progress in [`Dbdma::run`].
    pub fn busy(&self) -> bool {
        self.channels.iter().any(DbdmaChannel::runnable)
    }

    /// Processes descriptors on every runnable channel, at most [`STEP_BUDGET`] each.
    pub fn run(&mut self, mem: &mut dyn DmaMemory) {
        for c in self.channels.iter_mut() {
            let mut steps = 0;
            while c.runnable() && steps < STEP_BUDGET && c.step(mem) {
                steps += 1;
            }
        }
    }

    /// The transfer channel `ch` waits on, for its device.
    pub fn pending_io(&self, ch: usize) -> Option<DmaRequest> {
        let c = self.channels.get(ch)?;
        c.io_pending.then(|| c.request())
    }

    /// The device finished channel `ch`'s transfer, leaving `residual` bytes undone:
    /// the descriptor gets its status, then the interrupt and branch conditions run.
    pub fn complete_io(&mut self, ch: usize, residual: u16, mem: &mut dyn DmaMemory) {
        let Some(c) = self.channels.get_mut(ch) else {
            return;
        };
        if !c.io_pending {
            return;
        }
        c.io_pending = false;
        let d = Descriptor::fetch(mem, c.regs[DBDMA_CMDPTR_LO]);
        if c.condition(d.command & WAIT_MASK, DBDMA_WAIT_SEL) {
            // Re-executed by the next run() once the wait condition clears.
            return;
        }
        c.complete(mem, residual);
        if d.command & COMMAND_MASK == OUTPUT_LAST || d.command & COMMAND_MASK == INPUT_LAST {
            c.regs[DBDMA_STATUS] &= !FLUSH;
        }
        c.interrupt_and_branch(&d, true);
    }

    /// Whether channel `ch` has an interrupt the board has not taken.
    pub fn irq(&self, ch: usize) -> bool {
        self.channels.get(ch).is_some_and(|c| c.irq_pending)
    }

    /// Takes the channels' interrupt events (bit `n` = channel `n`); the board pulses
    /// the matching PIC lines.
    pub fn take_irq_pulses(&mut self) -> u32 {
        let mut bits = 0;
        for (i, c) in self.channels.iter_mut().enumerate() {
            if std::mem::take(&mut c.irq_pending) {
                bits |= 1 << i;
            }
        }
        bits
    }
}

impl VmState for DbdmaChannel {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<DbdmaChannel>> = LazyLock::new(|| {
            Vmsd::builder("dbdma_channel")
                .field("regs", |s: &DbdmaChannel| &s.regs, |s| &mut s.regs)
                .field("io_pending", |s| &s.io_pending, |s| &mut s.io_pending)
                .field("io_addr", |s| &s.io_addr, |s| &mut s.io_addr)
                .field("io_len", |s| &s.io_len, |s| &mut s.io_len)
                .field("io_output", |s| &s.io_output, |s| &mut s.io_output)
                .field("io_last", |s| &s.io_last, |s| &mut s.io_last)
                .field("irq_pending", |s| &s.irq_pending, |s| &mut s.irq_pending)
                .build()
        });
        &V
    }
}

impl VmState for Dbdma {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Dbdma>> = LazyLock::new(|| {
            Vmsd::builder("dbdma")
                .version(1)
                .minimum_version(1)
                .struct_array("channels", |s: &Dbdma| &s.channels, |s| &mut s.channels)
                .build()
        });
        &V
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Ram(Vec<u8>);

    impl DmaMemory for Ram {
        fn read(&mut self, addr: u32, buf: &mut [u8]) {
            for (i, b) in buf.iter_mut().enumerate() {
                *b = self.0.get(addr as usize + i).copied().unwrap_or(0xFF);
            }
        }
        fn write(&mut self, addr: u32, data: &[u8]) {
            for (i, b) in data.iter().enumerate() {
                if let Some(m) = self.0.get_mut(addr as usize + i) {
                    *m = *b;
                }
            }
        }
    }

    fn put_desc(ram: &mut Ram, at: u32, req: u16, cmd: u16, addr: u32, dep: u32) {
        let mut d = [0u8; 16];
        d[0..2].copy_from_slice(&req.to_le_bytes());
        d[2..4].copy_from_slice(&cmd.to_le_bytes());
        d[4..8].copy_from_slice(&addr.to_le_bytes());
        d[8..12].copy_from_slice(&dep.to_le_bytes());
        ram.write(at, &d);
    }

    const IDE0: u32 = (DBDMA_CHANNEL_IDE0 as u32) << DBDMA_CHANNEL_SHIFT;

    fn wr(d: &mut Dbdma, ch_base: u32, reg: usize, v: u32) {
        d.write(ch_base + 4 * reg as u32, 4, v.swap_bytes());
    }

    fn rd(d: &mut Dbdma, ch_base: u32, reg: usize) -> u32 {
        d.read(ch_base + 4 * reg as u32, 4).swap_bytes()
    }

    fn start(d: &mut Dbdma, cmdptr: u32) {
        wr(d, IDE0, DBDMA_CMDPTR_LO, cmdptr);
        wr(d, IDE0, DBDMA_CONTROL, (RUN | WAKE) << 16 | RUN | WAKE);
    }

    #[test]
    fn idle_channel_reads_sane_zeroes() {
        let mut d = Dbdma::new();
        assert_eq!(rd(&mut d, IDE0, DBDMA_STATUS), 0);
        assert_eq!(rd(&mut d, IDE0, DBDMA_CONTROL), 0);
        assert_eq!(rd(&mut d, IDE0, DBDMA_CMDPTR_HI), 0);
        assert!(!d.busy());
    }

    #[test]
    fn control_mask_protocol_sets_and_clears_only_masked_bits() {
        let mut d = Dbdma::new();
        wr(&mut d, IDE0, DBDMA_CONTROL, (RUN | 0x0F) << 16 | RUN | 0x05);
        assert_eq!(rd(&mut d, IDE0, DBDMA_STATUS), RUN | ACTIVE | 0x05);
        wr(&mut d, IDE0, DBDMA_CONTROL, 0x01 << 16);
        assert_eq!(rd(&mut d, IDE0, DBDMA_STATUS), RUN | ACTIVE | 0x04);
        wr(&mut d, IDE0, DBDMA_CONTROL, RUN << 16);
        assert_eq!(
            rd(&mut d, IDE0, DBDMA_STATUS),
            0x04,
            "clearing RUN stops it"
        );
    }

    #[test]
    fn nop_then_stop_completes_and_interrupts() {
        let mut ram = Ram(vec![0; 0x1000]);
        put_desc(&mut ram, 0x100, 0, DBDMA_NOP | INTR_ALWAYS, 0, 0);
        put_desc(&mut ram, 0x110, 0, DBDMA_STOP, 0, 0);
        let mut d = Dbdma::new();
        start(&mut d, 0x100);
        d.run(&mut ram);
        let status = rd(&mut d, IDE0, DBDMA_STATUS);
        assert_eq!(status & (ACTIVE | RUN), RUN);
        assert_eq!(
            rd(&mut d, IDE0, DBDMA_CMDPTR_LO),
            0x110,
            "STOP does not advance"
        );
        let xfer_status = u16::from_le_bytes([ram.0[0x10E], ram.0[0x10F]]);
        assert_ne!(u32::from(xfer_status) & RUN, 0, "status written back");
        assert_eq!(d.take_irq_pulses(), 1 << DBDMA_CHANNEL_IDE0);
        assert_eq!(d.take_irq_pulses(), 0);
    }

    #[test]
    fn branch_to_self_loop_is_bounded_by_budget() {
        let mut ram = Ram(vec![0; 0x1000]);
        put_desc(&mut ram, 0x200, 0, DBDMA_NOP | BR_ALWAYS, 0, 0x200);
        let mut d = Dbdma::new();
        start(&mut d, 0x200);
        d.run(&mut ram);
        assert!(d.busy(), "still running, but run() returned");
        assert_ne!(rd(&mut d, IDE0, DBDMA_STATUS) & BT, 0);
    }

    #[test]
    fn input_without_device_waits_and_stops_on_run_clear() {
        let mut ram = Ram(vec![0; 0x1000]);
        put_desc(&mut ram, 0x300, 512, INPUT_LAST, 0x800, 0);
        let mut d = Dbdma::new();
        start(&mut d, 0x300);
        d.run(&mut ram);
        assert_eq!(
            d.pending_io(DBDMA_CHANNEL_IDE0),
            Some(DmaRequest {
                addr: 0x800,
                len: 512,
                is_output: false,
                is_last: true
            })
        );
        assert!(!d.busy());
        wr(&mut d, IDE0, DBDMA_CONTROL, RUN << 16);
        assert_eq!(rd(&mut d, IDE0, DBDMA_STATUS) & (RUN | ACTIVE | DEAD), 0);
        assert_eq!(d.pending_io(DBDMA_CHANNEL_IDE0), None);
    }

    #[test]
    fn device_completion_writes_residual_and_advances() {
        let mut ram = Ram(vec![0; 0x1000]);
        put_desc(&mut ram, 0x300, 512, OUTPUT_LAST | INTR_ALWAYS, 0x800, 0);
        put_desc(&mut ram, 0x310, 0, DBDMA_STOP, 0, 0);
        let mut d = Dbdma::new();
        start(&mut d, 0x300);
        d.run(&mut ram);
        d.complete_io(DBDMA_CHANNEL_IDE0, 0, &mut ram);
        d.run(&mut ram);
        assert_eq!(rd(&mut d, IDE0, DBDMA_CMDPTR_LO), 0x310);
        assert!(d.irq(DBDMA_CHANNEL_IDE0));
        assert_eq!(rd(&mut d, IDE0, DBDMA_STATUS) & ACTIVE, 0);
    }

    #[test]
    fn wait_holds_channel_active_until_condition_clears() {
        let mut ram = Ram(vec![0; 0x1000]);
        put_desc(&mut ram, 0x600, 0, DBDMA_NOP | WAIT_IFSET, 0, 0);
        put_desc(&mut ram, 0x610, 0, DBDMA_STOP, 0, 0);
        let mut d = Dbdma::new();
        wr(&mut d, IDE0, DBDMA_WAIT_SEL, 0x0001_0001); // wait while s0 is set
        wr(&mut d, IDE0, DBDMA_CONTROL, 0x01 << 16 | 0x01);
        start(&mut d, 0x600);
        d.run(&mut ram);
        assert_eq!(rd(&mut d, IDE0, DBDMA_CMDPTR_LO), 0x600);
        assert_ne!(rd(&mut d, IDE0, DBDMA_STATUS) & ACTIVE, 0);
        wr(&mut d, IDE0, DBDMA_CONTROL, 0x01 << 16);
        d.run(&mut ram);
        assert_eq!(rd(&mut d, IDE0, DBDMA_CMDPTR_LO), 0x610);
        assert_eq!(rd(&mut d, IDE0, DBDMA_STATUS) & ACTIVE, 0);
    }

    #[test]
    fn null_address_kills_channel() {
        let mut ram = Ram(vec![0; 0x1000]);
        put_desc(&mut ram, 0x400, 16, OUTPUT_MORE, 0, 0);
        let mut d = Dbdma::new();
        start(&mut d, 0x400);
        d.run(&mut ram);
        let s = rd(&mut d, IDE0, DBDMA_STATUS);
        assert_eq!(s & (DEAD | ACTIVE), DEAD);
        assert!(d.irq(DBDMA_CHANNEL_IDE0));
    }

    #[test]
    fn load_and_store_word_move_data() {
        let mut ram = Ram(vec![0; 0x1000]);
        ram.write(0x900, &0xCAFE_F00Du32.to_le_bytes());
        put_desc(
            &mut ram,
            0x500,
            4,
            STORE_WORD | KEY_SYSTEM,
            0x904,
            0x1234_5678,
        );
        put_desc(&mut ram, 0x510, 4, LOAD_WORD | KEY_SYSTEM, 0x900, 0);
        put_desc(&mut ram, 0x520, 0, DBDMA_STOP, 0, 0);
        let mut d = Dbdma::new();
        start(&mut d, 0x500);
        d.run(&mut ram);
        assert_eq!(&ram.0[0x904..0x908], &0x1234_5678u32.to_le_bytes());
        assert_eq!(&ram.0[0x518..0x51C], &0xCAFE_F00Du32.to_le_bytes());
    }

    #[test]
    fn cmdptr_is_locked_while_active() {
        let mut ram = Ram(vec![0; 0x1000]);
        put_desc(&mut ram, 0x300, 512, INPUT_LAST, 0x800, 0);
        let mut d = Dbdma::new();
        start(&mut d, 0x300);
        d.run(&mut ram);
        wr(&mut d, IDE0, DBDMA_CMDPTR_LO, 0x700);
        assert_eq!(rd(&mut d, IDE0, DBDMA_CMDPTR_LO), 0x300);
    }

    #[test]
    fn random_registers_and_descriptors_never_panic() {
        let mut ram = Ram(vec![0; 0x1000]);
        crate::pci::random_mmio(5, 4096, 0x1000, |_, off, _, v| {
            ram.write(off & !3, &v.to_le_bytes());
        });
        let mut d = Dbdma::new();
        crate::pci::random_mmio(6, 20_000, 0x1000, |w, off, size, v| {
            if w {
                d.write(off, size, v);
            } else {
                d.read(off, size);
            }
            d.run(&mut ram);
            d.complete_io((v as usize) % 40, v as u16, &mut ram);
        });
        let _ = d.take_irq_pulses();
    }

    #[test]
    fn state_roundtrips() {
        let mut d = Dbdma::new();
        savevm::testing::assert_mutated_roundtrip(&mut d, |d| {
            wr(d, IDE0, DBDMA_INTR_SEL, 0x000F_0001);
            d.channels[3].irq_pending = true;
        });
        let mut ram = Ram(vec![0; 0x1000]);
        put_desc(&mut ram, 0x300, 64, INPUT_MORE, 0x800, 0);
        start(&mut d, 0x300);
        d.run(&mut ram);
        let bytes = savevm::testing::assert_roundtrip(&mut d);
        let mut fresh = Dbdma::new();
        savevm::load_bytes(&mut fresh, &bytes).unwrap();
        assert_eq!(
            fresh.pending_io(DBDMA_CHANNEL_IDE0).map(|r| r.len),
            Some(64)
        );
    }
}
