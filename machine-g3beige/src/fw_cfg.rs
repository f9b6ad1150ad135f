//! QEMU's firmware configuration device, as `g3beige` maps it at 0xF0000510 (QEMU
//! hw/nvram/fw_cfg.c and hw/ppc/mac_oldworld.c; docs/specs/fw_cfg.rst; OpenBIOS
//! arch/ppc/qemu/qemu.c reads it).
//!
//! Two ports, no DMA: the 16-bit big-endian selector at +0 (OpenBIOS writes it with
//! `sth`) and the 8-bit data port at +2. Selecting a key rewinds to its first byte;
//! each data read returns the next byte, and 0 past the end or for an absent key.
//! Integers in items are little-endian; the file directory is big-endian.
//!
//! The items are rebuilt from the machine configuration, so only the selection is
//! saved (as QEMU does).

use std::collections::BTreeMap;
use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

use crate::pci::UnimpLog;

/// Selector port offset (16-bit, big-endian).
pub const PORT_SELECTOR: u32 = 0;
/// Data port offset (8-bit).
pub const PORT_DATA: u32 = 2;

/// "QEMU".
pub const FW_CFG_SIGNATURE: u16 = 0x00;
/// Interface revision and features (1: traditional interface, no DMA).
pub const FW_CFG_ID: u16 = 0x01;
/// Machine UUID, 16 bytes.
pub const FW_CFG_UUID: u16 = 0x02;
/// RAM size, u64.
pub const FW_CFG_RAM_SIZE: u16 = 0x03;
/// 1 when there is no graphical console, u16.
pub const FW_CFG_NOGRAPHIC: u16 = 0x04;
/// CPUs present, u16.
pub const FW_CFG_NB_CPUS: u16 = 0x05;
/// Machine ID, u16 (2 = Heathrow).
pub const FW_CFG_MACHINE_ID: u16 = 0x06;
/// Guest address of a preloaded kernel, u32.
pub const FW_CFG_KERNEL_ADDR: u16 = 0x07;
/// Size of the preloaded kernel, u32.
pub const FW_CFG_KERNEL_SIZE: u16 = 0x08;
/// Guest address of the kernel command line, u32 (0 = none).
pub const FW_CFG_KERNEL_CMDLINE: u16 = 0x09;
/// Guest address of the initrd, u32.
pub const FW_CFG_INITRD_ADDR: u16 = 0x0A;
/// Size of the initrd, u32.
pub const FW_CFG_INITRD_SIZE: u16 = 0x0B;
/// Boot device letter, u16 ('c' disk, 'd' CD, 'm' preloaded kernel).
pub const FW_CFG_BOOT_DEVICE: u16 = 0x0C;
/// Boot menu enabled, u16.
pub const FW_CFG_BOOT_MENU: u16 = 0x0E;
/// Maximum CPUs, u16.
pub const FW_CFG_MAX_CPUS: u16 = 0x0F;
/// The file directory.
pub const FW_CFG_FILE_DIR: u16 = 0x19;
/// Selector of the first file.
pub const FW_CFG_FILE_FIRST: u16 = 0x20;
/// File slots (QEMU's default `x-file-slots`).
pub const FW_CFG_FILE_SLOTS: u16 = 0x20;
/// Bit set in architecture-local keys.
pub const FW_CFG_ARCH_LOCAL: u16 = 0x8000;
/// Bit set when a key is selected for writing (unsupported, as in QEMU since 2.4).
pub const FW_CFG_WRITE_CHANNEL: u16 = 0x4000;
/// Key bits that index an item table.
pub const FW_CFG_ENTRY_MASK: u16 = !(FW_CFG_WRITE_CHANNEL | FW_CFG_ARCH_LOCAL);
/// The "nothing selected" key.
pub const FW_CFG_INVALID: u16 = 0xFFFF;
/// Display width, u16.
pub const FW_CFG_PPC_WIDTH: u16 = FW_CFG_ARCH_LOCAL;
/// Display height, u16.
pub const FW_CFG_PPC_HEIGHT: u16 = FW_CFG_ARCH_LOCAL + 0x01;
/// Display depth, u16.
pub const FW_CFG_PPC_DEPTH: u16 = FW_CFG_ARCH_LOCAL + 0x02;
/// Timebase frequency, u32.
pub const FW_CFG_PPC_TBFREQ: u16 = FW_CFG_ARCH_LOCAL + 0x03;
/// CPU clock frequency, u32.
pub const FW_CFG_PPC_CLOCKFREQ: u16 = FW_CFG_ARCH_LOCAL + 0x04;
/// Running under KVM, u32.
pub const FW_CFG_PPC_IS_KVM: u16 = FW_CFG_ARCH_LOCAL + 0x05;
/// NVRAM address override, u32 (0 = the board default).
pub const FW_CFG_PPC_NVRAM_ADDR: u16 = FW_CFG_ARCH_LOCAL + 0x08;
/// Bus frequency, u32.
pub const FW_CFG_PPC_BUSFREQ: u16 = FW_CFG_ARCH_LOCAL + 0x09;
/// VIA configuration, u32 (0 = CUDA).
pub const FW_CFG_PPC_VIACONFIG: u16 = FW_CFG_ARCH_LOCAL + 0x0B;

/// `ARCH_HEATHROW` in QEMU's hw/ppc/mac.h.
pub const MACHINE_ID_HEATHROW: u16 = 2;
/// g3beige's timebase frequency.
pub const TBFREQ: u32 = 16_600_000;
/// g3beige's CPU clock as told to firmware.
pub const CLOCKFREQ: u32 = 266_000_000;
/// g3beige's bus clock as told to firmware.
pub const BUSFREQ: u32 = 66_000_000;

/// Length of a file name in the directory, NUL included.
const FILE_NAME_LEN: usize = 56;

/// What the board tells firmware, from the machine configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FwCfgSetup {
    /// RAM size in bytes.
    pub ram_size: u64,
    /// No graphical console (`-nographic`).
    pub nographic: bool,
    /// CPUs present.
    pub nb_cpus: u16,
    /// Maximum CPUs.
    pub max_cpus: u16,
    /// Machine UUID.
    pub uuid: [u8; 16],
    /// Preloaded kernel address and size (0, 0 when none).
    pub kernel_addr: u32,
    /// Preloaded kernel size.
    pub kernel_size: u32,
    /// Guest address of the command line string, 0 when there is none.
    pub kernel_cmdline: u32,
    /// Initrd address (0 when none).
    pub initrd_addr: u32,
    /// Initrd size.
    pub initrd_size: u32,
    /// Boot device letter: b'c', b'd' or b'm'.
    pub boot_device: u8,
    /// Display width.
    pub width: u16,
    /// Display height.
    pub height: u16,
    /// Display depth in bits per pixel.
    pub depth: u16,
    /// Timebase frequency in Hz.
    pub tbfreq: u32,
    /// CPU clock in Hz.
    pub clockfreq: u32,
    /// Bus clock in Hz.
    pub busfreq: u32,
}

impl Default for FwCfgSetup {
    /// QEMU 7.2's `-M g3beige` defaults: 128 MB, one CPU, boot from 'c', 800x600x32.
    fn default() -> Self {
        FwCfgSetup {
            ram_size: 128 << 20,
            nographic: false,
            nb_cpus: 1,
            max_cpus: 1,
            uuid: [0; 16],
            kernel_addr: 0,
            kernel_size: 0,
            kernel_cmdline: 0,
            initrd_addr: 0,
            initrd_size: 0,
            boot_device: b'c',
            width: 800,
            height: 600,
            depth: 32,
            tbfreq: TBFREQ,
            clockfreq: CLOCKFREQ,
            busfreq: BUSFREQ,
        }
    }
}

/// The fw_cfg device.
#[derive(Debug, Clone)]
pub struct FwCfg {
    /// Selected key, [`FW_CFG_INVALID`] when none (saved).
    pub cur_entry: u16,
    /// Next byte of the selected item (saved).
    pub cur_offset: u32,
    items: BTreeMap<u16, Vec<u8>>,
    files: Vec<(String, u16)>,
    unimp: UnimpLog,
}

impl FwCfg {
    /// An empty device holding only the signature, ID and file directory.
    pub fn empty() -> Self {
        let mut f = FwCfg {
            cur_entry: FW_CFG_INVALID,
            cur_offset: 0,
            items: BTreeMap::new(),
            files: Vec::new(),
            unimp: UnimpLog::default(),
        };
        f.add_bytes(FW_CFG_SIGNATURE, b"QEMU".to_vec());
        f.add_i32(FW_CFG_ID, 1);
        f.rebuild_file_dir();
        f
    }

    /// The device with every item QEMU 7.2's g3beige provides, filled from `setup`.
    pub fn new(setup: &FwCfgSetup) -> Self {
        let mut f = Self::empty();
        f.add_bytes(FW_CFG_UUID, setup.uuid.to_vec());
        f.add_i64(FW_CFG_RAM_SIZE, setup.ram_size);
        f.add_i16(FW_CFG_NOGRAPHIC, u16::from(setup.nographic));
        f.add_i16(FW_CFG_NB_CPUS, setup.nb_cpus);
        f.add_i16(FW_CFG_MACHINE_ID, MACHINE_ID_HEATHROW);
        f.add_i32(FW_CFG_KERNEL_ADDR, setup.kernel_addr);
        f.add_i32(FW_CFG_KERNEL_SIZE, setup.kernel_size);
        f.add_i32(FW_CFG_KERNEL_CMDLINE, setup.kernel_cmdline);
        f.add_i32(FW_CFG_INITRD_ADDR, setup.initrd_addr);
        f.add_i32(FW_CFG_INITRD_SIZE, setup.initrd_size);
        f.add_i16(FW_CFG_BOOT_DEVICE, u16::from(setup.boot_device));
        f.add_i16(FW_CFG_BOOT_MENU, 0);
        f.add_i16(FW_CFG_MAX_CPUS, setup.max_cpus);
        f.add_i16(FW_CFG_PPC_WIDTH, setup.width);
        f.add_i16(FW_CFG_PPC_HEIGHT, setup.height);
        f.add_i16(FW_CFG_PPC_DEPTH, setup.depth);
        f.add_i32(FW_CFG_PPC_TBFREQ, setup.tbfreq);
        f.add_i32(FW_CFG_PPC_CLOCKFREQ, setup.clockfreq);
        f.add_i32(FW_CFG_PPC_IS_KVM, 0);
        f.add_i32(FW_CFG_PPC_BUSFREQ, setup.busfreq);
        // QEMU 7.2's g3beige leaves these two out; an absent key reads as zeros, so
        // zero-valued items are indistinguishable and document the defaults.
        f.add_i32(FW_CFG_PPC_NVRAM_ADDR, 0);
        f.add_i32(FW_CFG_PPC_VIACONFIG, 0);
        // The files QEMU always registers: boot-fail-wait (-1: never reboot) and
        // the empty boot order and geometry lists.
        f.add_file("etc/boot-fail-wait", u32::MAX.to_le_bytes().to_vec());
        f.add_file("bootorder", Vec::new());
        f.add_file("bios-geometry", Vec::new());
        f
    }

    /// Adds or replaces an item.
    pub fn add_bytes(&mut self, key: u16, data: Vec<u8>) {
        self.items.insert(key, data);
    }

    /// Adds a little-endian u16 item.
    pub fn add_i16(&mut self, key: u16, v: u16) {
        self.add_bytes(key, v.to_le_bytes().to_vec());
    }

    /// Adds a little-endian u32 item.
    pub fn add_i32(&mut self, key: u16, v: u32) {
        self.add_bytes(key, v.to_le_bytes().to_vec());
    }

    /// Adds a little-endian u64 item.
    pub fn add_i64(&mut self, key: u16, v: u64) {
        self.add_bytes(key, v.to_le_bytes().to_vec());
    }

    /// Adds a named file; the directory stays sorted by name as QEMU keeps it, and
    /// selectors follow directory order from [`FW_CFG_FILE_FIRST`]. Returns false
    /// when all file slots are taken.
    pub fn add_file(&mut self, name: &str, data: Vec<u8>) -> bool {
        let mut names: Vec<(String, Vec<u8>)> = self
            .files
            .iter()
            .filter(|(n, _)| n != name)
            .map(|(n, key)| (n.clone(), self.items.get(key).cloned().unwrap_or_default()))
            .collect();
        if names.len() >= usize::from(FW_CFG_FILE_SLOTS) {
            return false;
        }
        names.push((name.to_owned(), data));
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, key) in self.files.drain(..) {
            self.items.remove(&key);
        }
        for (i, (n, d)) in names.into_iter().enumerate() {
            let key = FW_CFG_FILE_FIRST + i as u16;
            self.items.insert(key, d);
            self.files.push((n, key));
        }
        self.rebuild_file_dir();
        true
    }

    /// The selector of a named file.
    pub fn file_key(&self, name: &str) -> Option<u16> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, k)| *k)
    }

    fn rebuild_file_dir(&mut self) {
        // QEMU sizes the directory for every slot; unused entries stay zero.
        let mut dir = vec![0u8; 4 + 64 * usize::from(FW_CFG_FILE_SLOTS)];
        dir[..4].copy_from_slice(&(self.files.len() as u32).to_be_bytes());
        for (i, (name, key)) in self.files.iter().enumerate() {
            let e = &mut dir[4 + 64 * i..4 + 64 * (i + 1)];
            let size = self.items.get(key).map_or(0, Vec::len) as u32;
            e[0..4].copy_from_slice(&size.to_be_bytes());
            e[4..6].copy_from_slice(&key.to_be_bytes());
            let n = name.as_bytes();
            let len = n.len().min(FILE_NAME_LEN - 1);
            e[8..8 + len].copy_from_slice(&n[..len]);
        }
        self.items.insert(FW_CFG_FILE_DIR, dir);
    }

    /// Selects `key` and rewinds to its first byte. Keys past the last file slot
    /// select nothing.
    pub fn select(&mut self, key: u16) {
        self.cur_offset = 0;
        self.cur_entry = if key & FW_CFG_ENTRY_MASK >= FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS {
            FW_CFG_INVALID
        } else {
            key
        };
    }

    /// Reads the next data byte.
    pub fn read_byte(&mut self) -> u8 {
        let key = self.cur_entry & !FW_CFG_WRITE_CHANNEL;
        if self.cur_entry == FW_CFG_INVALID {
            return 0;
        }
        match self
            .items
            .get(&key)
            .and_then(|d| d.get(self.cur_offset as usize))
        {
            Some(&b) => {
                self.cur_offset += 1;
                b
            }
            None => 0,
        }
    }

    /// MMIO read: the data port returns `size` successive bytes in address order;
    /// the selector reads 0, as in QEMU.
    pub fn read(&mut self, offset: u32, size: u32) -> u32 {
        match offset {
            PORT_DATA => (0..size).fold(0, |acc, _| (acc << 8) | u32::from(self.read_byte())),
            PORT_SELECTOR => 0,
            _ => {
                self.unimp.report("fw_cfg", false, offset, size, 0);
                0
            }
        }
    }

    /// MMIO write: a 16-bit big-endian write to the selector selects; writes to the
    /// data port are ignored (QEMU dropped fw_cfg writes in 2.4).
    pub fn write(&mut self, offset: u32, size: u32, value: u32) {
        match (offset, size) {
            (PORT_SELECTOR, 2) => self.select(value as u16),
            (PORT_DATA, _) => {}
            _ => self.unimp.report("fw_cfg", true, offset, size, value),
        }
    }
}

impl Default for FwCfg {
    fn default() -> Self {
        Self::new(&FwCfgSetup::default())
    }
}

impl VmState for FwCfg {
    /// Only the selection: the items come from the machine configuration.
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<FwCfg>> = LazyLock::new(|| {
            Vmsd::builder("fw_cfg")
                .version(1)
                .minimum_version(1)
                .field("cur_entry", |s: &FwCfg| &s.cur_entry, |s| &mut s.cur_entry)
                .field("cur_offset", |s| &s.cur_offset, |s| &mut s.cur_offset)
                .build()
        });
        &V
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(f: &mut FwCfg, key: u16, len: usize) -> Vec<u8> {
        f.write(PORT_SELECTOR, 2, u32::from(key));
        (0..len).map(|_| f.read(PORT_DATA, 1) as u8).collect()
    }

    fn item_u32(f: &mut FwCfg, key: u16) -> u32 {
        let b = item(f, key, 4);
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }

    #[test]
    fn selection_survives_save_and_load() {
        let mut f = FwCfg::default();
        savevm::testing::assert_mutated_roundtrip(&mut f, |f| {
            item(f, FW_CFG_SIGNATURE, 2);
        });
        let bytes = savevm::save_bytes(&mut f);
        let mut g = FwCfg::default();
        savevm::load_bytes(&mut g, &bytes).unwrap();
        assert_eq!(g.read(PORT_DATA, 1), u32::from(b'M'));
    }

    #[test]
    fn random_mmio_never_panics() {
        let mut f = FwCfg::default();
        crate::pci::random_mmio(3, 20_000, 4, |w, off, size, v| {
            if w {
                f.write(off, size, v);
            } else {
                f.read(off, size);
            }
        });
        assert_eq!(item(&mut f, FW_CFG_SIGNATURE, 4), b"QEMU");
    }

    /// Every fw_cfg access OpenBIOS made booting QEMU 7.2 `-M g3beige -nographic` to
    /// `0 >` (`-trace fw_cfg_select -trace fw_cfg_read`): `key:bytes` selects `key`
    /// and reads those bytes in order.
    const QEMU_OPENBIOS_FW_CFG_TRACE: &str = "
0000
0003:00000008
0000:51454d55
0001:01000000
0006:0200
8000:2003
8001:5802
8002:2000
0019:00000003000000000020000062696f732d67656f6d65747279000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000210000626f6f746f72646572000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000004002200006574632f626f6f742d6661696c2d776169740000000000000000000000000000000000000000000000000000000000000000000000000000
800b:00000000
8008:00000000
0000:51454d55
0001:01000000
0005:01000000
0002:00000000000000000000000000000000
8009:8014ef03
8003:c04bfd00
8004:80d6da0f
8009:8014ef03
0004:0100
8005:00000000
0019:00000003000000000020000062696f732d67656f6d65747279000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000210000626f6f746f726465720000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000
0021
000c:6300
000c:6300";

    #[test]
    fn replays_openbios_reads_recorded_on_qemu() {
        let setup = FwCfgSetup {
            nographic: true,
            ..FwCfgSetup::default()
        };
        let mut f = FwCfg::new(&setup);
        for tok in QEMU_OPENBIOS_FW_CFG_TRACE.split_whitespace() {
            let (key, bytes) = tok.split_once(':').unwrap_or((tok, ""));
            let key = u16::from_str_radix(key, 16).unwrap();
            f.write(PORT_SELECTOR, 2, u32::from(key));
            for i in (0..bytes.len()).step_by(2) {
                let want = u32::from_str_radix(&bytes[i..i + 2], 16).unwrap();
                assert_eq!(f.read(PORT_DATA, 1), want, "key {key:#x} byte {}", i / 2);
            }
        }
    }

    #[test]
    fn signature_and_id_satisfy_openbios() {
        let mut f = FwCfg::new(&FwCfgSetup::default());
        assert_eq!(item(&mut f, FW_CFG_SIGNATURE, 4), b"QEMU");
        assert_eq!(item_u32(&mut f, FW_CFG_ID), 1);
    }

    #[test]
    fn integers_are_little_endian_with_qemu_values() {
        let setup = FwCfgSetup {
            ram_size: 256 << 20,
            nographic: true,
            ..FwCfgSetup::default()
        };
        let mut f = FwCfg::new(&setup);
        assert_eq!(
            item(&mut f, FW_CFG_RAM_SIZE, 8),
            (256u64 << 20).to_le_bytes()
        );
        assert_eq!(item(&mut f, FW_CFG_NOGRAPHIC, 2), [1, 0]);
        assert_eq!(item(&mut f, FW_CFG_MACHINE_ID, 2), [2, 0]);
        assert_eq!(item(&mut f, FW_CFG_BOOT_DEVICE, 2), [b'c', 0]);
        assert_eq!(item_u32(&mut f, FW_CFG_PPC_TBFREQ), 0x00FD_4BC0);
        assert_eq!(item_u32(&mut f, FW_CFG_PPC_CLOCKFREQ), 0x0FDA_D680);
        assert_eq!(item_u32(&mut f, FW_CFG_PPC_BUSFREQ), 0x03EF_1480);
        assert_eq!(item(&mut f, FW_CFG_PPC_DEPTH, 2), [32, 0]);
        assert_eq!(item_u32(&mut f, FW_CFG_PPC_IS_KVM), 0);
        assert_eq!(item_u32(&mut f, FW_CFG_PPC_VIACONFIG), 0);
    }

    #[test]
    fn reads_past_end_and_of_absent_keys_are_zero() {
        let mut f = FwCfg::new(&FwCfgSetup::default());
        assert_eq!(item(&mut f, FW_CFG_MACHINE_ID, 4), [2, 0, 0, 0]);
        assert_eq!(item(&mut f, 0x0D, 2), [0, 0]);
        assert_eq!(item(&mut f, 0x1234, 2), [0, 0]);
        assert_eq!(f.cur_entry, FW_CFG_INVALID);
    }

    #[test]
    fn selecting_rewinds_to_first_byte() {
        let mut f = FwCfg::new(&FwCfgSetup::default());
        item(&mut f, FW_CFG_SIGNATURE, 2);
        assert_eq!(item(&mut f, FW_CFG_SIGNATURE, 4), b"QEMU");
        assert_eq!(f.cur_offset, 4);
    }

    #[test]
    fn file_dir_is_sorted_big_endian_like_qemu() {
        let mut f = FwCfg::new(&FwCfgSetup::default());
        let dir = item(&mut f, FW_CFG_FILE_DIR, 4 + 64 * 3);
        assert_eq!(&dir[..4], &[0, 0, 0, 3]);
        let entry = |i: usize| &dir[4 + 64 * i..4 + 64 * (i + 1)];
        assert!(entry(0)[8..].starts_with(b"bios-geometry\0"));
        assert!(entry(1)[8..].starts_with(b"bootorder\0"));
        assert!(entry(2)[8..].starts_with(b"etc/boot-fail-wait\0"));
        assert_eq!(&entry(2)[0..6], &[0, 0, 0, 4, 0, 0x22]);
        assert_eq!(item(&mut f, 0x22, 4), [0xFF; 4]);
    }

    #[test]
    fn data_port_ignores_writes_and_selector_needs_halfword() {
        let mut f = FwCfg::new(&FwCfgSetup::default());
        f.write(PORT_SELECTOR, 2, u32::from(FW_CFG_SIGNATURE));
        f.write(PORT_DATA, 1, 0x55);
        f.write(PORT_SELECTOR, 1, u32::from(FW_CFG_ID));
        assert_eq!(f.read(PORT_DATA, 1), u32::from(b'Q'));
    }
}
