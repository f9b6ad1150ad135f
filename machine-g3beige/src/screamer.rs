//! The Screamer (AWACS-family) sound chip at mac-io +0x14000, as a register stub
//! (Linux sound/ppc/awacs.c and awacs.h). QEMU's g3beige maps nothing here; this
//! stub keeps a guest's probe sane: registers hold what was written, the codec is
//! never busy, and the codec status reports a Screamer (revision 3). No audio plays
//! and the sound DBDMA channels stay idle. Accesses are logged once (`-d unimp`).
//!
//! Registers are 32-bit little-endian, 16 bytes apart.

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

use crate::pci::{le_reg_read, le_reg_write, UnimpLog};

/// Audio control (sample rate, input/output select).
pub const AWACS_CONTROL: u32 = 0x00;
/// Codec control: write a codec command; bit 24 is "command in progress".
pub const AWACS_CODEC_CTRL: u32 = 0x10;
/// Codec status: revision in bits 12..15.
pub const AWACS_CODEC_STAT: u32 = 0x20;
/// Clipping count.
pub const AWACS_CLIP_COUNT: u32 = 0x30;
/// Byte swap control.
pub const AWACS_BYTESWAP: u32 = 0x40;
/// Codec status value: Screamer revision (3) in bits 12..15, nothing else.
pub const SCREAMER_STATUS: u32 = 3 << 12;
/// Codec control: a command is still being shifted out.
pub const MASK_NEWECMD: u32 = 1 << 24;

/// The stub's registers (saved).
#[derive(Debug, Clone, Default)]
pub struct Screamer {
    /// AWACS_CONTROL as written.
    pub control: u32,
    /// Last codec command written (busy bit never reported).
    pub codec_ctrl: u32,
    /// AWACS_BYTESWAP as written.
    pub byteswap: u32,
    unimp: UnimpLog,
}

impl Screamer {
    /// The stub after reset.
    pub fn new() -> Self {
        Self::default()
    }

    /// MMIO read.
    pub fn read(&mut self, offset: u32, size: u32) -> u32 {
        let value = match offset & 0xF0 {
            AWACS_CONTROL => self.control,
            AWACS_CODEC_CTRL => self.codec_ctrl & !MASK_NEWECMD,
            AWACS_CODEC_STAT => SCREAMER_STATUS,
            AWACS_CLIP_COUNT => 0,
            AWACS_BYTESWAP => self.byteswap,
            _ => 0,
        };
        self.unimp.report("screamer", false, offset, size, value);
        le_reg_read(value, offset & 3, size)
    }

    /// MMIO write.
    pub fn write(&mut self, offset: u32, size: u32, value: u32) {
        self.unimp.report("screamer", true, offset, size, value);
        match offset & 0xF0 {
            AWACS_CONTROL => self.control = le_reg_write(self.control, offset & 3, size, value),
            AWACS_CODEC_CTRL => {
                self.codec_ctrl = le_reg_write(self.codec_ctrl, offset & 3, size, value)
            }
            AWACS_BYTESWAP => self.byteswap = le_reg_write(self.byteswap, offset & 3, size, value),
            _ => {}
        }
    }
}

impl VmState for Screamer {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Screamer>> = LazyLock::new(|| {
            Vmsd::builder("screamer")
                .version(1)
                .minimum_version(1)
                .field("control", |s: &Screamer| &s.control, |s| &mut s.control)
                .field("codec_ctrl", |s| &s.codec_ctrl, |s| &mut s.codec_ctrl)
                .field("byteswap", |s| &s.byteswap, |s| &mut s.byteswap)
                .build()
        });
        &V
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codec_status_reports_screamer_and_codec_is_never_busy() {
        let mut s = Screamer::new();
        let stat = s.read(AWACS_CODEC_STAT, 4).swap_bytes();
        assert_eq!((stat >> 12) & 0xF, 3);
        s.write(AWACS_CODEC_CTRL, 4, (MASK_NEWECMD | 0x1234).swap_bytes());
        assert_eq!(s.read(AWACS_CODEC_CTRL, 4).swap_bytes() & MASK_NEWECMD, 0);
    }

    #[test]
    fn control_reads_back_and_unknown_reads_zero() {
        let mut s = Screamer::new();
        s.write(AWACS_CONTROL, 4, 0x11u32.swap_bytes());
        assert_eq!(s.read(AWACS_CONTROL, 4).swap_bytes(), 0x11);
        assert_eq!(s.read(0x80, 4), 0);
    }

    #[test]
    fn random_mmio_never_panics() {
        let mut s = Screamer::new();
        crate::pci::random_mmio(10, 5_000, 0x1000, |w, off, size, v| {
            if w {
                s.write(off, size, v);
            } else {
                s.read(off, size);
            }
        });
        assert_eq!((s.read(AWACS_CODEC_STAT, 4).swap_bytes() >> 12) & 0xF, 3);
    }

    #[test]
    fn state_roundtrips() {
        let mut s = Screamer::new();
        savevm::testing::assert_mutated_roundtrip(&mut s, |s| {
            s.write(AWACS_BYTESWAP, 4, 1u32.swap_bytes())
        });
    }
}
