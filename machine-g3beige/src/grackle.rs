//! The Grackle (Motorola MPC106) PCI host bridge and the functions on its bus 0
//! (QEMU hw/pci-host/grackle.c; MPC106 User's Manual ch. 7 "PCI configuration").
//!
//! Software selects a function by writing CONFIG_ADDR (little-endian,
//! `0x80000000 | bus << 16 | devfn << 8 | reg`) and then reads or writes CONFIG_DATA,
//! with 1-, 2- or 4-byte accesses at `reg + (offset & 3)`. Functions that do not
//! exist read all ones. The chip's window is laid out relative to 0xFEC00000:
//! CONFIG_ADDR at +0 and CONFIG_DATA at +0x200000 (0xFEE00000).
//!
//! The bridge also routes PCI INTx: slot `s`, pin `p` (1 = INTA) raises Heathrow PIC
//! line `0x15 + ((p - 1 + s) & 3)`, see [`pci_irq_line`].

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

use crate::pci::{le_reg_read, le_reg_write, BarKind, PciConfig, UnimpLog};

/// CONFIG_ADDR offset within the Grackle window (0xFEC00000).
pub const CONFIG_ADDR: u32 = 0x00_0000;
/// CONFIG_DATA offset within the Grackle window (0xFEE00000).
pub const CONFIG_DATA: u32 = 0x20_0000;
/// Each register decodes a 4 KB page.
pub const REGION_SIZE: u32 = 0x1000;
/// CONFIG_ADDR enable bit.
pub const CONFIG_ENABLE: u32 = 0x8000_0000;

/// devfn of the host bridge itself (00:00.0).
pub const DEVFN_HOST: u8 = 0x00;
/// devfn of the std VGA (00:01.0).
pub const DEVFN_VGA: u8 = 0x08;
/// devfn of the ne2k_pci NIC when present (00:02.0).
pub const DEVFN_NIC: u8 = 0x10;
/// devfn of mac-io Heathrow (00:10.0).
pub const DEVFN_MACIO: u8 = 0x80;

/// PIC line of PCI INTA for slot 0; INTB..INTD follow.
pub const PIC_LINE_PCI_INTA: u32 = 0x15;

/// Size of the VGA's VRAM BAR (BAR0).
pub const VGA_VRAM_SIZE: u32 = 16 << 20;
/// Size of the VGA's MMIO BAR (BAR2).
pub const VGA_MMIO_SIZE: u32 = 0x1000;
/// Size of the VGA's expansion ROM BAR.
pub const VGA_ROM_SIZE: u32 = 0x1_0000;
/// Size of mac-io's BAR0.
pub const MACIO_BAR_SIZE: u32 = 0x8_0000;
/// Size of the NIC's I/O BAR.
pub const NIC_IO_SIZE: u32 = 0x100;

/// QEMU's subsystem IDs for every device (Red Hat / QEMU).
const SUBSYS_VENDOR: u16 = 0x1AF4;
const SUBSYS_ID: u16 = 0x1100;

/// The Heathrow PIC line for a PCI interrupt: `slot` (devfn >> 3) and `pin`
/// (1 = INTA .. 4 = INTD). Returns `None` for pin 0 (no interrupt).
pub fn pci_irq_line(slot: u8, pin: u8) -> Option<u32> {
    if pin == 0 || pin > 4 {
        return None;
    }
    Some(PIC_LINE_PCI_INTA + ((u32::from(pin) - 1 + u32::from(slot)) & 3))
}

/// Config space of the host bridge: Motorola 1057:0002, class 0600, programming
/// interface 01 (as QEMU 7.2 reports it).
pub fn host_bridge_config() -> PciConfig {
    PciConfig::new(0x1057, 0x0002, 0x06_00_01, 0x00)
        .with_subsystem(SUBSYS_VENDOR, SUBSYS_ID)
        .with_writable_tail(0x40)
}

/// Config space of QEMU's std VGA: 1234:1111 rev 2, class 0300, VRAM (prefetchable)
/// at BAR0, MMIO at BAR2 and a 64 KB expansion ROM BAR (QEMU's vga.rom; OpenBIOS
/// sizes and assigns it, so the sizing must answer even though beige maps no ROM
/// image behind it).
pub fn vga_config() -> PciConfig {
    PciConfig::new(0x1234, 0x1111, 0x03_00_00, 0x02)
        .with_subsystem(SUBSYS_VENDOR, SUBSYS_ID)
        .with_bar(0, VGA_VRAM_SIZE, BarKind::MemoryPrefetch)
        .with_bar(2, VGA_MMIO_SIZE, BarKind::Memory)
        .with_rom(VGA_ROM_SIZE)
        .with_writable_tail(0x40)
}

/// Config space of mac-io Heathrow: Apple 106b:0010, class ff00, one 512 KB BAR.
pub fn macio_config() -> PciConfig {
    PciConfig::new(0x106B, 0x0010, 0xFF_00_00, 0x00)
        .with_subsystem(SUBSYS_VENDOR, SUBSYS_ID)
        .with_bar(0, MACIO_BAR_SIZE, BarKind::Memory)
        .with_writable_tail(0x40)
}

/// Config space of ne2k_pci: Realtek 10ec:8029, class 0200, a 256-byte I/O BAR, INTA.
pub fn nic_config() -> PciConfig {
    PciConfig::new(0x10EC, 0x8029, 0x02_00_00, 0x00)
        .with_subsystem(SUBSYS_VENDOR, SUBSYS_ID)
        .with_bar(0, NIC_IO_SIZE, BarKind::Io)
        .with_interrupt_pin(1)
        .with_writable_tail(0x40)
}

/// Grackle and the config spaces of bus 0.
#[derive(Debug, Clone)]
pub struct Grackle {
    /// CONFIG_ADDR as the little-endian value software wrote.
    pub config_addr: u32,
    /// 00:00.0, the bridge itself (PICR1 etc. live past the header).
    pub host: PciConfig,
    /// 00:01.0, std VGA.
    pub vga: PciConfig,
    /// 00:02.0, the NIC; on the bus only when `nic_present`.
    pub nic: PciConfig,
    /// Whether the machine has the NIC (configuration, not saved state).
    pub nic_present: bool,
    /// 00:10.0, mac-io.
    pub macio: PciConfig,
    unimp: UnimpLog,
}

impl Grackle {
    /// The bus as after reset, with or without the NIC.
    pub fn new(with_nic: bool) -> Self {
        Grackle {
            config_addr: 0,
            host: host_bridge_config(),
            vga: vga_config(),
            nic: nic_config(),
            nic_present: with_nic,
            macio: macio_config(),
            unimp: UnimpLog::default(),
        }
    }

    /// The function at `bus`/`devfn`, if present.
    pub fn function_mut(&mut self, bus: u8, devfn: u8) -> Option<&mut PciConfig> {
        if bus != 0 {
            return None;
        }
        match devfn {
            DEVFN_HOST => Some(&mut self.host),
            DEVFN_VGA => Some(&mut self.vga),
            DEVFN_NIC if self.nic_present => Some(&mut self.nic),
            DEVFN_MACIO => Some(&mut self.macio),
            _ => None,
        }
    }

    /// Decodes CONFIG_ADDR plus the data-port byte offset into (bus, devfn, reg).
    fn target(&self, data_offset: u32) -> Option<(u8, u8, u32)> {
        if self.config_addr & CONFIG_ENABLE == 0 {
            return None;
        }
        let a = self.config_addr;
        Some((
            (a >> 16) as u8,
            (a >> 8) as u8,
            (a & 0xFF) | (data_offset & 3),
        ))
    }

    /// A config read as CONFIG_DATA delivers it (bus byte order).
    pub fn config_read(&mut self, data_offset: u32, size: u32) -> u32 {
        let all_ones = if size >= 4 {
            u32::MAX
        } else {
            (1 << (8 * size)) - 1
        };
        match self.target(data_offset) {
            Some((bus, devfn, reg)) => match self.function_mut(bus, devfn) {
                Some(f) => f.read(reg, size),
                None => all_ones,
            },
            None => all_ones,
        }
    }

    /// A config write through CONFIG_DATA (bus byte order).
    pub fn config_write(&mut self, data_offset: u32, size: u32, value: u32) {
        if let Some((bus, devfn, reg)) = self.target(data_offset) {
            if let Some(f) = self.function_mut(bus, devfn) {
                f.write(reg, size, value);
            }
        }
    }

    /// MMIO read within the Grackle window.
    pub fn read(&mut self, offset: u32, size: u32) -> u32 {
        match offset & !(REGION_SIZE - 1) {
            CONFIG_ADDR => le_reg_read(self.config_addr, offset & 3, size),
            CONFIG_DATA => self.config_read(offset, size),
            _ => {
                self.unimp.report("grackle", false, offset, size, 0);
                0
            }
        }
    }

    /// MMIO write within the Grackle window.
    pub fn write(&mut self, offset: u32, size: u32, value: u32) {
        match offset & !(REGION_SIZE - 1) {
            // QEMU's pci_host_config_write takes only aligned 32-bit writes.
            CONFIG_ADDR if size == 4 && offset & 3 == 0 => {
                self.config_addr = le_reg_write(0, 0, 4, value);
            }
            CONFIG_DATA => self.config_write(offset, size, value),
            _ => self.unimp.report("grackle", true, offset, size, value),
        }
    }
}

impl Default for Grackle {
    fn default() -> Self {
        Self::new(false)
    }
}

impl VmState for Grackle {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Grackle>> = LazyLock::new(|| {
            Vmsd::builder("grackle")
                .version(1)
                .minimum_version(1)
                .field(
                    "config_reg",
                    |s: &Grackle| &s.config_addr,
                    |s| &mut s.config_addr,
                )
                .struct_field("host", |s| &s.host, |s| &mut s.host)
                .struct_field("vga", |s| &s.vga, |s| &mut s.vga)
                .struct_field("macio", |s| &s.macio, |s| &mut s.macio)
                .subsection(
                    Vmsd::builder("grackle/nic")
                        .struct_field("nic", |s: &Grackle| &s.nic, |s| &mut s.nic)
                        .build(),
                    |s| s.nic_present,
                )
                .build()
        });
        &V
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pci::PCI_COMMAND_MEMORY;

    /// What `stwbrx` of a config address puts on the bus.
    fn select(g: &mut Grackle, devfn: u8, reg: u32) {
        let addr = CONFIG_ENABLE | u32::from(devfn) << 8 | reg;
        g.write(CONFIG_ADDR, 4, addr.swap_bytes());
    }

    fn read32(g: &mut Grackle, devfn: u8, reg: u32) -> u32 {
        select(g, devfn, reg);
        g.read(CONFIG_DATA, 4).swap_bytes()
    }

    fn write32(g: &mut Grackle, devfn: u8, reg: u32, v: u32) {
        select(g, devfn, reg);
        g.write(CONFIG_DATA, 4, v.swap_bytes());
    }

    #[test]
    fn state_roundtrips_with_and_without_nic() {
        let mut g = Grackle::new(false);
        savevm::testing::assert_mutated_roundtrip(&mut g, |g| {
            write32(g, DEVFN_VGA, 0x10, 0x8000_0000);
        });
        let mut with_nic = Grackle::new(true);
        write32(&mut with_nic, DEVFN_NIC, 0x3C, 0x17);
        let bytes = savevm::save_bytes(&mut with_nic);
        let mut fresh = Grackle::new(true);
        savevm::load_bytes(&mut fresh, &bytes).unwrap();
        assert_eq!(fresh.nic.bytes[0x3C], 0x17);
    }

    #[test]
    fn random_config_traffic_never_panics() {
        let mut g = Grackle::new(true);
        crate::pci::random_mmio(2, 20_000, 0x1000, |w, off, size, v| {
            let base = if v & 1 != 0 { CONFIG_DATA } else { CONFIG_ADDR };
            if w {
                g.write(base + off, size, v | 0x80);
            } else {
                g.read(base + off, size);
            }
        });
        assert_eq!(g.host.vendor_id(), 0x1057, "IDs survive any write");
    }

    /// Every config cycle OpenBIOS made while booting QEMU 7.2 `-M g3beige -net none`
    /// to `0 >`, from `-trace 'pci_cfg*'`: `R slot.fn offset value` is a read that
    /// returned `value`, `W` a write. Values are as the function sees them.
    const QEMU_OPENBIOS_PCI_TRACE: &str = "
R 00.0 0x0 0x1057; R 00.0 0x2 0x2; R 00.0 0xa 0x600; R 00.0 0x0 0x1057
R 00.0 0x2 0x2; R 00.0 0xa 0x600; R 00.0 0x9 0x1; R 00.0 0xe 0x0
R 00.0 0x3d 0x0; R 00.0 0x10 0x0; W 00.0 0x10 0xffffffff; R 00.0 0x10 0x0
R 00.0 0x14 0x0; W 00.0 0x14 0xffffffff; R 00.0 0x14 0x0; R 00.0 0x18 0x0
W 00.0 0x18 0xffffffff; R 00.0 0x18 0x0; R 00.0 0x1c 0x0; W 00.0 0x1c 0xffffffff
R 00.0 0x1c 0x0; R 00.0 0x20 0x0; W 00.0 0x20 0xffffffff; R 00.0 0x20 0x0
R 00.0 0x24 0x0; W 00.0 0x24 0xffffffff; R 00.0 0x24 0x0; R 00.0 0x30 0x0
W 00.0 0x30 0xffffffff; R 00.0 0x30 0x0; R 00.0 0x4 0x0; W 00.0 0x4 0x3
R 00.0 0x0 0x1057; R 00.0 0x2 0x2; R 00.0 0x8 0x0; R 00.0 0x9 0x1
R 00.0 0xa 0x600; R 00.0 0x3e 0x0; R 00.0 0x3f 0x0; R 00.0 0x6 0x0
R 00.0 0x2c 0x1af4; R 00.0 0x2e 0x1100; R 00.0 0xc 0x0; W 00.0 0x18 0x0
W 00.0 0x19 0x0; W 00.0 0x1a 0xff; W 00.0 0x20 0x8000; W 00.0 0x30 0x0
W 00.0 0x1c 0x10; W 00.0 0x32 0x1; W 00.0 0x1d 0x0; R 00.0 0x0 0x1057
R 00.0 0x2 0x2; R 00.0 0xa 0x600; R 00.0 0x9 0x1; R 00.0 0xe 0x0
R 01.0 0x0 0x1234; R 01.0 0x2 0x1111; R 01.0 0xa 0x300; R 01.0 0x9 0x0
R 01.0 0xe 0x0; R 01.0 0x3d 0x0; R 01.0 0x10 0x8; W 01.0 0x10 0xffffffff
R 01.0 0x10 0xff000008; W 01.0 0x10 0x80000008; R 01.0 0x14 0x0; W 01.0 0x14 0xffffffff
R 01.0 0x14 0x0; R 01.0 0x18 0x0; W 01.0 0x18 0xffffffff; R 01.0 0x18 0xfffff000
W 01.0 0x18 0x81000000; R 01.0 0x1c 0x0; W 01.0 0x1c 0xffffffff; R 01.0 0x1c 0x0
R 01.0 0x20 0x0; W 01.0 0x20 0xffffffff; R 01.0 0x20 0x0; R 01.0 0x24 0x0
W 01.0 0x24 0xffffffff; R 01.0 0x24 0x0; R 01.0 0x30 0x0; W 01.0 0x30 0xffffffff
R 01.0 0x30 0xffff0001; W 01.0 0x30 0x81010001; R 01.0 0x4 0x0; W 01.0 0x4 0x3
R 01.0 0x0 0x1234; R 01.0 0x2 0x1111; R 01.0 0x8 0x2; R 01.0 0x9 0x0
R 01.0 0xa 0x300; R 01.0 0x3e 0x0; R 01.0 0x3f 0x0; R 01.0 0x6 0x0
R 01.0 0x2c 0x1af4; R 01.0 0x2e 0x1100; R 01.0 0xc 0x0; R 10.0 0x0 0x106b
R 10.0 0x2 0x10; R 10.0 0xa 0xff00; R 10.0 0x9 0x0; R 10.0 0xe 0x0
R 10.0 0x3d 0x0; R 10.0 0x10 0x0; W 10.0 0x10 0xffffffff; R 10.0 0x10 0xfff80000
W 10.0 0x10 0x81080000; R 10.0 0x14 0x0; W 10.0 0x14 0xffffffff; R 10.0 0x14 0x0
R 10.0 0x18 0x0; W 10.0 0x18 0xffffffff; R 10.0 0x18 0x0; R 10.0 0x1c 0x0
W 10.0 0x1c 0xffffffff; R 10.0 0x1c 0x0; R 10.0 0x20 0x0; W 10.0 0x20 0xffffffff
R 10.0 0x20 0x0; R 10.0 0x24 0x0; W 10.0 0x24 0xffffffff; R 10.0 0x24 0x0
R 10.0 0x30 0x0; W 10.0 0x30 0xffffffff; R 10.0 0x30 0x0; R 10.0 0x4 0x0
W 10.0 0x4 0x3; R 10.0 0x0 0x106b; R 10.0 0x2 0x10; R 10.0 0x8 0x0
R 10.0 0x9 0x0; R 10.0 0xa 0xff00; R 10.0 0x3e 0x0; R 10.0 0x3f 0x0
R 10.0 0x6 0x0; R 10.0 0x2c 0x1af4; R 10.0 0x2e 0x1100; R 10.0 0xc 0x0
W 00.0 0x1a 0x0; W 00.0 0x22 0x8100; W 00.0 0x32 0x0; W 00.0 0x1d 0x0
R 00.0 0x4 0x3; W 00.0 0x4 0x2";

    /// Access width of a traced cycle (the trace has none): OpenBIOS's pci.c uses
    /// byte, half-word and word accessors for these registers.
    fn traced_width(write: bool, offset: u32, value: u32) -> u32 {
        match offset {
            0x08 | 0x09 | 0x0C | 0x0E | 0x3D | 0x3E | 0x3F => 1,
            0x18 | 0x19 | 0x1A | 0x1C | 0x1D if write && value <= 0xFF => 1,
            0x00 | 0x02 | 0x04 | 0x06 | 0x0A | 0x2C | 0x2E => 2,
            _ if write && value <= 0xFFFF => 2,
            _ => 4,
        }
    }

    #[test]
    fn replays_openbios_config_cycles_recorded_on_qemu() {
        let mut g = Grackle::new(false);
        let mut reads = 0;
        for op in QEMU_OPENBIOS_PCI_TRACE
            .split([';', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let f: Vec<&str> = op.split(' ').collect();
            let (slot, func) = f[1].split_once('.').unwrap();
            let devfn = (u8::from_str_radix(slot, 16).unwrap() << 3) | func.parse::<u8>().unwrap();
            let offset = u32::from_str_radix(&f[2][2..], 16).unwrap();
            let value = u32::from_str_radix(&f[3][2..], 16).unwrap();
            let write = f[0] == "W";
            let size = traced_width(write, offset, value);
            select(&mut g, devfn, offset & !3);
            let port = CONFIG_DATA + (offset & 3);
            let to_bus = |v: u32| match size {
                1 => v,
                2 => u32::from((v as u16).swap_bytes()),
                _ => v.swap_bytes(),
            };
            if write {
                g.write(port, size, to_bus(value));
            } else {
                let got = to_bus(g.read(port, size));
                assert_eq!(got, value, "read {devfn:#x}:{offset:#x} (size {size})");
                reads += 1;
            }
        }
        assert_eq!(reads, 105);
        assert_eq!(g.vga.bar_address(0), Some(0x8000_0000));
        assert_eq!(g.vga.bar_address(2), Some(0x8100_0000));
        assert_eq!(g.vga.rom_address(), Some(0x8101_0000));
        assert_eq!(g.macio.bar_address(0), Some(0x8108_0000));
    }

    #[test]
    fn bus_scan_finds_bridge_vga_and_macio() {
        let mut g = Grackle::new(false);
        let found: Vec<(u8, u32)> = (0..=255u8)
            .filter_map(|devfn| {
                let id = read32(&mut g, devfn, 0);
                (id != u32::MAX).then_some((devfn, id))
            })
            .collect();
        assert_eq!(
            found,
            vec![
                (DEVFN_HOST, 0x0002_1057),
                (DEVFN_VGA, 0x1111_1234),
                (DEVFN_MACIO, 0x0010_106B)
            ]
        );
    }

    #[test]
    fn class_codes_match_qemu() {
        let mut g = Grackle::new(true);
        assert_eq!(read32(&mut g, DEVFN_HOST, 8) >> 16, 0x0600);
        assert_eq!(read32(&mut g, DEVFN_VGA, 8) >> 16, 0x0300);
        assert_eq!(read32(&mut g, DEVFN_NIC, 8) >> 16, 0x0200);
        assert_eq!(read32(&mut g, DEVFN_MACIO, 8) >> 16, 0xFF00);
        assert_eq!(read32(&mut g, DEVFN_VGA, 0x2C), 0x1100_1AF4);
    }

    #[test]
    fn sub_word_data_accesses_use_byte_offset() {
        let mut g = Grackle::new(false);
        select(&mut g, DEVFN_MACIO, 0);
        assert_eq!((g.read(CONFIG_DATA + 2, 2) as u16).swap_bytes(), 0x0010);
        assert_eq!(g.read(CONFIG_DATA + 1, 1), 0x10);
        assert_eq!((g.read(CONFIG_DATA, 2) as u16).swap_bytes(), 0x106B);
    }

    #[test]
    fn absent_function_and_disabled_address_read_all_ones() {
        let mut g = Grackle::new(false);
        assert_eq!(read32(&mut g, DEVFN_NIC, 0), u32::MAX);
        g.write(CONFIG_ADDR, 4, 0);
        assert_eq!(g.read(CONFIG_DATA, 4), u32::MAX);
        assert_eq!(g.read(CONFIG_DATA, 1), 0xFF);
        let other_bus = (CONFIG_ENABLE | 1 << 16).swap_bytes();
        g.write(CONFIG_ADDR, 4, other_bus);
        assert_eq!(g.read(CONFIG_DATA, 4), u32::MAX);
    }

    #[test]
    fn bar_sizing_then_assignment_exposes_macio_window() {
        let mut g = Grackle::new(false);
        write32(&mut g, DEVFN_MACIO, 0x10, u32::MAX);
        assert_eq!(read32(&mut g, DEVFN_MACIO, 0x10), 0xFFF8_0000);
        write32(&mut g, DEVFN_MACIO, 0x10, 0x8108_0000);
        write32(&mut g, DEVFN_MACIO, 0x04, u32::from(PCI_COMMAND_MEMORY));
        assert_eq!(g.macio.bar_address(0), Some(0x8108_0000));
    }

    #[test]
    fn picr1_write_is_accepted() {
        let mut g = Grackle::new(false);
        write32(&mut g, DEVFN_HOST, 0xA8, 0xFF14_1B98);
        assert_eq!(read32(&mut g, DEVFN_HOST, 0xA8), 0xFF14_1B98);
    }

    #[test]
    fn config_addr_reads_back_and_ignores_byte_writes() {
        let mut g = Grackle::new(false);
        select(&mut g, DEVFN_VGA, 0x10);
        g.write(CONFIG_ADDR, 1, 0);
        assert_eq!(g.read(CONFIG_ADDR, 4).swap_bytes(), 0x8000_0810);
    }

    #[test]
    fn intx_routing_rotates_by_slot() {
        assert_eq!(pci_irq_line(0, 1), Some(0x15));
        assert_eq!(pci_irq_line(2, 1), Some(0x17));
        assert_eq!(pci_irq_line(1, 4), Some(0x15));
        assert_eq!(pci_irq_line(16, 2), Some(0x16));
        assert_eq!(pci_irq_line(1, 0), None);
    }
}
