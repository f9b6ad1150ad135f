//! PCI configuration space of one function (PCI Local Bus Specification 2.1, ch. 6),
//! plus two helpers every chip here shares: byte views of little-endian registers and
//! "log an unimplemented register once".
//!
//! Config space is kept as the 256-byte little-endian image the spec defines. A
//! config access of `size` bytes at `reg` returns the bytes `reg..reg+size` in address
//! order, which is exactly what the big-endian bus delivers; the CPU's `lwbrx` (as
//! OpenBIOS and Linux use for Grackle) turns that back into the little-endian value.

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

/// Vendor ID (16 bits).
pub const PCI_VENDOR_ID: usize = 0x00;
/// Device ID (16 bits).
pub const PCI_DEVICE_ID: usize = 0x02;
/// Command register (16 bits).
pub const PCI_COMMAND: usize = 0x04;
/// Status register (16 bits).
pub const PCI_STATUS: usize = 0x06;
/// Revision ID.
pub const PCI_REVISION_ID: usize = 0x08;
/// Programming interface, then sub-class and base class (24 bits).
pub const PCI_CLASS_PROG: usize = 0x09;
/// Cache line size.
pub const PCI_CACHE_LINE_SIZE: usize = 0x0C;
/// Latency timer.
pub const PCI_LATENCY_TIMER: usize = 0x0D;
/// Header type (bit 7: multi-function).
pub const PCI_HEADER_TYPE: usize = 0x0E;
/// First base address register; six 32-bit BARs follow.
pub const PCI_BASE_ADDRESS_0: usize = 0x10;
/// Subsystem vendor ID.
pub const PCI_SUBSYSTEM_VENDOR_ID: usize = 0x2C;
/// Subsystem ID.
pub const PCI_SUBSYSTEM_ID: usize = 0x2E;
/// Expansion ROM base address.
pub const PCI_ROM_ADDRESS: usize = 0x30;
/// Interrupt line (written by firmware, read by drivers).
pub const PCI_INTERRUPT_LINE: usize = 0x3C;
/// Interrupt pin: 0 none, 1..4 INTA..INTD.
pub const PCI_INTERRUPT_PIN: usize = 0x3D;

/// Command: I/O space decode.
pub const PCI_COMMAND_IO: u16 = 0x0001;
/// Command: memory space decode.
pub const PCI_COMMAND_MEMORY: u16 = 0x0002;
/// Command: bus master.
pub const PCI_COMMAND_MASTER: u16 = 0x0004;
/// Command bits software may change (QEMU's mask: IO, MEMORY, MASTER, PARITY, SERR,
/// INTX_DISABLE).
const PCI_COMMAND_WMASK: u16 = 0x0547;

/// BAR bit 0: I/O space.
pub const PCI_BASE_ADDRESS_SPACE_IO: u32 = 0x01;
/// BAR bit 3: prefetchable memory.
pub const PCI_BASE_ADDRESS_MEM_PREFETCH: u32 = 0x08;
/// ROM BAR bit 0: decode enable.
pub const PCI_ROM_ADDRESS_ENABLE: u32 = 0x01;

/// The kind of a base address register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BarKind {
    /// 32-bit memory BAR.
    Memory,
    /// 32-bit prefetchable memory BAR.
    MemoryPrefetch,
    /// I/O BAR.
    Io,
}

/// One PCI function's configuration space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PciConfig {
    /// The 256-byte image (saved).
    pub bytes: [u8; 256],
    /// Which bits of each byte software may write (derived from the function's shape,
    /// rebuilt at construction, not saved).
    wmask: [u8; 256],
    /// Size of each BAR in bytes; 0 = not implemented.
    bar_size: [u32; 6],
    /// Size of the expansion ROM; 0 = none.
    rom_size: u32,
}

impl PciConfig {
    /// A type-0 header with the given IDs; class is `base << 16 | sub << 8 | prog_if`.
    pub fn new(vendor: u16, device: u16, class: u32, revision: u8) -> Self {
        let mut c = PciConfig {
            bytes: [0; 256],
            wmask: [0; 256],
            bar_size: [0; 6],
            rom_size: 0,
        };
        c.put16(PCI_VENDOR_ID, vendor);
        c.put16(PCI_DEVICE_ID, device);
        c.bytes[PCI_REVISION_ID] = revision;
        c.bytes[PCI_CLASS_PROG] = class as u8;
        c.bytes[PCI_CLASS_PROG + 1] = (class >> 8) as u8;
        c.bytes[PCI_CLASS_PROG + 2] = (class >> 16) as u8;
        c.wmask[PCI_COMMAND] = PCI_COMMAND_WMASK as u8;
        c.wmask[PCI_COMMAND + 1] = (PCI_COMMAND_WMASK >> 8) as u8;
        c.wmask[PCI_CACHE_LINE_SIZE] = 0xFF;
        c.wmask[PCI_LATENCY_TIMER] = 0xFF;
        c.wmask[PCI_INTERRUPT_LINE] = 0xFF;
        c
    }

    /// Sets the subsystem vendor and device IDs.
    pub fn with_subsystem(mut self, vendor: u16, device: u16) -> Self {
        self.put16(PCI_SUBSYSTEM_VENDOR_ID, vendor);
        self.put16(PCI_SUBSYSTEM_ID, device);
        self
    }

    /// Declares BAR `index` (0..6) of `size` bytes, a power of two (at least 16 for
    /// memory, 4 for I/O).
    pub fn with_bar(mut self, index: usize, size: u32, kind: BarKind) -> Self {
        debug_assert!(index < 6 && size.is_power_of_two());
        self.bar_size[index] = size;
        let (flags, low) = match kind {
            BarKind::Memory => (0, 0xF),
            BarKind::MemoryPrefetch => (PCI_BASE_ADDRESS_MEM_PREFETCH, 0xF),
            BarKind::Io => (PCI_BASE_ADDRESS_SPACE_IO, 0x3),
        };
        let reg = PCI_BASE_ADDRESS_0 + 4 * index;
        self.put32(reg, flags);
        let mask = !(size.max(low + 1) - 1) & !low;
        self.wmask[reg..reg + 4].copy_from_slice(&mask.to_le_bytes());
        self
    }

    /// Declares an expansion ROM of `size` bytes.
    pub fn with_rom(mut self, size: u32) -> Self {
        debug_assert!(size.is_power_of_two() && size >= 2048);
        self.rom_size = size;
        let mask = !(size - 1) | PCI_ROM_ADDRESS_ENABLE;
        self.wmask[PCI_ROM_ADDRESS..PCI_ROM_ADDRESS + 4].copy_from_slice(&mask.to_le_bytes());
        self
    }

    /// Sets the interrupt pin (1 = INTA .. 4 = INTD).
    pub fn with_interrupt_pin(mut self, pin: u8) -> Self {
        self.bytes[PCI_INTERRUPT_PIN] = pin;
        self
    }

    /// Sets the header type byte (bit 7: multi-function).
    pub fn with_header_type(mut self, header: u8) -> Self {
        self.bytes[PCI_HEADER_TYPE] = header;
        self
    }

    /// Makes config bytes `from..256` fully writable (a host bridge's own registers,
    /// such as Grackle's PICR1 at 0xA8).
    pub fn with_writable_tail(mut self, from: usize) -> Self {
        for m in &mut self.wmask[from.min(256)..] {
            *m = 0xFF;
        }
        self
    }

    /// Reads `size` (1, 2 or 4) bytes at `reg`, in address order as the big-endian bus
    /// sees them. Bytes past the end of config space read 0xFF.
    pub fn read(&self, reg: u32, size: u32) -> u32 {
        (0..size).fold(0u32, |acc, i| {
            let b = self.bytes.get((reg + i) as usize).copied().unwrap_or(0xFF);
            (acc << 8) | u32::from(b)
        })
    }

    /// Writes `size` bytes at `reg` (value in bus order, like [`PciConfig::read`]).
    /// Read-only bits keep their value; BARs read back their size mask after an
    /// all-ones write.
    pub fn write(&mut self, reg: u32, size: u32, value: u32) {
        for i in 0..size {
            let at = (reg + i) as usize;
            if at >= 256 {
                break;
            }
            let b = (value >> (8 * (size - 1 - i))) as u8;
            let m = self.wmask[at];
            self.bytes[at] = (self.bytes[at] & !m) | (b & m);
        }
    }

    /// The command register.
    pub fn command(&self) -> u16 {
        self.get16(PCI_COMMAND)
    }

    /// The vendor ID.
    pub fn vendor_id(&self) -> u16 {
        self.get16(PCI_VENDOR_ID)
    }

    /// The interrupt pin (0 none, 1..4 INTA..INTD).
    pub fn interrupt_pin(&self) -> u8 {
        self.bytes[PCI_INTERRUPT_PIN]
    }

    /// The size of BAR `index`, 0 if not implemented.
    pub fn bar_size(&self, index: usize) -> u32 {
        self.bar_size.get(index).copied().unwrap_or(0)
    }

    /// The address BAR `index` decodes, or `None` when the BAR is absent, its space
    /// is disabled in the command register, or software left it unassigned (zero or
    /// still the sizing pattern).
    pub fn bar_address(&self, index: usize) -> Option<u32> {
        let size = self.bar_size(index);
        if size == 0 {
            return None;
        }
        let raw = self.get32(PCI_BASE_ADDRESS_0 + 4 * index);
        let (enabled, low) = if raw & PCI_BASE_ADDRESS_SPACE_IO != 0 {
            (self.command() & PCI_COMMAND_IO != 0, 0x3)
        } else {
            (self.command() & PCI_COMMAND_MEMORY != 0, 0xF)
        };
        let addr = raw & !low;
        let sizing_pattern = !(size.max(low + 1) - 1) & !low;
        let unassigned = addr == 0 || addr == sizing_pattern;
        (enabled && !unassigned).then_some(addr)
    }

    /// The address the expansion ROM decodes, when enabled.
    pub fn rom_address(&self) -> Option<u32> {
        if self.rom_size == 0 || self.command() & PCI_COMMAND_MEMORY == 0 {
            return None;
        }
        let raw = self.get32(PCI_ROM_ADDRESS);
        let addr = raw & !(self.rom_size - 1);
        (raw & PCI_ROM_ADDRESS_ENABLE != 0 && addr != 0).then_some(addr)
    }

    fn get16(&self, at: usize) -> u16 {
        u16::from_le_bytes([self.bytes[at], self.bytes[at + 1]])
    }

    fn get32(&self, at: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[at..at + 4]);
        u32::from_le_bytes(b)
    }

    fn put16(&mut self, at: usize, v: u16) {
        self.bytes[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn put32(&mut self, at: usize, v: u32) {
        self.bytes[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }
}

impl VmState for PciConfig {
    /// Like QEMU's "PCIDevice": the config image. The write masks and BAR sizes are
    /// the function's shape, rebuilt at construction.
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<PciConfig>> = LazyLock::new(|| {
            Vmsd::builder("PCIDevice")
                .version(1)
                .minimum_version(1)
                .field("config", |s: &PciConfig| &s.bytes, |s| &mut s.bytes)
                .build()
        });
        &V
    }
}

/// Reads `size` bytes at byte `off` (0..4) of a little-endian 32-bit register, as the
/// big-endian bus sees them: a 4-byte read returns the register byte-swapped, which
/// the guest's `lwbrx` swaps back.
pub fn le_reg_read(reg: u32, off: u32, size: u32) -> u32 {
    let bytes = reg.to_le_bytes();
    (0..size).fold(0u32, |acc, i| {
        let b = bytes.get((off + i) as usize).copied().unwrap_or(0);
        (acc << 8) | u32::from(b)
    })
}

/// Writes `size` bytes at byte `off` of a little-endian 32-bit register and returns
/// the new register value (the inverse of [`le_reg_read`]).
pub fn le_reg_write(reg: u32, off: u32, size: u32, value: u32) -> u32 {
    let mut bytes = reg.to_le_bytes();
    for i in 0..size {
        if let Some(b) = bytes.get_mut((off + i) as usize) {
            *b = (value >> (8 * (size - 1 - i))) as u8;
        }
    }
    u32::from_le_bytes(bytes)
}

/// Remembers which unimplemented registers were already reported, so each is logged
/// once (target `unimp`, shown with `-d unimp`). Host plumbing: never saved.
#[derive(Debug, Default, Clone)]
pub struct UnimpLog {
    seen: std::collections::HashSet<(bool, u32)>,
}

impl UnimpLog {
    /// Logs an access to an unimplemented register of `chip` the first time it happens.
    pub fn report(&mut self, chip: &'static str, write: bool, offset: u32, size: u32, value: u32) {
        if !self.seen.insert((write, offset)) {
            return;
        }
        if write {
            tracing::warn!(target: "unimp", "{chip}: write to unimplemented register {offset:#x} (size {size}, value {value:#x})");
        } else {
            tracing::warn!(target: "unimp", "{chip}: read of unimplemented register {offset:#x} (size {size}, reads {value:#x})");
        }
    }
}

/// Deterministic random MMIO traffic for the chips' "never panics" tests.
#[cfg(test)]
pub(crate) fn random_mmio(
    seed: u64,
    count: usize,
    window: u32,
    mut access: impl FnMut(bool, u32, u32, u32),
) {
    let mut x = seed | 1;
    let mut next = || {
        // xorshift64
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..count {
        let r = next();
        let size = [1, 2, 4][(r % 3) as usize];
        let offset = ((r >> 8) as u32) % window;
        let value = (r >> 32) as u32;
        access(r & 0x80 != 0, offset, size, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vga_like() -> PciConfig {
        PciConfig::new(0x1234, 0x1111, 0x030000, 2)
            .with_bar(0, 16 << 20, BarKind::MemoryPrefetch)
            .with_bar(2, 4096, BarKind::Memory)
    }

    #[test]
    fn config_state_roundtrips() {
        let mut c = vga_like();
        c.write(0x10, 4, 0x8000_0000u32.swap_bytes());
        savevm::testing::assert_roundtrip_into(&mut c, vga_like());
    }

    #[test]
    fn ids_read_in_little_endian_byte_order() {
        let c = vga_like();
        assert_eq!(c.read(0, 4), 0x3412_1111);
        assert_eq!(c.read(0, 2), 0x3412);
        assert_eq!(c.read(2, 2), 0x1111);
        assert_eq!(c.read(0x0B, 1), 0x03);
    }

    #[test]
    fn bar_sizing_reads_back_size_mask_with_flags() {
        let mut c = vga_like();
        c.write(0x10, 4, 0xFFFF_FFFF);
        c.write(0x18, 4, 0xFFFF_FFFF);
        assert_eq!(c.read(0x10, 4).swap_bytes(), 0xFF00_0008);
        assert_eq!(c.read(0x18, 4).swap_bytes(), 0xFFFF_F000);
        assert_eq!(c.read(0x14, 4), 0, "unimplemented BAR stays zero");
    }

    #[test]
    fn bar_address_needs_memory_enable_and_assignment() {
        let mut c = vga_like();
        c.write(0x10, 4, 0x8000_0000u32.swap_bytes());
        assert_eq!(c.bar_address(0), None, "memory decode still off");
        c.write(0x04, 2, u16::swap_bytes(PCI_COMMAND_MEMORY).into());
        assert_eq!(c.bar_address(0), Some(0x8000_0000));
        assert_eq!(c.bar_address(2), None, "BAR2 never assigned");
    }

    #[test]
    fn read_only_registers_ignore_writes() {
        let mut c = vga_like();
        c.write(0, 4, 0);
        c.write(0x3C, 1, 0x17);
        c.write(0x3D, 1, 0x04);
        assert_eq!(c.vendor_id(), 0x1234);
        assert_eq!(c.bytes[PCI_INTERRUPT_LINE], 0x17);
        assert_eq!(c.interrupt_pin(), 0);
    }

    #[test]
    fn writable_tail_accepts_host_bridge_registers() {
        let mut c = PciConfig::new(0x1057, 2, 0x060000, 0).with_writable_tail(0x40);
        c.write(0xA8, 4, 0x1234_5678);
        assert_eq!(c.read(0xA8, 4), 0x1234_5678);
    }

    #[test]
    fn le_register_views_match_lwbrx() {
        let reg = 0x1122_3344;
        assert_eq!(le_reg_read(reg, 0, 4).swap_bytes(), reg);
        assert_eq!(le_reg_read(reg, 0, 1), 0x44);
        assert_eq!(le_reg_read(reg, 2, 2), 0x2211);
        assert_eq!(le_reg_write(reg, 1, 1, 0xAA), 0x1122_AA44);
        assert_eq!(le_reg_write(0, 0, 4, reg.swap_bytes()), reg);
    }
}
