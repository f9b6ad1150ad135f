//! One mac-io IDE channel (QEMU hw/ide/macio.c and hw/ide/core.c; Linux
//! drivers/ata/pata_macio.c). Heathrow has two, at mac-io +0x20000 and +0x21000.
//!
//! The ATA task file is spread out at 16-byte spacing: register `n` at `n << 4`, the
//! alternate status / device control at 0x80 (and 0x160, as QEMU decodes), the
//! 32-bit little-endian timing register at 0x200 and a KeyLargo interrupt register at
//! 0x300 that reads 0 here. Accesses of the wrong width read all ones, as in QEMU.
//!
//! No drives are emulated yet. For an empty channel QEMU answers 0 from every task
//! file register and the status registers (`ide_ioport_read`/`ide_status_read`
//! return 0 when neither unit has a block backend), which libata's probe reads as
//! "no device". Writes are still latched in the task file, so an ATA disk can be
//! attached later by answering from [`IdeChannel::taskfile`] when a drive is present.

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

use crate::pci::{le_reg_read, le_reg_write, UnimpLog};

/// Data register (16/32-bit).
pub const ATA_REG_DATA: u32 = 0;
/// Error (read) / features (write).
pub const ATA_REG_ERROR: u32 = 1;
/// Sector count.
pub const ATA_REG_NSECT: u32 = 2;
/// LBA low / sector number.
pub const ATA_REG_LBAL: u32 = 3;
/// LBA mid / cylinder low.
pub const ATA_REG_LBAM: u32 = 4;
/// LBA high / cylinder high.
pub const ATA_REG_LBAH: u32 = 5;
/// Device/head select.
pub const ATA_REG_DEVICE: u32 = 6;
/// Status (read) / command (write).
pub const ATA_REG_STATUS: u32 = 7;
/// Alternate status (read) / device control (write).
pub const ATA_REG_ALTSTATUS: u32 = 8;
/// Second decode of alternate status / device control in QEMU.
pub const ATA_REG_ALTSTATUS2: u32 = 0x16;
/// Heathrow/Ohare timing register (32-bit, offset 0x200).
pub const IDE_TIMING_CONFIG: u32 = 0x20;
/// KeyLargo interrupt state register (offset 0x300); reads 0 on Heathrow.
pub const IDE_INTR_REG: u32 = 0x30;
/// Device control: software reset.
pub const ATA_SRST: u8 = 0x04;
/// Device control: interrupts disabled.
pub const ATA_NIEN: u8 = 0x02;

/// The task file as last written by the guest (saved).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFile {
    /// Features.
    pub feature: u8,
    /// Sector count.
    pub nsector: u8,
    /// Sector number / LBA low.
    pub sector: u8,
    /// Cylinder low / LBA mid.
    pub lcyl: u8,
    /// Cylinder high / LBA high.
    pub hcyl: u8,
    /// Device/head select.
    pub select: u8,
    /// Last command written.
    pub command: u8,
}

/// One IDE channel (two units).
#[derive(Debug, Clone, Default)]
pub struct IdeChannel {
    /// Task file registers (saved).
    pub taskfile: TaskFile,
    /// Device control register (saved).
    pub devctl: u8,
    /// Timing configuration register (saved).
    pub timing_reg: u32,
    /// KeyLargo interrupt register; stays 0 on Heathrow (saved).
    pub irq_reg: u32,
    unimp: UnimpLog,
}

impl IdeChannel {
    /// An empty channel.
    pub fn new() -> Self {
        Self::default()
    }

    /// The channel's interrupt output (PIC 0x0D for IDE0, 0x0E for IDE1): an empty
    /// channel never interrupts.
    pub fn irq(&self) -> bool {
        false
    }

    /// Whether a unit answers (none yet).
    fn any_drive(&self) -> bool {
        false
    }

    /// MMIO read.
    pub fn read(&mut self, offset: u32, size: u32) -> u32 {
        let all_ones = if size >= 4 {
            u32::MAX
        } else {
            (1 << (8 * size)) - 1
        };
        let reg = (offset & 0xFFF) >> 4;
        match (reg, size) {
            // PIO data with no transfer in progress reads 0 (QEMU ide_data_readw).
            (ATA_REG_DATA, 2 | 4) => 0,
            (ATA_REG_ERROR..=ATA_REG_STATUS, 1) | (ATA_REG_ALTSTATUS | ATA_REG_ALTSTATUS2, 1) => {
                if self.any_drive() {
                    self.read_taskfile(reg)
                } else {
                    0
                }
            }
            (IDE_TIMING_CONFIG, _) => le_reg_read(self.timing_reg, offset & 3, size),
            (IDE_INTR_REG, _) => le_reg_read(self.irq_reg, offset & 3, size),
            (ATA_REG_DATA..=ATA_REG_ALTSTATUS | ATA_REG_ALTSTATUS2, _) => all_ones,
            _ => {
                self.unimp.report("ide", false, offset, size, all_ones);
                all_ones
            }
        }
    }

    fn read_taskfile(&self, reg: u32) -> u32 {
        let t = &self.taskfile;
        u32::from(match reg {
            ATA_REG_NSECT => t.nsector,
            ATA_REG_LBAL => t.sector,
            ATA_REG_LBAM => t.lcyl,
            ATA_REG_LBAH => t.hcyl,
            ATA_REG_DEVICE => t.select,
            _ => 0,
        })
    }

    /// MMIO write.
    pub fn write(&mut self, offset: u32, size: u32, value: u32) {
        let reg = (offset & 0xFFF) >> 4;
        let b = value as u8;
        let t = &mut self.taskfile;
        match (reg, size) {
            (ATA_REG_DATA, 2 | 4) => {} // no PIO transfer to feed
            (ATA_REG_ERROR, 1) => t.feature = b,
            (ATA_REG_NSECT, 1) => t.nsector = b,
            (ATA_REG_LBAL, 1) => t.sector = b,
            (ATA_REG_LBAM, 1) => t.lcyl = b,
            (ATA_REG_LBAH, 1) => t.hcyl = b,
            (ATA_REG_DEVICE, 1) => t.select = b,
            // Commands to an empty channel are dropped: no unit to execute them.
            (ATA_REG_STATUS, 1) => t.command = b,
            (ATA_REG_ALTSTATUS | ATA_REG_ALTSTATUS2, 1) => self.devctl = b,
            (IDE_TIMING_CONFIG, _) => {
                self.timing_reg = le_reg_write(self.timing_reg, offset & 3, size, value)
            }
            // KeyLargo's write-1-to-clear of bit 31; harmless here.
            (IDE_INTR_REG, _) => {
                let v = le_reg_write(0, offset & 3, size, value);
                if v & 0x8000_0000 != 0 {
                    self.irq_reg &= 0x7FFF_FFFF;
                }
            }
            (ATA_REG_DATA..=ATA_REG_ALTSTATUS | ATA_REG_ALTSTATUS2, _) => {}
            _ => self.unimp.report("ide", true, offset, size, value),
        }
    }
}

impl VmState for TaskFile {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<TaskFile>> = LazyLock::new(|| {
            Vmsd::builder("ide_taskfile")
                .field("feature", |s: &TaskFile| &s.feature, |s| &mut s.feature)
                .field("nsector", |s| &s.nsector, |s| &mut s.nsector)
                .field("sector", |s| &s.sector, |s| &mut s.sector)
                .field("lcyl", |s| &s.lcyl, |s| &mut s.lcyl)
                .field("hcyl", |s| &s.hcyl, |s| &mut s.hcyl)
                .field("select", |s| &s.select, |s| &mut s.select)
                .field("command", |s| &s.command, |s| &mut s.command)
                .build()
        });
        &V
    }
}

impl VmState for IdeChannel {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<IdeChannel>> = LazyLock::new(|| {
            Vmsd::builder("ide")
                .version(1)
                .minimum_version(1)
                .struct_field(
                    "taskfile",
                    |s: &IdeChannel| &s.taskfile,
                    |s| &mut s.taskfile,
                )
                .field("devctl", |s| &s.devctl, |s| &mut s.devctl)
                .field("timing_reg", |s| &s.timing_reg, |s| &mut s.timing_reg)
                .field("irq_reg", |s| &s.irq_reg, |s| &mut s.irq_reg)
                .build()
        });
        &V
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_channel_status_reads_zero_like_qemu() {
        let mut ide = IdeChannel::new();
        assert_eq!(ide.read(ATA_REG_STATUS << 4, 1), 0);
        assert_eq!(ide.read(ATA_REG_ALTSTATUS << 4, 1), 0);
        assert_eq!(ide.read(ATA_REG_ALTSTATUS2 << 4, 1), 0);
    }

    #[test]
    fn probe_pattern_reads_back_zero_on_empty_channel() {
        // libata's ata_devchk writes 0x55/0xAA to nsect/lbal and expects them back
        // only when a device is present.
        let mut ide = IdeChannel::new();
        ide.write(ATA_REG_NSECT << 4, 1, 0x55);
        ide.write(ATA_REG_LBAL << 4, 1, 0xAA);
        assert_eq!(ide.read(ATA_REG_NSECT << 4, 1), 0);
        assert_eq!(ide.read(ATA_REG_LBAL << 4, 1), 0);
        assert_eq!(ide.taskfile.nsector, 0x55, "write still latched");
        assert!(!ide.irq());
    }

    #[test]
    fn timing_register_is_little_endian_read_write() {
        let mut ide = IdeChannel::new();
        ide.write(IDE_TIMING_CONFIG << 4, 4, 0x2513_0000u32.swap_bytes());
        assert_eq!(ide.timing_reg, 0x2513_0000);
        assert_eq!(
            ide.read(IDE_TIMING_CONFIG << 4, 4).swap_bytes(),
            0x2513_0000
        );
    }

    #[test]
    fn wrong_width_reads_all_ones_and_data_reads_zero() {
        let mut ide = IdeChannel::new();
        assert_eq!(ide.read(ATA_REG_STATUS << 4, 4), u32::MAX);
        assert_eq!(ide.read(ATA_REG_DATA, 1), 0xFF);
        assert_eq!(ide.read(ATA_REG_DATA, 2), 0);
        assert_eq!(ide.read(IDE_INTR_REG << 4, 4), 0);
        assert_eq!(ide.read(0x900, 1), 0xFF, "unknown offset");
    }

    #[test]
    fn random_mmio_never_panics() {
        let mut ide = IdeChannel::new();
        crate::pci::random_mmio(7, 20_000, 0x1000, |w, off, size, v| {
            if w {
                ide.write(off, size, v);
            } else {
                ide.read(off, size);
            }
        });
        assert!(!ide.irq());
    }

    #[test]
    fn state_roundtrips() {
        let mut ide = IdeChannel::new();
        savevm::testing::assert_mutated_roundtrip(&mut ide, |i| {
            i.write(ATA_REG_DEVICE << 4, 1, 0x10);
            i.write(IDE_TIMING_CONFIG << 4, 4, 0x1234);
            i.write(ATA_REG_ALTSTATUS << 4, 1, u32::from(ATA_NIEN));
        });
    }
}
