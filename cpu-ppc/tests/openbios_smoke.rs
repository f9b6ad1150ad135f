//! Smoke test: the real OpenBIOS ROM runs from reset on a bare bus (RAM, ROM, a
//! minimal fw_cfg) without the CPU falling into an exception loop, and reaches its
//! fw_cfg probing. Skips when the ROM is not installed.

use cpu_ppc::{Bus, Cpu, CpuConfig, GuestRam};

const ROM_BASE: u32 = 0xFFC0_0000;
const ROM_PATH: &str = "/usr/share/qemu/openbios-ppc";

struct SmokeBus {
    ram: GuestRam,
    rom: Vec<u8>,
    fw_sel: u16,
    fw_off: usize,
    mmio: Vec<(u32, bool)>,
}

fn fw_item(sel: u16) -> Vec<u8> {
    match sel {
        0x00 => b"QEMU".to_vec(),
        0x01 => 1u32.to_le_bytes().to_vec(),
        0x03 => (128u64 << 20).to_le_bytes().to_vec(),
        0x05 | 0x0F => 1u16.to_le_bytes().to_vec(),
        0x06 => 2u16.to_le_bytes().to_vec(),
        0x0C => b"c".to_vec(),
        0x8003 => 16_600_000u32.to_le_bytes().to_vec(),
        0x8004 => 266_000_000u32.to_le_bytes().to_vec(),
        0x8009 => 66_000_000u32.to_le_bytes().to_vec(),
        _ => vec![0; 8],
    }
}

impl Bus for SmokeBus {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }
    fn read(&mut self, pa: u32, size: u32, _now: u64) -> u32 {
        if pa >= ROM_BASE {
            let o = (pa - ROM_BASE) as usize;
            return (0..size as usize).fold(0, |v, i| {
                (v << 8) | *self.rom.get(o + i).unwrap_or(&0xFF) as u32
            });
        }
        self.mmio.push((pa, false));
        if pa == 0xF000_0512 {
            let item = fw_item(self.fw_sel);
            let b = item.get(self.fw_off).copied().unwrap_or(0);
            self.fw_off += 1;
            return b as u32;
        }
        0xFFFF_FFFF
    }
    fn write(&mut self, pa: u32, _size: u32, value: u32, _now: u64) {
        if pa >= ROM_BASE {
            return;
        }
        self.mmio.push((pa, true));
        if pa == 0xF000_0510 {
            self.mmio.push((value, true));
            self.fw_sel = value as u16;
            self.fw_off = 0;
        }
    }
    fn take_pins(&mut self) -> Option<u32> {
        None
    }
    fn stop_requested(&mut self) -> bool {
        false
    }
}

fn load_elf(elf: &[u8], rom: &mut [u8]) {
    let be32 = |o: usize| u32::from_be_bytes(elf[o..o + 4].try_into().unwrap());
    let be16 = |o: usize| u16::from_be_bytes(elf[o..o + 2].try_into().unwrap());
    let (phoff, phentsize, phnum) = (be32(28) as usize, be16(42) as usize, be16(44) as usize);
    for k in 0..phnum {
        let ph = phoff + k * phentsize;
        if be32(ph) != 1 {
            continue;
        }
        let (off, paddr, filesz) = (be32(ph + 4) as usize, be32(ph + 12), be32(ph + 16) as usize);
        if paddr < ROM_BASE {
            continue;
        }
        let dst = (paddr - ROM_BASE) as usize;
        rom[dst..dst + filesz].copy_from_slice(&elf[off..off + filesz]);
    }
}

#[test]
fn openbios_runs_from_reset_and_probes_fw_cfg() {
    let Ok(elf) = std::fs::read(ROM_PATH) else {
        eprintln!("SKIPPED: {ROM_PATH} not installed");
        return;
    };
    let mut rom = vec![0; 4 << 20]; // QEMU zero-fills the ROM around the ELF (and .bss)
    load_elf(&elf, &mut rom);
    let mut bus = SmokeBus {
        ram: GuestRam::new(128 << 20),
        rom,
        fw_sel: 0,
        fw_off: 0,
        mmio: Vec::new(),
    };
    let mut cpu = Cpu::new(CpuConfig::default());
    let mut vectors = std::collections::BTreeMap::new();
    let mut last = 0;
    for slice in 0..200 {
        cpu.run(&mut bus, (slice + 1) * 1_000_000);
        if cpu.srr0 != last {
            last = cpu.srr0;
        }
        *vectors.entry(cpu.nip & 0xFFFF_FF00).or_insert(0u32) += 1;
    }
    let fw = bus
        .mmio
        .iter()
        .filter(|(pa, _)| *pa & !3 == 0xF000_0510)
        .count();
    eprintln!(
        "icount {} nip {:#x} msr {:#x} srr0 {:#x} srr1 {:#x} dar {:#x} fw_cfg accesses {} mmio {}",
        cpu.icount,
        cpu.nip,
        cpu.msr,
        cpu.srr0,
        cpu.srr1,
        cpu.dar,
        fw,
        bus.mmio.len()
    );
    let mut seen: Vec<_> = bus.mmio.iter().map(|(pa, w)| (*pa & !0xFF, *w)).collect();
    seen.dedup();
    eprintln!(
        "mmio regions (first 40): {:x?}",
        &seen[..seen.len().min(40)]
    );
    assert!(fw > 4, "OpenBIOS never talked to fw_cfg");
    assert!(cpu.icount > 100_000);
}

/// Debug aid: the instruction trace from reset, one NIP per line, into the file named
/// by BEIGE_TRACE (compare against `qemu-system-ppc -d exec,nochain`).
#[test]
fn openbios_trace_when_asked() {
    let Ok(path) = std::env::var("BEIGE_TRACE") else {
        return;
    };
    let Ok(elf) = std::fs::read(ROM_PATH) else {
        return;
    };
    let mut rom = vec![0; 4 << 20]; // QEMU zero-fills the ROM around the ELF (and .bss)
    load_elf(&elf, &mut rom);
    let mut bus = SmokeBus {
        ram: GuestRam::new(128 << 20),
        rom,
        fw_sel: 0,
        fw_off: 0,
        mmio: Vec::new(),
    };
    let mut cpu = Cpu::new(CpuConfig::default());
    cpu.log_exceptions = true;
    cpu.run(&mut bus, 3_000_000_000);
    let out: String = cpu
        .exception_log
        .iter()
        .map(|(srr0, v, dar)| format!("{srr0:08x} {v:#x} {dar:08x}\n"))
        .collect();
    let mmio: String = bus
        .mmio
        .iter()
        .map(|(pa, w)| format!("mmio {pa:08x} {w}\n"))
        .collect();
    std::fs::write(path, out + &mmio + &format!("nip {:08x}\n", cpu.nip)).unwrap();
}
