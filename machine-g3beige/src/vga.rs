//! QEMU's standard VGA on PCI (1234:1111) with the Bochs VBE "DISPI" extension
//! (QEMU hw/display/vga.c, vga-pci.c, vga_regs.h and include/hw/display/bochs-vbe.h;
//! OpenBIOS drivers/vga_vbe.c sets the mode).
//!
//! - BAR0: VRAM (16 MB), the linear framebuffer; bytes in address order.
//! - BAR2 (4 KB MMIO): EDID at +0x000, the VGA ports 0x3C0–0x3DF at +0x400, the DISPI
//!   registers as 16-bit little-endian words at +0x500 + 2*index, and QEMU's extension
//!   registers at +0x600 (size, framebuffer byte order).
//! - PCI I/O: VGA ports 0x3B0–0x3DF, DISPI index at 0x1CE and data at 0x1D0 (QEMU's
//!   non-x86 layout; 0x1CF is accepted too).
//!
//! The guest sets a mode with VBE; [`Vga::mode`] describes it for the window, and
//! [`Vga::take_dirty`] reports which 4 KB VRAM pages changed since the last call. On
//! PowerPC QEMU makes the framebuffer big-endian (`big_endian_fb`), so 32-bpp pixels
//! are stored xRGB in address order unless the guest flips the byte-order register.
//! Legacy text and planar modes are kept as register state only; nothing renders them.

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

use crate::pci::{le_reg_read, le_reg_write, UnimpLog};

/// Default VRAM size (QEMU's `vgamem_mb` = 16).
pub const VGA_VRAM_SIZE: usize = 16 << 20;
/// Largest VRAM a snapshot may carry (QEMU's `vgamem_mb` limit, 256 MB).
pub const VGA_VRAM_MAX: usize = 256 << 20;
/// Dirty-tracking granularity.
pub const VGA_PAGE_SIZE: usize = 4096;

/// BAR2 offset of the EDID block.
pub const MMIO_EDID: u32 = 0x000;
/// BAR2 offset of the VGA ports (port 0x3C0 at +0x400).
pub const MMIO_VGA_PORTS: u32 = 0x400;
/// BAR2 offset of the DISPI registers.
pub const MMIO_BOCHS_DISPI: u32 = 0x500;
/// BAR2 offset of QEMU's extension registers.
pub const MMIO_QEXT: u32 = 0x600;
/// QEMU extension: size of the extension region (read only).
pub const QEXT_REG_SIZE: u32 = 0x0;
/// QEMU extension: framebuffer byte order.
pub const QEXT_REG_BYTEORDER: u32 = 0x4;
/// Byte-order value: little-endian framebuffer.
pub const QEXT_LITTLE_ENDIAN: u32 = 0x1E1E_1E1E;
/// Byte-order value: big-endian framebuffer.
pub const QEXT_BIG_ENDIAN: u32 = 0xBEBE_BEBE;
/// Size of QEMU's extension region.
pub const QEXT_SIZE: u32 = 8;

/// I/O port of the DISPI index register.
pub const VBE_DISPI_IOPORT_INDEX: u32 = 0x1CE;
/// I/O port of the DISPI data register on non-x86 QEMU targets.
pub const VBE_DISPI_IOPORT_DATA: u32 = 0x1D0;

/// DISPI index: interface ID.
pub const VBE_DISPI_INDEX_ID: usize = 0x0;
/// DISPI index: horizontal resolution.
pub const VBE_DISPI_INDEX_XRES: usize = 0x1;
/// DISPI index: vertical resolution.
pub const VBE_DISPI_INDEX_YRES: usize = 0x2;
/// DISPI index: bits per pixel.
pub const VBE_DISPI_INDEX_BPP: usize = 0x3;
/// DISPI index: enable flags.
pub const VBE_DISPI_INDEX_ENABLE: usize = 0x4;
/// DISPI index: 64 KB bank for the legacy window.
pub const VBE_DISPI_INDEX_BANK: usize = 0x5;
/// DISPI index: virtual (line) width in pixels.
pub const VBE_DISPI_INDEX_VIRT_WIDTH: usize = 0x6;
/// DISPI index: virtual height.
pub const VBE_DISPI_INDEX_VIRT_HEIGHT: usize = 0x7;
/// DISPI index: display X offset.
pub const VBE_DISPI_INDEX_X_OFFSET: usize = 0x8;
/// DISPI index: display Y offset.
pub const VBE_DISPI_INDEX_Y_OFFSET: usize = 0x9;
/// DISPI index: VRAM size in 64 KB units (read only).
pub const VBE_DISPI_INDEX_VIDEO_MEMORY_64K: usize = 0xA;
/// Number of stored DISPI registers.
pub const VBE_DISPI_INDEX_NB: usize = 0xA;
/// Newest DISPI interface ID.
pub const VBE_DISPI_ID5: u16 = 0xB0C5;
/// Oldest DISPI interface ID.
pub const VBE_DISPI_ID0: u16 = 0xB0C0;
/// ENABLE: display enabled.
pub const VBE_DISPI_ENABLED: u16 = 0x01;
/// ENABLE: report maximum values instead of current ones.
pub const VBE_DISPI_GETCAPS: u16 = 0x02;
/// ENABLE: 8-bit DAC.
pub const VBE_DISPI_8BIT_DAC: u16 = 0x20;
/// ENABLE: linear framebuffer.
pub const VBE_DISPI_LFB_ENABLED: u16 = 0x40;
/// ENABLE: do not clear VRAM on enable.
pub const VBE_DISPI_NOCLEARMEM: u16 = 0x80;
/// Largest horizontal resolution.
pub const VBE_DISPI_MAX_XRES: u16 = 16000;
/// Largest vertical resolution.
pub const VBE_DISPI_MAX_YRES: u16 = 12000;
/// Largest depth.
pub const VBE_DISPI_MAX_BPP: u16 = 32;

/// Attribute controller index/data (flip-flop).
pub const VGA_ATT_W: u32 = 0x3C0;
/// Attribute controller data read.
pub const VGA_ATT_R: u32 = 0x3C1;
/// Misc output write / input status 0 read.
pub const VGA_MIS_W: u32 = 0x3C2;
/// Sequencer index.
pub const VGA_SEQ_I: u32 = 0x3C4;
/// Sequencer data.
pub const VGA_SEQ_D: u32 = 0x3C5;
/// DAC pixel mask.
pub const VGA_PEL_MSK: u32 = 0x3C6;
/// DAC read index (write) / DAC state (read).
pub const VGA_PEL_IR: u32 = 0x3C7;
/// DAC write index.
pub const VGA_PEL_IW: u32 = 0x3C8;
/// DAC data.
pub const VGA_PEL_D: u32 = 0x3C9;
/// Feature control read.
pub const VGA_FTC_R: u32 = 0x3CA;
/// Misc output read.
pub const VGA_MIS_R: u32 = 0x3CC;
/// Graphics controller index.
pub const VGA_GFX_I: u32 = 0x3CE;
/// Graphics controller data.
pub const VGA_GFX_D: u32 = 0x3CF;
/// CRTC index (colour).
pub const VGA_CRT_IC: u32 = 0x3D4;
/// CRTC data (colour).
pub const VGA_CRT_DC: u32 = 0x3D5;
/// Input status 1 (colour) / feature control write.
pub const VGA_IS1_RC: u32 = 0x3DA;
/// CRTC index (mono).
pub const VGA_CRT_IM: u32 = 0x3B4;
/// CRTC data (mono).
pub const VGA_CRT_DM: u32 = 0x3B5;
/// Input status 1 (mono).
pub const VGA_IS1_RM: u32 = 0x3BA;
/// Misc output: I/O address select (colour at 0x3Dx).
pub const VGA_MIS_COLOR: u8 = 0x01;
/// Input status 1: display disabled.
pub const ST01_DISP_ENABLE: u8 = 0x01;
/// Input status 1: vertical retrace.
pub const ST01_V_RETRACE: u8 = 0x08;
/// Attribute registers.
pub const VGA_ATT_C: usize = 21;

/// The display mode for the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VgaMode {
    /// A VBE graphics mode is on; when false nothing is scanned out.
    pub enabled: bool,
    /// Visible width in pixels.
    pub width: u32,
    /// Visible height in pixels.
    pub height: u32,
    /// Bits per pixel: 8 (palette), 15, 16, 24 or 32.
    pub bpp: u32,
    /// Bytes from one line to the next.
    pub stride: u32,
    /// VRAM offset of the top-left visible pixel.
    pub offset: u32,
    /// Multi-byte pixels are stored most significant byte first.
    pub big_endian: bool,
}

/// The std VGA.
#[derive(Debug, Clone)]
pub struct Vga {
    /// VRAM (saved).
    pub vram: Vec<u8>,
    /// `vram.len()`, saved ahead of the VRAM so a loader knows its length.
    pub vram_size: u32,
    /// Misc output register.
    pub msr: u8,
    /// Feature control.
    pub fcr: u8,
    /// Input status 0.
    pub st00: u8,
    /// Input status 1 (retrace bits toggle on each read).
    pub st01: u8,
    /// Sequencer index and registers.
    pub sr_index: u8,
    /// Sequencer registers.
    pub sr: [u8; 8],
    /// Graphics controller index.
    pub gr_index: u8,
    /// Graphics controller registers.
    pub gr: [u8; 16],
    /// Attribute controller index.
    pub ar_index: u8,
    /// Attribute controller registers.
    pub ar: [u8; VGA_ATT_C],
    /// Attribute flip-flop: false = next 0x3C0 write is an index.
    pub ar_flip_flop: bool,
    /// CRTC index.
    pub cr_index: u8,
    /// CRTC registers.
    pub cr: [u8; 256],
    /// DAC state read at 0x3C7 (0 = write mode, 3 = read mode).
    pub dac_state: u8,
    /// DAC component (0..3) within the current entry.
    pub dac_sub_index: u8,
    /// DAC read entry.
    pub dac_read_index: u8,
    /// DAC write entry.
    pub dac_write_index: u8,
    /// Components of the entry being written.
    pub dac_cache: [u8; 3],
    /// The palette: 256 RGB entries of 6 (or 8) bits each.
    pub palette: [u8; 768],
    /// DISPI index register.
    pub vbe_index: u16,
    /// DISPI registers.
    pub vbe_regs: [u16; VBE_DISPI_INDEX_NB],
    /// Byte offset of the 64 KB bank selected through VBE.
    pub bank_offset: u32,
    /// Framebuffer is big-endian (QEMU's default on PowerPC).
    pub big_endian_fb: bool,
    /// Dirty bitmap over VRAM pages (plumbing: the window's, not the guest's).
    dirty: Vec<u64>,
    edid: [u8; 128],
    unimp: UnimpLog,
}

impl Default for Vga {
    fn default() -> Self {
        Self::new()
    }
}

impl Vga {
    /// A VGA with QEMU's default 16 MB of VRAM.
    pub fn new() -> Self {
        Self::with_vram_size(VGA_VRAM_SIZE)
    }

    /// A VGA with `size` bytes of VRAM (a multiple of 64 KB).
    pub fn with_vram_size(size: usize) -> Self {
        let size = size.clamp(1 << 16, VGA_VRAM_MAX) & !0xFFFF;
        let pages = size.div_ceil(VGA_PAGE_SIZE);
        let mut v = Vga {
            vram: vec![0; size],
            vram_size: size as u32,
            msr: 0,
            fcr: 0,
            st00: 0,
            st01: 0,
            sr_index: 0,
            sr: [0; 8],
            gr_index: 0,
            gr: [0; 16],
            ar_index: 0,
            ar: [0; VGA_ATT_C],
            ar_flip_flop: false,
            cr_index: 0,
            cr: [0; 256],
            dac_state: 0,
            dac_sub_index: 0,
            dac_read_index: 0,
            dac_write_index: 0,
            dac_cache: [0; 3],
            palette: [0; 768],
            vbe_index: 0,
            vbe_regs: [0; VBE_DISPI_INDEX_NB],
            bank_offset: 0,
            big_endian_fb: true,
            dirty: vec![0; pages.div_ceil(64)],
            edid: edid_block(),
            unimp: UnimpLog::default(),
        };
        v.vbe_regs[VBE_DISPI_INDEX_ID] = VBE_DISPI_ID5;
        v
    }

    // ---- VRAM (BAR0) ----

    /// Reads `size` bytes of VRAM at `offset`, in address order.
    pub fn vram_read(&self, offset: u32, size: u32) -> u32 {
        (0..size).fold(0, |acc, i| {
            let b = self
                .vram
                .get((offset + i) as usize)
                .copied()
                .unwrap_or(0xFF);
            (acc << 8) | u32::from(b)
        })
    }

    /// Writes `size` bytes of VRAM at `offset` and marks the page dirty.
    pub fn vram_write(&mut self, offset: u32, size: u32, value: u32) {
        for i in 0..size {
            let at = (offset + i) as usize;
            if let Some(b) = self.vram.get_mut(at) {
                *b = (value >> (8 * (size - 1 - i))) as u8;
                let page = at / VGA_PAGE_SIZE;
                self.dirty[page / 64] |= 1 << (page % 64);
            }
        }
    }

    /// Takes the dirty bitmap (bit `p` = VRAM page `p`); `None` when nothing changed.
    pub fn take_dirty(&mut self) -> Option<Vec<u64>> {
        if self.dirty.iter().all(|&w| w == 0) {
            return None;
        }
        let n = self.dirty.len();
        Some(std::mem::replace(&mut self.dirty, vec![0; n]))
    }

    fn mark_all_dirty(&mut self) {
        self.dirty.iter_mut().for_each(|w| *w = u64::MAX);
    }

    /// Palette entry `i` as 8-bit RGB.
    pub fn palette_rgb(&self, i: u8) -> [u8; 3] {
        let at = usize::from(i) * 3;
        let e = [self.palette[at], self.palette[at + 1], self.palette[at + 2]];
        if self.vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_8BIT_DAC != 0 {
            [e[0], e[1], e[2]]
        } else {
            // 6-bit DAC: replicate the top bits, as QEMU's c6_to_8.
            e.map(|c| {
                let c = c & 0x3F;
                (c << 2) | (c >> 4)
            })
        }
    }

    /// The current display mode.
    pub fn mode(&self) -> VgaMode {
        let r = &self.vbe_regs;
        let enabled = r[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED != 0;
        let bpp = u32::from(r[VBE_DISPI_INDEX_BPP]);
        let stride = line_length(r[VBE_DISPI_INDEX_VIRT_WIDTH], r[VBE_DISPI_INDEX_BPP]);
        let bits = if bpp == 15 { 16 } else { bpp };
        let offset = u32::from(r[VBE_DISPI_INDEX_Y_OFFSET]) * stride
            + u32::from(r[VBE_DISPI_INDEX_X_OFFSET]) * bits / 8;
        VgaMode {
            enabled,
            width: u32::from(r[VBE_DISPI_INDEX_XRES]),
            height: u32::from(r[VBE_DISPI_INDEX_YRES]),
            bpp,
            stride,
            offset,
            big_endian: self.big_endian_fb,
        }
    }

    // ---- BAR2 MMIO ----

    /// BAR2 MMIO read.
    pub fn mmio_read(&mut self, offset: u32, size: u32) -> u32 {
        match offset {
            0..=0x3FF => (0..size).fold(0, |acc, i| {
                let b = self.edid.get((offset + i) as usize).copied().unwrap_or(0);
                (acc << 8) | u32::from(b)
            }),
            0x400..=0x41F => {
                // Little-endian port pairs, as QEMU's pci_vga_ioport_read.
                let port = offset - MMIO_VGA_PORTS + VGA_ATT_W;
                let v = (0..size).fold(0, |acc, i| {
                    acc | u32::from(self.ioport_read(port + i)) << (8 * i)
                });
                swap_to_bus(v, size)
            }
            0x500..=0x515 => {
                let index = ((offset - MMIO_BOCHS_DISPI) >> 1) as u16;
                let v = u32::from(self.dispi_read(index));
                le_reg_read(v, offset & 1, size.min(2))
            }
            0x600..=0x607 => {
                let v = match offset & !3 {
                    0x600 => QEXT_SIZE,
                    _ if self.big_endian_fb => QEXT_BIG_ENDIAN,
                    _ => QEXT_LITTLE_ENDIAN,
                };
                le_reg_read(v, offset & 3, size)
            }
            _ => {
                self.unimp.report("vga", false, offset, size, 0);
                0
            }
        }
    }

    /// BAR2 MMIO write.
    pub fn mmio_write(&mut self, offset: u32, size: u32, value: u32) {
        match offset {
            0x400..=0x41F => {
                let port = offset - MMIO_VGA_PORTS + VGA_ATT_W;
                let v = swap_to_bus(value, size);
                for i in 0..size {
                    self.ioport_write(port + i, (v >> (8 * i)) as u8);
                }
            }
            0x500..=0x515 => {
                let index = ((offset - MMIO_BOCHS_DISPI) >> 1) as u16;
                let cur = u32::from(self.dispi_peek(index));
                let v = le_reg_write(cur, offset & 1, size.min(2), value);
                self.dispi_write(index, v as u16);
            }
            0x604..=0x607 if size == 4 => match value.swap_bytes() {
                QEXT_BIG_ENDIAN => self.set_big_endian(true),
                QEXT_LITTLE_ENDIAN => self.set_big_endian(false),
                _ => {}
            },
            _ => self.unimp.report("vga", true, offset, size, value),
        }
    }

    fn set_big_endian(&mut self, big: bool) {
        if self.big_endian_fb != big {
            self.big_endian_fb = big;
            self.mark_all_dirty();
        }
    }

    // ---- PCI I/O space ----

    /// A read from PCI I/O `port` (16-bit accesses are little-endian pairs).
    pub fn io_read(&mut self, port: u32, size: u32) -> u32 {
        match port {
            VBE_DISPI_IOPORT_INDEX => swap_to_bus(u32::from(self.vbe_index), size),
            0x1CF | VBE_DISPI_IOPORT_DATA => {
                swap_to_bus(u32::from(self.dispi_read(self.vbe_index)), size)
            }
            0x3B0..=0x3DF => {
                let v = (0..size).fold(0, |acc, i| {
                    acc | u32::from(self.ioport_read(port + i)) << (8 * i)
                });
                swap_to_bus(v, size)
            }
            _ => {
                self.unimp.report("vga-io", false, port, size, 0);
                0
            }
        }
    }

    /// A write to PCI I/O `port`.
    pub fn io_write(&mut self, port: u32, size: u32, value: u32) {
        let v = swap_to_bus(value, size);
        match port {
            VBE_DISPI_IOPORT_INDEX => self.vbe_index = v as u16,
            0x1CF | VBE_DISPI_IOPORT_DATA => self.dispi_write(self.vbe_index, v as u16),
            0x3B0..=0x3DF => {
                for i in 0..size {
                    self.ioport_write(port + i, (v >> (8 * i)) as u8);
                }
            }
            _ => self.unimp.report("vga-io", true, port, size, value),
        }
    }

    // ---- Bochs DISPI ----

    fn dispi_peek(&self, index: u16) -> u16 {
        self.vbe_regs.get(usize::from(index)).copied().unwrap_or(0)
    }

    /// Reads DISPI register `index` (QEMU's `vbe_ioport_read_data`).
    pub fn dispi_read(&self, index: u16) -> u16 {
        let i = usize::from(index);
        if i < VBE_DISPI_INDEX_NB {
            if self.vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_GETCAPS != 0 {
                match i {
                    VBE_DISPI_INDEX_XRES => return VBE_DISPI_MAX_XRES,
                    VBE_DISPI_INDEX_YRES => return VBE_DISPI_MAX_YRES,
                    VBE_DISPI_INDEX_BPP => return VBE_DISPI_MAX_BPP,
                    _ => {}
                }
            }
            self.vbe_regs[i]
        } else if i == VBE_DISPI_INDEX_VIDEO_MEMORY_64K {
            (self.vram.len() >> 16) as u16
        } else {
            0
        }
    }

    /// Writes DISPI register `index` (QEMU's `vbe_ioport_write_data`).
    pub fn dispi_write(&mut self, index: u16, val: u16) {
        let i = usize::from(index);
        match i {
            VBE_DISPI_INDEX_ID if (VBE_DISPI_ID0..=VBE_DISPI_ID5).contains(&val) => {
                self.vbe_regs[i] = val;
            }
            VBE_DISPI_INDEX_XRES
            | VBE_DISPI_INDEX_YRES
            | VBE_DISPI_INDEX_BPP
            | VBE_DISPI_INDEX_VIRT_WIDTH
            | VBE_DISPI_INDEX_X_OFFSET
            | VBE_DISPI_INDEX_Y_OFFSET => {
                self.vbe_regs[i] = val;
                if self.vbe_regs[VBE_DISPI_INDEX_ENABLE] & VBE_DISPI_ENABLED != 0 {
                    self.fixup_vbe();
                }
                self.mark_all_dirty();
            }
            VBE_DISPI_INDEX_BANK => {
                let banks = (self.vram.len() >> 16).max(1) as u16;
                let bank = val & (banks - 1);
                self.vbe_regs[i] = bank;
                self.bank_offset = u32::from(bank) << 16;
            }
            VBE_DISPI_INDEX_ENABLE => {
                let was_on = self.vbe_regs[i] & VBE_DISPI_ENABLED != 0;
                if val & VBE_DISPI_ENABLED != 0 && !was_on {
                    self.vbe_regs[VBE_DISPI_INDEX_VIRT_WIDTH] = 0;
                    self.vbe_regs[VBE_DISPI_INDEX_X_OFFSET] = 0;
                    self.vbe_regs[VBE_DISPI_INDEX_Y_OFFSET] = 0;
                    self.vbe_regs[i] |= VBE_DISPI_ENABLED;
                    self.fixup_vbe();
                    if val & VBE_DISPI_NOCLEARMEM == 0 {
                        let r = &self.vbe_regs;
                        let len = usize::from(r[VBE_DISPI_INDEX_YRES])
                            * line_length(r[VBE_DISPI_INDEX_VIRT_WIDTH], r[VBE_DISPI_INDEX_BPP])
                                as usize;
                        let len = len.min(self.vram.len());
                        self.vram[..len].fill(0);
                    }
                } else {
                    self.bank_offset = 0;
                }
                self.vbe_regs[i] = val;
                self.mark_all_dirty();
            }
            _ => {} // VIRT_HEIGHT and the memory size are computed
        }
    }

    /// Clamps the DISPI registers to something VRAM can hold, exactly as QEMU's
    /// `vbe_fixup_regs` (which only runs while VBE is enabled).
    fn fixup_vbe(&mut self) {
        let vram = self.vram.len() as u32;
        let r = &mut self.vbe_regs;
        let bits = match r[VBE_DISPI_INDEX_BPP] {
            b @ (4 | 8 | 16 | 24 | 32) => u32::from(b),
            15 => 16,
            _ => {
                r[VBE_DISPI_INDEX_BPP] = 8;
                8
            }
        };
        r[VBE_DISPI_INDEX_XRES] &= !7;
        if r[VBE_DISPI_INDEX_XRES] == 0 {
            r[VBE_DISPI_INDEX_XRES] = 8;
        }
        r[VBE_DISPI_INDEX_XRES] = r[VBE_DISPI_INDEX_XRES].min(VBE_DISPI_MAX_XRES);
        r[VBE_DISPI_INDEX_VIRT_WIDTH] &= !7;
        // XRES is at most the maximum here, so the clamp range is never empty.
        r[VBE_DISPI_INDEX_VIRT_WIDTH] =
            r[VBE_DISPI_INDEX_VIRT_WIDTH].clamp(r[VBE_DISPI_INDEX_XRES], VBE_DISPI_MAX_XRES);
        let line = u32::from(r[VBE_DISPI_INDEX_VIRT_WIDTH]) * bits / 8;
        let maxy = (vram / line.max(1)).min(u32::from(u16::MAX)) as u16;
        // VRAM of at least 64 KB holds one line of at most 64000 bytes: maxy >= 1.
        r[VBE_DISPI_INDEX_YRES] =
            r[VBE_DISPI_INDEX_YRES].clamp(1, VBE_DISPI_MAX_YRES.min(maxy).max(1));
        r[VBE_DISPI_INDEX_X_OFFSET] = r[VBE_DISPI_INDEX_X_OFFSET].min(VBE_DISPI_MAX_XRES);
        r[VBE_DISPI_INDEX_Y_OFFSET] = r[VBE_DISPI_INDEX_Y_OFFSET].min(VBE_DISPI_MAX_YRES);
        let visible = u32::from(r[VBE_DISPI_INDEX_YRES]) * line;
        let x_bytes = u32::from(r[VBE_DISPI_INDEX_X_OFFSET]) * bits / 8;
        if x_bytes + u32::from(r[VBE_DISPI_INDEX_Y_OFFSET]) * line + visible > vram {
            r[VBE_DISPI_INDEX_Y_OFFSET] = 0;
            if x_bytes + visible > vram {
                r[VBE_DISPI_INDEX_X_OFFSET] = 0;
            }
        }
        r[VBE_DISPI_INDEX_VIRT_HEIGHT] = maxy;
    }

    // ---- legacy VGA ports ----

    fn port_ignored(&self, port: u32) -> bool {
        let color = self.msr & VGA_MIS_COLOR != 0;
        (color && (0x3B0..=0x3BF).contains(&port)) || (!color && (0x3D0..=0x3DF).contains(&port))
    }

    /// Reads VGA port `port` (0x3B0–0x3DF), QEMU's `vga_ioport_read`.
    pub fn ioport_read(&mut self, port: u32) -> u8 {
        if self.port_ignored(port) {
            return 0xFF;
        }
        match port {
            VGA_ATT_W => {
                if self.ar_flip_flop {
                    0
                } else {
                    self.ar_index
                }
            }
            VGA_ATT_R => {
                let i = usize::from(self.ar_index & 0x1F);
                self.ar.get(i).copied().unwrap_or(0)
            }
            VGA_MIS_W => self.st00,
            VGA_SEQ_I => self.sr_index,
            VGA_SEQ_D => self.sr[usize::from(self.sr_index & 7)],
            VGA_PEL_MSK => 0xFF,
            VGA_PEL_IR => self.dac_state,
            VGA_PEL_IW => self.dac_write_index,
            VGA_PEL_D => {
                let at = usize::from(self.dac_read_index) * 3 + usize::from(self.dac_sub_index);
                let v = self.palette[at];
                self.dac_sub_index += 1;
                if self.dac_sub_index == 3 {
                    self.dac_sub_index = 0;
                    self.dac_read_index = self.dac_read_index.wrapping_add(1);
                }
                v
            }
            VGA_FTC_R => self.fcr,
            VGA_MIS_R => self.msr,
            VGA_GFX_I => self.gr_index,
            VGA_GFX_D => self.gr[usize::from(self.gr_index & 0xF)],
            VGA_CRT_IM | VGA_CRT_IC => self.cr_index,
            VGA_CRT_DM | VGA_CRT_DC => self.cr[usize::from(self.cr_index)],
            VGA_IS1_RM | VGA_IS1_RC => {
                // Toggle retrace so polling loops finish; reading resets the flip-flop.
                self.st01 ^= ST01_V_RETRACE | ST01_DISP_ENABLE;
                self.ar_flip_flop = false;
                self.st01
            }
            _ => 0,
        }
    }

    /// Writes VGA port `port` (0x3B0–0x3DF), QEMU's `vga_ioport_write`.
    pub fn ioport_write(&mut self, port: u32, val: u8) {
        if self.port_ignored(port) {
            return;
        }
        match port {
            VGA_ATT_W => {
                if !self.ar_flip_flop {
                    self.ar_index = val & 0x3F;
                } else {
                    let i = usize::from(self.ar_index & 0x1F);
                    let mask = match i {
                        0..=0x0F => 0x3F,
                        0x10 => 0xEF,
                        0x11 => 0xFF,
                        0x12 => 0x3F,
                        0x13 => 0x0F,
                        0x14 => 0x0F,
                        _ => 0,
                    };
                    if let Some(r) = self.ar.get_mut(i) {
                        *r = val & mask;
                    }
                }
                self.ar_flip_flop = !self.ar_flip_flop;
            }
            VGA_MIS_W => self.msr = val & !0x10,
            VGA_SEQ_I => self.sr_index = val & 7,
            VGA_SEQ_D => self.sr[usize::from(self.sr_index & 7)] = val,
            VGA_PEL_IR => {
                self.dac_read_index = val;
                self.dac_sub_index = 0;
                self.dac_state = 3;
            }
            VGA_PEL_IW => {
                self.dac_write_index = val;
                self.dac_sub_index = 0;
                self.dac_state = 0;
            }
            VGA_PEL_D => {
                self.dac_cache[usize::from(self.dac_sub_index)] = val;
                self.dac_sub_index += 1;
                if self.dac_sub_index == 3 {
                    let at = usize::from(self.dac_write_index) * 3;
                    self.palette[at..at + 3].copy_from_slice(&self.dac_cache);
                    self.dac_sub_index = 0;
                    self.dac_write_index = self.dac_write_index.wrapping_add(1);
                    self.mark_all_dirty();
                }
            }
            VGA_GFX_I => self.gr_index = val & 0x0F,
            VGA_GFX_D => self.gr[usize::from(self.gr_index & 0xF)] = val,
            VGA_CRT_IM | VGA_CRT_IC => self.cr_index = val,
            VGA_CRT_DM | VGA_CRT_DC => {
                let i = usize::from(self.cr_index);
                // CR11 bit 7 write-protects CR0-CR7, except CR7 bit 4 (line compare).
                if self.cr[0x11] & 0x80 != 0 && i <= 7 {
                    if i == 7 {
                        self.cr[7] = (self.cr[7] & !0x10) | (val & 0x10);
                    }
                    return;
                }
                self.cr[i] = val;
            }
            VGA_IS1_RM | VGA_IS1_RC => self.fcr = val & 0x10,
            _ => {}
        }
    }
}

/// Bytes per line for a DISPI virtual width and depth.
fn line_length(virt_width: u16, bpp: u16) -> u32 {
    if bpp == 4 {
        u32::from(virt_width) >> 1
    } else {
        u32::from(virt_width) * u32::from(bpp).div_ceil(8)
    }
}

/// Converts between a little-endian device value and the big-endian bus value.
fn swap_to_bus(v: u32, size: u32) -> u32 {
    match size {
        2 => u32::from((v as u16).swap_bytes()),
        4 => v.swap_bytes(),
        _ => v & 0xFF,
    }
}

/// A valid EDID 1.4 base block: vendor "RHT" (as QEMU's), "QEMU Monitor", preferred
/// mode 1024x768@60, 640x480/800x600/1024x768 established timings.
fn edid_block() -> [u8; 128] {
    let mut e = [0u8; 128];
    e[0..8].copy_from_slice(&[0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]);
    let id =
        (u16::from(b'R' - b'@') << 10) | (u16::from(b'H' - b'@') << 5) | u16::from(b'T' - b'@');
    e[8..10].copy_from_slice(&id.to_be_bytes());
    e[10..12].copy_from_slice(&0x1234u16.to_le_bytes());
    e[16] = 1; // week
    e[17] = 24; // year: 2014 - 1990
    e[18] = 1; // EDID 1.4
    e[19] = 4;
    e[20] = 0xA5; // digital, 8 bits per colour, DisplayPort
    e[21] = 40; // cm
    e[22] = 30;
    e[23] = 120; // gamma 2.2
    e[24] = 0x06; // sRGB, preferred timing includes native format
    e[25..35].copy_from_slice(&[0xEE, 0x91, 0xA3, 0x54, 0x4C, 0x99, 0x26, 0x0F, 0x50, 0x54]);
    e[35] = 0x21; // 640x480@60, 800x600@60
    e[36] = 0x08; // 1024x768@60
    e[38..54].fill(0x01); // no standard timings
                          // Detailed timing: 1024x768@60, 65 MHz (VESA DMT).
    e[54..72].copy_from_slice(&[
        0x64, 0x19, 0x00, 0x40, 0x41, 0x00, 0x26, 0x30, 0x18, 0x88, 0x36, 0x00, 0x90, 0x2C, 0x11,
        0x00, 0x00, 0x18,
    ]);
    // Monitor name.
    e[72..77].copy_from_slice(&[0, 0, 0, 0xFC, 0]);
    e[77..90].copy_from_slice(b"QEMU Monitor\n");
    // Range limits: 50-125 Hz vertical, 30-160 kHz horizontal, 1200 MHz.
    e[90..108].copy_from_slice(&[
        0, 0, 0, 0xFD, 0, 50, 125, 30, 160, 120, 0x00, 0x0A, 0x20, 0x20, 0x20, 0x20, 0x20, 0x20,
    ]);
    // Dummy descriptor.
    e[108..113].copy_from_slice(&[0, 0, 0, 0x10, 0]);
    let sum = e[..127].iter().fold(0u8, |a, &b| a.wrapping_add(b));
    e[127] = sum.wrapping_neg();
    e
}

impl VmState for Vga {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Vga>> = LazyLock::new(|| {
            Vmsd::builder("vga")
                .version(1)
                .minimum_version(1)
                .field("msr", |s: &Vga| &s.msr, |s| &mut s.msr)
                .field("fcr", |s| &s.fcr, |s| &mut s.fcr)
                .field("st00", |s| &s.st00, |s| &mut s.st00)
                .field("st01", |s| &s.st01, |s| &mut s.st01)
                .field("sr_index", |s| &s.sr_index, |s| &mut s.sr_index)
                .field("sr", |s| &s.sr, |s| &mut s.sr)
                .field("gr_index", |s| &s.gr_index, |s| &mut s.gr_index)
                .field("gr", |s| &s.gr, |s| &mut s.gr)
                .field("ar_index", |s| &s.ar_index, |s| &mut s.ar_index)
                .field("ar", |s| &s.ar, |s| &mut s.ar)
                .field("ar_flip_flop", |s| &s.ar_flip_flop, |s| &mut s.ar_flip_flop)
                .field("cr_index", |s| &s.cr_index, |s| &mut s.cr_index)
                .field("cr", |s| &s.cr, |s| &mut s.cr)
                .field("dac_state", |s| &s.dac_state, |s| &mut s.dac_state)
                .field(
                    "dac_sub_index",
                    |s| &s.dac_sub_index,
                    |s| &mut s.dac_sub_index,
                )
                .field(
                    "dac_read_index",
                    |s| &s.dac_read_index,
                    |s| &mut s.dac_read_index,
                )
                .field(
                    "dac_write_index",
                    |s| &s.dac_write_index,
                    |s| &mut s.dac_write_index,
                )
                .field("dac_cache", |s| &s.dac_cache, |s| &mut s.dac_cache)
                .field("palette", |s| &s.palette, |s| &mut s.palette)
                .field("vbe_index", |s| &s.vbe_index, |s| &mut s.vbe_index)
                .field("vbe_regs", |s| &s.vbe_regs, |s| &mut s.vbe_regs)
                .field("bank_offset", |s| &s.bank_offset, |s| &mut s.bank_offset)
                .field(
                    "big_endian_fb",
                    |s| &s.big_endian_fb,
                    |s| &mut s.big_endian_fb,
                )
                .field("vram_size", |s| &s.vram_size, |s| &mut s.vram_size)
                .vbuffer(
                    "vram",
                    |s| s.vram_size as usize,
                    VGA_VRAM_MAX,
                    |s| &s.vram,
                    |s| &mut s.vram,
                )
                .post_load(|s, _| {
                    if s.dac_sub_index > 2 {
                        return Err(format!("dac_sub_index {} is not 0..2", s.dac_sub_index));
                    }
                    if s.vram_size < 1 << 16 || s.vram_size & 0xFFFF != 0 {
                        return Err(format!(
                            "vram_size {:#x} is not a multiple of 64 KB",
                            s.vram_size
                        ));
                    }
                    let pages = s.vram.len().div_ceil(VGA_PAGE_SIZE);
                    s.dirty = vec![0; pages.div_ceil(64)];
                    s.mark_all_dirty();
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

    /// OpenBIOS's vga_vbe.c sequence through BAR2.
    fn set_mode(v: &mut Vga, w: u16, h: u16, bpp: u16) {
        let mut dispi = |i: usize, val: u16| {
            v.mmio_write(
                MMIO_BOCHS_DISPI + 2 * i as u32,
                2,
                u32::from(val.swap_bytes()),
            )
        };
        dispi(VBE_DISPI_INDEX_ENABLE, 0);
        dispi(VBE_DISPI_INDEX_X_OFFSET, 0);
        dispi(VBE_DISPI_INDEX_Y_OFFSET, 0);
        dispi(VBE_DISPI_INDEX_XRES, w);
        dispi(VBE_DISPI_INDEX_YRES, h);
        dispi(VBE_DISPI_INDEX_BPP, bpp);
        dispi(
            VBE_DISPI_INDEX_ENABLE,
            VBE_DISPI_ENABLED | VBE_DISPI_LFB_ENABLED,
        );
    }

    fn dispi_mmio(v: &mut Vga, i: usize) -> u16 {
        (v.mmio_read(MMIO_BOCHS_DISPI + 2 * i as u32, 2) as u16).swap_bytes()
    }

    #[test]
    fn vbe_mode_set_gives_800x600x32_linear_mode() {
        let mut v = Vga::new();
        set_mode(&mut v, 800, 600, 32);
        assert_eq!(
            v.mode(),
            VgaMode {
                enabled: true,
                width: 800,
                height: 600,
                bpp: 32,
                stride: 3200,
                offset: 0,
                big_endian: true
            }
        );
        assert_eq!(dispi_mmio(&mut v, VBE_DISPI_INDEX_VIRT_WIDTH), 800);
        assert_eq!(
            dispi_mmio(&mut v, VBE_DISPI_INDEX_VIRT_HEIGHT),
            (16u32 << 20).div_euclid(3200) as u16
        );
    }

    #[test]
    fn dispi_id_and_memory_size_read_like_qemu() {
        let mut v = Vga::new();
        assert_eq!(dispi_mmio(&mut v, VBE_DISPI_INDEX_ID), 0xB0C5);
        assert_eq!(dispi_mmio(&mut v, VBE_DISPI_INDEX_VIDEO_MEMORY_64K), 256);
        v.io_write(VBE_DISPI_IOPORT_INDEX, 2, u32::from(1u16.swap_bytes()));
        v.io_write(VBE_DISPI_IOPORT_DATA, 2, u32::from(640u16.swap_bytes()));
        assert_eq!(v.vbe_regs[VBE_DISPI_INDEX_XRES], 640);
    }

    #[test]
    fn getcaps_reports_maximums() {
        let mut v = Vga::new();
        v.dispi_write(VBE_DISPI_INDEX_ENABLE as u16, VBE_DISPI_GETCAPS);
        assert_eq!(v.dispi_read(VBE_DISPI_INDEX_XRES as u16), 16000);
        assert_eq!(v.dispi_read(VBE_DISPI_INDEX_BPP as u16), 32);
    }

    #[test]
    fn bad_depth_and_oversized_height_are_clamped() {
        let mut v = Vga::with_vram_size(1 << 20);
        set_mode(&mut v, 1024, 4000, 7);
        let m = v.mode();
        assert_eq!(m.bpp, 8);
        assert_eq!(m.height, 1024, "1 MB / 1024-byte lines");
    }

    #[test]
    fn offsets_that_overflow_vram_are_reset_like_qemu() {
        let mut v = Vga::with_vram_size(1 << 20);
        set_mode(&mut v, 512, 256, 32);
        v.dispi_write(VBE_DISPI_INDEX_Y_OFFSET as u16, 300);
        assert_eq!(v.mode().offset, 0, "y offset would run past 1 MB");
        v.dispi_write(VBE_DISPI_INDEX_X_OFFSET as u16, 8);
        assert_eq!(v.mode().offset, 32, "x offset alone still fits");
        v.dispi_write(VBE_DISPI_INDEX_BPP as u16, 15);
        assert_eq!(v.mode().stride, 1024, "15 bpp uses 16-bit pixels");
    }

    #[test]
    fn enabling_clears_visible_vram_unless_noclearmem() {
        let mut v = Vga::new();
        v.vram_write(0, 4, 0xFFFF_FFFF);
        set_mode(&mut v, 640, 480, 32);
        assert_eq!(v.vram_read(0, 4), 0);
        v.dispi_write(VBE_DISPI_INDEX_ENABLE as u16, 0);
        v.vram_write(0, 4, 0x1234_5678);
        v.dispi_write(
            VBE_DISPI_INDEX_ENABLE as u16,
            VBE_DISPI_ENABLED | VBE_DISPI_NOCLEARMEM,
        );
        assert_eq!(v.vram_read(0, 4), 0x1234_5678);
    }

    #[test]
    fn vram_writes_mark_their_page_dirty_once() {
        let mut v = Vga::new();
        v.take_dirty();
        assert_eq!(v.take_dirty(), None);
        v.vram_write(5 * 4096 + 8, 4, 1);
        let d = v.take_dirty().unwrap();
        assert_eq!(d[0], 1 << 5);
        assert!(d[1..].iter().all(|&w| w == 0));
        assert_eq!(v.take_dirty(), None);
    }

    #[test]
    fn dac_writes_cycle_rgb_and_autoincrement() {
        let mut v = Vga::new();
        v.ioport_write(VGA_PEL_IW, 7);
        for c in [0x3F, 0x00, 0x20, 0x01, 0x02, 0x03] {
            v.ioport_write(VGA_PEL_D, c);
        }
        assert_eq!(v.palette_rgb(7), [0xFF, 0x00, 0x82]);
        assert_eq!(&v.palette[24..27], &[1, 2, 3]);
        v.ioport_write(VGA_PEL_IR, 7);
        assert_eq!(v.dac_state, 3);
        assert_eq!(v.ioport_read(VGA_PEL_D), 0x3F);
    }

    #[test]
    fn attribute_flip_flop_resets_on_input_status_read() {
        let mut v = Vga::new();
        v.ioport_write(VGA_MIS_W, VGA_MIS_COLOR);
        v.ioport_write(VGA_ATT_W, 0x10);
        v.ioport_read(VGA_IS1_RC);
        v.ioport_write(VGA_ATT_W, 0x12);
        assert_eq!(v.ar_index, 0x12, "second write was an index again");
        v.ioport_write(VGA_ATT_W, 0x0F);
        assert_eq!(v.ar[0x12], 0x0F);
    }

    #[test]
    fn vga_ports_reachable_through_bar2() {
        let mut v = Vga::new();
        v.mmio_write(MMIO_VGA_PORTS + (VGA_SEQ_I - VGA_ATT_W), 1, 2);
        v.mmio_write(MMIO_VGA_PORTS + (VGA_SEQ_D - VGA_ATT_W), 1, 0x0F);
        assert_eq!(v.sr[2], 0x0F);
        // A 16-bit write to 0x3C4 sets index and data at once (little-endian pair).
        v.mmio_write(MMIO_VGA_PORTS + 4, 2, 0x0403u16.swap_bytes().into());
        assert_eq!(v.sr[3], 0x04);
    }

    #[test]
    fn qemu_ext_regs_report_size_and_big_endian_default() {
        let mut v = Vga::new();
        assert_eq!(v.mmio_read(MMIO_QEXT + QEXT_REG_SIZE, 4).swap_bytes(), 8);
        assert_eq!(
            v.mmio_read(MMIO_QEXT + QEXT_REG_BYTEORDER, 4).swap_bytes(),
            QEXT_BIG_ENDIAN
        );
        v.mmio_write(
            MMIO_QEXT + QEXT_REG_BYTEORDER,
            4,
            QEXT_LITTLE_ENDIAN.swap_bytes(),
        );
        assert!(!v.mode().big_endian);
    }

    #[test]
    fn edid_is_valid_with_checksum() {
        let mut v = Vga::new();
        let block: Vec<u8> = (0..128)
            .map(|i| v.mmio_read(MMIO_EDID + i, 1) as u8)
            .collect();
        assert_eq!(&block[..8], &[0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0]);
        assert_eq!(block.iter().fold(0u8, |a, &b| a.wrapping_add(b)), 0);
        assert_eq!(&block[8..10], &[0x49, 0x14], "RHT");
    }

    #[test]
    fn random_mmio_and_io_never_panic() {
        let mut v = Vga::with_vram_size(1 << 20);
        crate::pci::random_mmio(8, 50_000, 0x1000, |w, off, size, val| match (w, val & 3) {
            (true, 0) => v.mmio_write(off, size, val),
            (false, 0) => {
                v.mmio_read(off, size);
            }
            (true, 1) => v.io_write(0x1C0 + off % 0x220, size, val),
            (false, 1) => {
                v.io_read(0x1C0 + off % 0x220, size);
            }
            (true, _) => v.dispi_write((val >> 8) as u16 % 12, (val >> 16) as u16),
            (false, _) => {
                v.dispi_read((val >> 8) as u16 % 12);
            }
        });
        let m = v.mode();
        if m.enabled {
            assert!(
                m.offset as usize + m.stride as usize * (m.height as usize - 1) <= v.vram.len()
            );
        }
    }

    #[test]
    fn state_roundtrips() {
        let mut v = Vga::with_vram_size(1 << 16);
        savevm::testing::assert_roundtrip_into(&mut v, Vga::with_vram_size(1 << 16));
        set_mode(&mut v, 64, 64, 8);
        v.vram_write(100, 1, 0x5A);
        v.ioport_write(VGA_PEL_IW, 1);
        v.ioport_write(VGA_PEL_D, 9);
        let bytes = savevm::testing::assert_roundtrip_into(&mut v, Vga::with_vram_size(1 << 16));
        let mut fresh = Vga::with_vram_size(1 << 16);
        savevm::load_bytes(&mut fresh, &bytes).unwrap();
        assert_eq!(fresh.vram[100], 0x5A);
        assert_eq!(fresh.mode(), v.mode());
        assert!(
            fresh.take_dirty().is_some(),
            "loaded VRAM needs a full redraw"
        );
    }
}
