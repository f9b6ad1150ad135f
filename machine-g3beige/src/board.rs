//! The g3beige board on one screen: the physical address map, the macio layout,
//! the IRQ wiring, and the [`Bus`] the CPU sees. Facts: QEMU 7.2 `mac_oldworld.c`
//! and `info mtree -f` of a running `-M g3beige` (see ../shared/g3beige.md).

use cpu_ppc::{Bus, GuestRam, Pin};

use crate::cuda::Cuda;
use crate::dbdma::{Dbdma, DmaMemory, DBDMA_CHANNEL_IDE0, DBDMA_CHANNEL_IDE1};
use crate::escc::{Escc, CHN_A, CHN_B};
use crate::fw_cfg::FwCfg;
use crate::grackle::{self, Grackle, DEVFN_MACIO, DEVFN_VGA};
use crate::heathrow_pic::HeathrowPic;
use crate::ide::IdeChannel;
use crate::nvram::{Nvram, NVRAM_WINDOW};
use crate::pci::{UnimpLog, PCI_COMMAND_IO, PCI_COMMAND_MEMORY};
use crate::screamer::Screamer;
use crate::vga::Vga;

// Physical address map.
pub const RAM_MAX: u32 = 2047 << 20;
pub const FW_CFG_BASE: u32 = 0xF000_0510;
pub const FW_CFG_SIZE: u32 = 3;
pub const PCI_IO_BASE: u32 = 0xFE00_0000;
pub const PCI_IO_SIZE: u32 = 0x0020_0000;
pub const GRACKLE_BASE: u32 = 0xFEC0_0000;
pub const GRACKLE_SIZE: u32 = grackle::CONFIG_DATA + grackle::REGION_SIZE;
pub const ROM_BASE: u32 = 0xFFC0_0000;
pub const ROM_SIZE: u32 = 4 << 20;

// macio BAR0 layout: (offset, size) of each chip.
pub const MACIO_PIC: (u32, u32) = (0x00000, 0x1000);
pub const MACIO_DBDMA: (u32, u32) = (0x08000, 0x1000);
pub const MACIO_ESCC: (u32, u32) = (0x12000, crate::escc::WINDOW_SIZE);
pub const MACIO_SCREAMER: (u32, u32) = (0x14000, 0x1000);
pub const MACIO_CUDA: (u32, u32) = (0x16000, 0x2000);
pub const MACIO_IDE0: (u32, u32) = (0x20000, 0x1000);
pub const MACIO_IDE1: (u32, u32) = (0x21000, 0x1000);
pub const MACIO_NVRAM: (u32, u32) = (0x60000, NVRAM_WINDOW);

/// Interrupt sources on the board.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Cuda,
    EsccA,
    EsccB,
    Ide0,
    Ide1,
}

/// The IRQ wiring: each level source and its Heathrow PIC line (mac_oldworld.c).
pub const IRQ_TABLE: [(Source, u32); 5] = [
    (Source::Cuda, 0x12),
    (Source::EsccB, 0x10),
    (Source::EsccA, 0x0F),
    (Source::Ide0, 0x0D),
    (Source::Ide1, 0x0E),
];

/// DBDMA interrupts are events: (channel, PIC line) pulsed when the channel fires.
pub const DMA_IRQ_TABLE: [(usize, u32); 2] =
    [(DBDMA_CHANNEL_IDE0, 0x02), (DBDMA_CHANNEL_IDE1, 0x03)];

/// Every chip of the board, plus RAM and ROM. Register state lives in the chips;
/// the fields below the chips are plumbing.
#[derive(Debug)]
pub struct Board {
    /// RAM, with the ROM (`rom`, at `ROM_BASE`) behind it.
    pub ram: GuestRam,
    pub pic: HeathrowPic,
    pub grackle: Grackle,
    pub fw_cfg: FwCfg,
    pub nvram: Nvram,
    pub escc: Escc,
    pub dbdma: Dbdma,
    pub ide: [IdeChannel; 2],
    pub screamer: Screamer,
    pub cuda: Cuda,
    pub vga: Vga,
    /// The PIC was re-evaluated; its output goes to the CPU at the next `take_pins`.
    /// Like QEMU's `qemu_set_irq`, the level is re-sent on every update, and the CPU
    /// acts on a difference from its own `irq_input_state`.
    pins_updated: bool,
    /// A device changed its timers or a power request is waiting: end the slice.
    stop: bool,
    unimp: UnimpLog,
}

impl Board {
    pub fn new(ram_size: u32, rom: &[u8], fw_cfg: FwCfg, nvram: Nvram, rtc_base: i64) -> Board {
        Board {
            ram: GuestRam::with_rom(ram_size as usize, ROM_BASE, rom),
            pic: HeathrowPic::new(),
            grackle: Grackle::new(false),
            fw_cfg,
            nvram,
            escc: Escc::new(),
            dbdma: Dbdma::new(),
            ide: [IdeChannel::new(), IdeChannel::new()],
            screamer: Screamer::new(),
            cuda: Cuda::new(rtc_base),
            vga: Vga::new(),
            pins_updated: false,
            stop: false,
            unimp: UnimpLog::default(),
        }
    }

    /// The CPU's input pins as the board drives them now.
    pub fn pins(&self) -> u32 {
        u32::from(self.pic.output()) << Pin::Int as u32
    }

    fn source_level(&self, s: Source) -> bool {
        match s {
            Source::Cuda => self.cuda.irq(),
            Source::EsccA => self.escc.irq(CHN_A),
            Source::EsccB => self.escc.irq(CHN_B),
            Source::Ide0 => self.ide[0].irq(),
            Source::Ide1 => self.ide[1].irq(),
        }
    }

    /// Re-evaluates the lines of the sources a chip access or timer touched, as QEMU's
    /// devices call `qemu_set_irq` when they update. Every PIC update re-sends its
    /// output to the CPU, which acts only on a difference from its `irq_input_state`.
    pub fn touch(&mut self, sources: &[Source]) {
        for &src in sources {
            let level = self.source_level(src);
            for (_, line) in IRQ_TABLE.iter().filter(|(s, _)| *s == src) {
                self.pic.set_line(*line, level);
            }
        }
        let pulses = self.dbdma.take_irq_pulses();
        for (ch, line) in DMA_IRQ_TABLE {
            if pulses & (1 << ch) != 0 {
                self.pic.set_line(line, true);
                self.pic.set_line(line, false);
            }
        }
        self.pins_updated = true;
    }

    /// Routes the ESCC's lines if the chip updated them.
    pub fn touch_escc(&mut self) {
        if self.escc.take_irq_update() {
            self.touch(&[Source::EsccA, Source::EsccB]);
        }
    }

    /// Takes a pending PIC update for the CPU (between slices; inside a slice the CPU
    /// asks through [`Bus::take_pins`]).
    pub fn take_pin_update(&mut self) -> Option<u32> {
        std::mem::take(&mut self.pins_updated).then(|| self.pins())
    }

    /// The earliest device timer.
    pub fn next_deadline(&self) -> Option<u64> {
        self.cuda.next_deadline()
    }

    /// Runs expired device timers and routes what they raised.
    pub fn run_timers(&mut self, now_ns: u64) {
        if self.cuda.next_deadline().is_some_and(|d| d <= now_ns) {
            self.cuda.run_timers(now_ns);
            self.touch(&[Source::Cuda]);
        }
    }

    fn run_dma(&mut self) {
        if !self.dbdma.busy() {
            return;
        }
        let mut mem = RamDma(&mut self.ram);
        self.dbdma.run(&mut mem);
    }

    fn macio_base(&self) -> Option<u32> {
        let f = &self.grackle.macio;
        (f.command() & PCI_COMMAND_MEMORY != 0)
            .then(|| f.bar_address(0))
            .flatten()
    }

    /// A PCI memory BAR that decodes `pa`: (devfn, bar, offset).
    fn pci_mem(&self, pa: u32) -> Option<(u8, usize, u32)> {
        if let Some(base) = self.macio_base() {
            if pa.wrapping_sub(base) < grackle::MACIO_BAR_SIZE {
                return Some((DEVFN_MACIO, 0, pa - base));
            }
        }
        let vga = &self.grackle.vga;
        if vga.command() & PCI_COMMAND_MEMORY == 0 {
            return None;
        }
        for (bar, size) in [(0, grackle::VGA_VRAM_SIZE), (2, grackle::VGA_MMIO_SIZE)] {
            if let Some(base) = vga.bar_address(bar) {
                if pa.wrapping_sub(base) < size {
                    return Some((DEVFN_VGA, bar, pa - base));
                }
            }
        }
        None
    }

    fn vga_io_enabled(&self) -> bool {
        self.grackle.vga.command() & PCI_COMMAND_IO != 0
    }

    fn macio_read(&mut self, off: u32, size: u32, now: u64) -> u32 {
        let within = |(base, len): (u32, u32)| off.wrapping_sub(base) < len;
        if within(MACIO_PIC) {
            self.pic.read(off - MACIO_PIC.0, size)
        } else if within(MACIO_DBDMA) {
            self.dbdma.read(off - MACIO_DBDMA.0, size)
        } else if within(MACIO_ESCC) {
            let v = self.escc.read(off - MACIO_ESCC.0, size);
            self.touch_escc();
            v
        } else if within(MACIO_SCREAMER) {
            self.screamer.read(off - MACIO_SCREAMER.0, size)
        } else if within(MACIO_CUDA) {
            self.cuda_access(|c| c.read(off - MACIO_CUDA.0, size, now))
        } else if within(MACIO_IDE0) {
            let v = self.ide[0].read(off - MACIO_IDE0.0, size);
            self.touch(&[Source::Ide0]);
            v
        } else if within(MACIO_IDE1) {
            let v = self.ide[1].read(off - MACIO_IDE1.0, size);
            self.touch(&[Source::Ide1]);
            v
        } else if within(MACIO_NVRAM) {
            self.nvram.read(off - MACIO_NVRAM.0, size)
        } else {
            // Unassigned macio space (the FCRs included) reads 0.
            self.unimp.report("macio", false, off, size, 0);
            0
        }
    }

    /// A guest access to the CUDA. The slice ends only when the access moved a
    /// timer deadline (reading T1CL/T2CL re-arms one, a command schedules its
    /// reply) or left a power request: then the machine must re-plan, or output
    /// would depend on slicing. Other accesses leave the plan alone, so a guest
    /// polling the VIA (Linux calibrating the decrementer: a million reads of
    /// IFR) runs on.
    fn cuda_access<T>(&mut self, access: impl FnOnce(&mut Cuda) -> T) -> T {
        let deadline = self.cuda.next_deadline();
        let v = access(&mut self.cuda);
        self.touch(&[Source::Cuda]);
        if self.cuda.next_deadline() != deadline || self.cuda.power_requested() {
            self.stop = true;
        }
        v
    }

    fn macio_write(&mut self, off: u32, size: u32, v: u32, now: u64) {
        let within = |(base, len): (u32, u32)| off.wrapping_sub(base) < len;
        if within(MACIO_PIC) {
            self.pic.write(off - MACIO_PIC.0, size, v);
            self.touch(&[]);
        } else if within(MACIO_DBDMA) {
            self.dbdma.write(off - MACIO_DBDMA.0, size, v);
            self.run_dma();
            self.touch(&[]);
        } else if within(MACIO_ESCC) {
            self.escc.write(off - MACIO_ESCC.0, size, v);
            self.touch_escc();
        } else if within(MACIO_SCREAMER) {
            self.screamer.write(off - MACIO_SCREAMER.0, size, v);
        } else if within(MACIO_CUDA) {
            self.cuda_access(|c| c.write(off - MACIO_CUDA.0, size, v, now));
        } else if within(MACIO_IDE0) {
            self.ide[0].write(off - MACIO_IDE0.0, size, v);
            self.touch(&[Source::Ide0]);
        } else if within(MACIO_IDE1) {
            self.ide[1].write(off - MACIO_IDE1.0, size, v);
            self.touch(&[Source::Ide1]);
        } else if within(MACIO_NVRAM) {
            self.nvram.write(off - MACIO_NVRAM.0, size, v);
        } else {
            self.unimp.report("macio", true, off, size, v);
        }
    }

    fn rom_read(&self, off: u32, size: u32) -> u32 {
        let off = off as usize;
        self.ram
            .rom()
            .get(off..off + size as usize)
            .map_or(0xFFFF_FFFF >> (32 - 8 * size), |b| {
                b.iter().fold(0, |acc, &x| acc << 8 | u32::from(x))
            })
    }
}

/// RAM as the DMA engine sees it; writes go through `GuestRam` so they invalidate
/// translated code.
struct RamDma<'a>(&'a mut GuestRam);

impl DmaMemory for RamDma<'_> {
    fn read(&mut self, addr: u32, buf: &mut [u8]) {
        if !self.0.read(addr, buf) {
            buf.fill(0xFF);
        }
    }

    fn write(&mut self, addr: u32, data: &[u8]) {
        self.0.write(addr, data);
    }
}

fn to_bytes(v: u32, size: u32) -> Vec<u8> {
    v.to_be_bytes()[(4 - size as usize)..].to_vec()
}

// SAFETY: `ram` returns the board's own `ram` field, which nothing the bus does
// replaces (loadvm writes into it; a reset keeps it).
#[allow(unsafe_code)]
unsafe impl Bus for Board {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }

    fn read(&mut self, pa: u32, size: u32, now_ns: u64) -> u32 {
        let mut buf = [0u8; 4];
        if self.ram.read(pa, &mut buf[..size as usize]) {
            return buf[..size as usize]
                .iter()
                .fold(0, |a, &b| a << 8 | u32::from(b));
        }
        if pa >= ROM_BASE {
            return self.rom_read(pa - ROM_BASE, size);
        }
        if pa.wrapping_sub(FW_CFG_BASE) < FW_CFG_SIZE {
            return self.fw_cfg.read(pa - FW_CFG_BASE, size);
        }
        if pa.wrapping_sub(GRACKLE_BASE) < GRACKLE_SIZE {
            return self.grackle.read(pa - GRACKLE_BASE, size);
        }
        if pa.wrapping_sub(PCI_IO_BASE) < PCI_IO_SIZE {
            let port = pa - PCI_IO_BASE;
            if self.vga_io_enabled() {
                return self.vga.io_read(port, size);
            }
            return 0xFFFF_FFFF >> (32 - 8 * size);
        }
        match self.pci_mem(pa) {
            Some((DEVFN_MACIO, _, off)) => self.macio_read(off, size, now_ns),
            Some((_, 0, off)) => self.vga.vram_read(off, size),
            Some((_, _, off)) => self.vga.mmio_read(off, size),
            None => {
                // Nothing decodes it: a master abort reads all ones, as on PCI.
                self.unimp.report("unassigned", false, pa, size, 0);
                0xFFFF_FFFF >> (32 - 8 * size)
            }
        }
    }

    fn write(&mut self, pa: u32, size: u32, value: u32, now_ns: u64) {
        if self.ram.write(pa, &to_bytes(value, size)) {
            return;
        }
        if pa >= ROM_BASE {
            // OpenBIOS clears its .bss while still in ROM: ignore silently.
            return;
        }
        if pa.wrapping_sub(FW_CFG_BASE) < FW_CFG_SIZE {
            return self.fw_cfg.write(pa - FW_CFG_BASE, size, value);
        }
        if pa.wrapping_sub(GRACKLE_BASE) < GRACKLE_SIZE {
            return self.grackle.write(pa - GRACKLE_BASE, size, value);
        }
        if pa.wrapping_sub(PCI_IO_BASE) < PCI_IO_SIZE {
            if self.vga_io_enabled() {
                self.vga.io_write(pa - PCI_IO_BASE, size, value);
            }
            return;
        }
        match self.pci_mem(pa) {
            Some((DEVFN_MACIO, _, off)) => self.macio_write(off, size, value, now_ns),
            Some((_, 0, off)) => self.vga.vram_write(off, size, value),
            Some((_, _, off)) => self.vga.mmio_write(off, size, value),
            None => self.unimp.report("unassigned", true, pa, size, value),
        }
    }

    fn take_pins(&mut self) -> Option<u32> {
        self.take_pin_update()
    }

    fn stop_requested(&mut self) -> bool {
        std::mem::take(&mut self.stop)
    }
}
