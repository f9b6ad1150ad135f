//! Test support: a RAM-plus-MMIO bus and an assembler front end.

use std::process::Command;

use crate::{Bus, Cpu, CpuConfig, Exit, GuestRam};

/// RAM at 0, every other access logged and answered with `mmio_value`.
#[derive(Debug)]
pub struct TestBus {
    pub ram: GuestRam,
    pub reads: Vec<(u32, u32)>,
    pub writes: Vec<(u32, u32, u32)>,
    pub mmio_value: u32,
    pub pins: Option<u32>,
    pub stop: bool,
    /// What a device read does besides answering: new pin levels, a stop request.
    pub read_sets_pins: Option<u32>,
    pub read_stops: bool,
}

impl TestBus {
    pub fn new(size: usize) -> TestBus {
        TestBus {
            ram: GuestRam::new(size),
            reads: Vec::new(),
            writes: Vec::new(),
            mmio_value: 0,
            pins: None,
            stop: false,
            read_sets_pins: None,
            read_stops: false,
        }
    }

    pub fn load_words(&mut self, pa: u32, words: &[u32]) {
        for (k, w) in words.iter().enumerate() {
            assert!(self.ram.write_u32(pa + 4 * k as u32, *w));
        }
    }
}

// SAFETY: `ram` returns the bus's own `ram` field, never replaced.
#[allow(unsafe_code)]
unsafe impl Bus for TestBus {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }
    fn read(&mut self, pa: u32, size: u32, _now: u64) -> u32 {
        self.reads.push((pa, size));
        self.pins = self.pins.or(self.read_sets_pins.take());
        self.stop |= std::mem::take(&mut self.read_stops);
        self.mmio_value
    }
    fn write(&mut self, pa: u32, size: u32, value: u32, _now: u64) {
        self.writes.push((pa, size, value));
    }
    fn take_pins(&mut self) -> Option<u32> {
        self.pins.take()
    }
    fn stop_requested(&mut self) -> bool {
        self.stop
    }
}

/// Assemble PowerPC source with binutils into big-endian words.
pub fn asm(src: &str) -> Vec<u32> {
    let dir = std::env::temp_dir().join(format!(
        "beige-cpu-asm-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let s = dir.join("t.s");
    let o = dir.join("t.o");
    let bin = dir.join("t.bin");
    std::fs::write(&s, format!(".text\n{src}\n")).unwrap();
    let st = Command::new("powerpc-linux-gnu-as")
        .args(["-mregnames", "-many", "-o"])
        .arg(&o)
        .arg(&s)
        .status()
        .expect("powerpc-linux-gnu-as is needed for cpu-ppc tests");
    assert!(st.success(), "assembly failed:\n{src}");
    let st = Command::new("powerpc-linux-gnu-objcopy")
        .args(["-O", "binary", "-j", ".text"])
        .arg(&o)
        .arg(&bin)
        .status()
        .unwrap();
    assert!(st.success());
    let bytes = std::fs::read(&bin).unwrap();
    bytes
        .chunks(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect()
}

/// A user-mode CPU with `src` at 0x1000 and 1 MB of RAM.
pub fn user(src: &str) -> (Cpu, TestBus) {
    let mut bus = TestBus::new(1 << 20);
    bus.load_words(0x1000, &asm(src));
    let mut cpu = Cpu::new(CpuConfig {
        user_mode: true,
        ..CpuConfig::default()
    });
    cpu.nip = 0x1000;
    (cpu, bus)
}

/// A supervisor-mode CPU (real mode, vectors at 0, each a `b .` so the first
/// exception parks there) with `src` at 0x1000.
pub fn system(src: &str) -> (Cpu, TestBus) {
    let mut bus = TestBus::new(1 << 20);
    for v in (0x100..0x1800).step_by(0x100) {
        bus.load_words(v, &[0x4800_0000]);
    }
    bus.load_words(0x1000, &asm(src));
    let mut cpu = Cpu::new(CpuConfig::default());
    cpu.msr = crate::msr::ME | crate::msr::FP;
    cpu.nip = 0x1000;
    (cpu, bus)
}

/// Run a user program to its first `sc`.
pub fn run_to_sc(cpu: &mut Cpu, bus: &mut TestBus) {
    let exit = cpu.run(bus, u64::MAX);
    assert_eq!(exit, Exit::Syscall, "stopped with {:?}", cpu.user_fault);
}
