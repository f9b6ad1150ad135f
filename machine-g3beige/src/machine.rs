//! Machine types, construction from a configuration, the run loop, and whole-machine
//! snapshots.

use std::io::{Read, Write};
use std::path::PathBuf;

use cpu_ppc::{Cpu, CpuConfig, Exit};
use savevm::file::{load_file, save_file, FileOptions};
use savevm::stream::{RamBlock, RamBlockMut, SectionRef, G3BEIGE_RAM};
use savevm::{CompatProp, LoadError, PropDef, PropError, Props, SaveError};
use thiserror::Error;

use crate::board::{Board, RAM_MAX, ROM_BASE, ROM_SIZE};
use crate::cuda::PowerRequest;
use crate::elf::{self, ElfError};
use crate::escc::CHN_A;
use crate::fw_cfg::{FwCfg, FwCfgSetup};
use crate::nvram::{Nvram, NvramError};

/// A versioned machine type. `g3beige` is an alias of the newest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MachineType {
    pub name: &'static str,
    pub description: &'static str,
    /// Properties this type switches back to older behaviour (QEMU's hw_compat_X_Y).
    pub compat: &'static [CompatProp],
}

/// The alias that names the newest type.
pub const DEFAULT_ALIAS: &str = "g3beige";

/// Newest first.
pub const MACHINE_TYPES: &[MachineType] = &[
    MachineType {
        name: "g3beige-1.1",
        description: "Heathrow based PowerMAC (Power Macintosh G3 Beige), beige 1.1",
        compat: &[],
    },
    MachineType {
        name: "g3beige-1.0",
        description: "Heathrow based PowerMAC, beige 1.0 (snapshots without CPU interrupt state)",
        compat: &[CompatProp {
            driver: "cpu",
            prop: "migrate-irq-state",
            value: "off",
        }],
    },
];

/// Every property the board's devices accept with `-global`.
pub const PROPERTIES: &[PropDef] = &[savevm::props::CPU_MIGRATE_IRQ_STATE];

/// Resolves a `-M` name (the alias included).
pub fn find_machine_type(name: &str) -> Option<&'static MachineType> {
    let name = if name == DEFAULT_ALIAS {
        MACHINE_TYPES[0].name
    } else {
        name
    };
    MACHINE_TYPES.iter().find(|t| t.name == name)
}

/// What `-M help` prints.
pub fn machine_help() -> String {
    let mut s = String::from("Supported machines are:\n");
    s += &format!(
        "{:<20} {} (alias of {})\n",
        DEFAULT_ALIAS, MACHINE_TYPES[0].description, MACHINE_TYPES[0].name
    );
    for t in MACHINE_TYPES {
        s += &format!("{:<20} {}\n", t.name, t.description);
    }
    s
}

/// QEMU's placement of a `-kernel` image (mac_oldworld.c).
pub const KERNEL_LOAD_ADDR: u32 = 0x0100_0000;
const KERNEL_GAP: u32 = 0x0010_0000;
const PAGE: u32 = 4096;

/// Everything a machine is built from. Two machines built from equal configs and fed
/// the same input at the same virtual times behave identically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineConfig {
    /// A name from [`MACHINE_TYPES`] or the alias.
    pub machine_type: String,
    pub ram_size: u32,
    /// The firmware ELF image (OpenBIOS, or a bare-metal test guest).
    pub firmware: Vec<u8>,
    pub kernel: Option<Vec<u8>>,
    pub initrd: Option<Vec<u8>>,
    pub cmdline: Option<String>,
    /// 'c' (disk) or 'd' (CD); 'm' is forced when a kernel is given.
    pub boot_device: u8,
    pub nographic: bool,
    pub nvram_file: Option<PathBuf>,
    /// `-global driver.prop=value` settings, in order.
    pub globals: Vec<String>,
    /// Unix seconds the RTC shows at virtual time zero (`-rtc base=`).
    pub rtc_base: i64,
    pub width: u16,
    pub height: u16,
    pub depth: u16,
    /// Virtual nanoseconds per instruction.
    pub ns_per_insn: u64,
}

impl Default for MachineConfig {
    fn default() -> Self {
        MachineConfig {
            machine_type: DEFAULT_ALIAS.into(),
            ram_size: 128 << 20,
            firmware: Vec::new(),
            kernel: None,
            initrd: None,
            cmdline: None,
            boot_device: b'c',
            nographic: true,
            nvram_file: None,
            globals: Vec::new(),
            rtc_base: 0,
            width: 800,
            height: 600,
            depth: 32,
            ns_per_insn: 10,
        }
    }
}

#[derive(Debug, Error)]
pub enum MachineError {
    #[error("unknown machine type '{0}'; use -M help to list them")]
    UnknownMachine(String),
    #[error("RAM size {0} MiB is not supported: use 1 to 2047 MiB")]
    RamSize(u32),
    #[error("firmware: {0}")]
    Firmware(ElfError),
    #[error(
        "firmware segment at {addr:#010x} (+{len:#x}) lies outside the 4 MiB ROM at 0xffc00000"
    )]
    FirmwareOutsideRom { addr: u32, len: u32 },
    #[error("kernel: {0}")]
    Kernel(ElfError),
    #[error("kernel, initrd and command line need {need} bytes of RAM but the machine has {have}; use a larger -m")]
    TooBig { need: u64, have: u32 },
    #[error(transparent)]
    Property(#[from] PropError),
    #[error(transparent)]
    Nvram(#[from] NvramError),
}

#[derive(Debug, Error)]
pub enum SnapshotError {
    #[error("could not save the snapshot: {0}")]
    Save(#[from] SaveError),
    #[error("could not load the snapshot: {0}")]
    Load(#[from] LoadError),
    #[error("could not build the machine to load into: {0}")]
    Machine(#[from] MachineError),
}

/// Why [`Machine::run`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunExit {
    /// Virtual time reached the requested deadline.
    Deadline,
    /// The guest slept through to the deadline: the host may pace to real time.
    Idle,
    /// The guest asked CUDA to power off.
    PowerOff,
    /// The guest asked CUDA to reset the system (already done).
    Reset,
}

/// A whole g3beige: the CPU and the board.
#[derive(Debug)]
pub struct Machine {
    pub cpu: Cpu,
    pub board: Board,
    pub machine_type: &'static MachineType,
    pub props: Props,
    cfg: MachineConfig,
}

fn firmware_rom(image: &[u8]) -> Result<Vec<u8>, MachineError> {
    let elf = elf::parse(image).map_err(MachineError::Firmware)?;
    let mut rom = vec![0u8; ROM_SIZE as usize];
    for seg in &elf.segments {
        let off = seg.paddr.wrapping_sub(ROM_BASE);
        if seg.paddr < ROM_BASE || u64::from(off) + u64::from(seg.mem_size) > u64::from(ROM_SIZE) {
            return Err(MachineError::FirmwareOutsideRom {
                addr: seg.paddr,
                len: seg.mem_size,
            });
        }
        let off = off as usize;
        rom[off..off + seg.data.len()].copy_from_slice(&seg.data);
    }
    Ok(rom)
}

fn page_align(x: u64) -> u64 {
    x.div_ceil(u64::from(PAGE)) * u64::from(PAGE)
}

/// Places kernel, initrd and command line in RAM as QEMU does and fills the fw_cfg
/// items that tell OpenBIOS where they are.
fn load_kernel(
    cfg: &MachineConfig,
    board: &mut Board,
    setup: &mut FwCfgSetup,
) -> Result<(), MachineError> {
    let Some(image) = &cfg.kernel else {
        return Ok(());
    };
    let elf = elf::parse(image).map_err(MachineError::Kernel)?;
    let (lo, hi) = elf.vaddr_span();
    let place = |vaddr: u32| (vaddr & 0x0FFF_FFFF) + KERNEL_LOAD_ADDR;
    let kernel_size = u64::from(hi - lo);
    let kernel_end = u64::from(place(lo)) + kernel_size;
    let initrd_base = page_align(kernel_end + u64::from(KERNEL_GAP));
    let initrd_len = cfg.initrd.as_ref().map_or(0, |i| i.len() as u64);
    let cmdline_base = if cfg.initrd.is_some() {
        page_align(initrd_base + initrd_len)
    } else {
        initrd_base
    };
    let cmdline_len = cfg.cmdline.as_ref().map_or(0, |c| c.len() as u64 + 1);
    let need = cmdline_base + cmdline_len;
    if need > u64::from(cfg.ram_size) {
        return Err(MachineError::TooBig {
            need,
            have: cfg.ram_size,
        });
    }
    for seg in &elf.segments {
        let at = place(seg.vaddr);
        board.ram.write(at, &seg.data);
        let bss = seg.mem_size as usize - seg.data.len();
        board.ram.fill(at + seg.data.len() as u32, bss, 0);
    }
    setup.kernel_addr = KERNEL_LOAD_ADDR;
    setup.kernel_size = kernel_size as u32;
    if let Some(initrd) = &cfg.initrd {
        board.ram.write(initrd_base as u32, initrd);
        setup.initrd_addr = initrd_base as u32;
        setup.initrd_size = initrd.len() as u32;
    }
    if let Some(cmdline) = &cfg.cmdline {
        let mut bytes = cmdline.as_bytes().to_vec();
        bytes.push(0);
        board.ram.write(cmdline_base as u32, &bytes);
        setup.kernel_cmdline = cmdline_base as u32;
    }
    setup.boot_device = b'm';
    Ok(())
}

/// The saved sections in stream order. Their idstrs are wire format: never rename.
/// (A macro, because RAM is borrowed from the board beside them.)
macro_rules! sections {
    ($cpu:expr, $b:expr) => {{
        let [ide0, ide1] = &mut $b.ide;
        [
            SectionRef::new("cpu", 0, $cpu),
            SectionRef::new("heathrow_pic", 0, &mut $b.pic),
            SectionRef::new("grackle", 0, &mut $b.grackle),
            SectionRef::new("fw_cfg", 0, &mut $b.fw_cfg),
            SectionRef::new("macio-nvram", 0, &mut $b.nvram),
            SectionRef::new("escc", 0, &mut $b.escc),
            SectionRef::new("dbdma", 0, &mut $b.dbdma),
            SectionRef::new("ide", 0, ide0),
            SectionRef::new("ide", 1, ide1),
            SectionRef::new("screamer", 0, &mut $b.screamer),
            SectionRef::new("cuda", 0, &mut $b.cuda),
            SectionRef::new("vga", 0, &mut $b.vga),
        ]
    }};
}

/// Calls `f` with the sections a machine of any type saves, in stream order, on
/// freshly reset devices: for the schema dump, which describes, never saves.
pub fn with_fresh_sections<R>(f: impl FnOnce(&mut [SectionRef<'_>]) -> R) -> R {
    let mut cpu = Cpu::new(CpuConfig::default());
    let mut board = Board::new(1 << 20, &[], FwCfg::empty(), Nvram::new(), 0);
    let b = &mut board;
    let mut sections = sections!(&mut cpu, b);
    f(&mut sections)
}

impl Machine {
    pub fn new(cfg: &MachineConfig) -> Result<Machine, MachineError> {
        Self::build(cfg, true)
    }

    /// `with_nvram_file` is false for the scratch machine a snapshot loads into: it
    /// must not touch the NVRAM file until the load has succeeded.
    fn build(cfg: &MachineConfig, with_nvram_file: bool) -> Result<Machine, MachineError> {
        let machine_type = find_machine_type(&cfg.machine_type)
            .ok_or_else(|| MachineError::UnknownMachine(cfg.machine_type.clone()))?;
        if cfg.ram_size == 0 || cfg.ram_size > RAM_MAX || cfg.ram_size % (1 << 20) != 0 {
            return Err(MachineError::RamSize(cfg.ram_size >> 20));
        }
        let globals: Vec<&str> = cfg.globals.iter().map(String::as_str).collect();
        let props = Props::resolve(PROPERTIES, machine_type.compat, &globals)?;
        let rom = firmware_rom(&cfg.firmware)?;
        let nvram = match (&cfg.nvram_file, with_nvram_file) {
            (Some(path), true) => Nvram::with_file(path)?,
            _ => Nvram::new(),
        };
        let mut setup = FwCfgSetup {
            ram_size: u64::from(cfg.ram_size),
            nographic: cfg.nographic,
            boot_device: cfg.boot_device,
            width: cfg.width,
            height: cfg.height,
            depth: cfg.depth,
            ..FwCfgSetup::default()
        };
        let mut board = Board::new(cfg.ram_size, &rom, FwCfg::empty(), nvram, cfg.rtc_base);
        load_kernel(cfg, &mut board, &mut setup)?;
        board.fw_cfg = FwCfg::new(&setup);
        let cpu = Cpu::new(CpuConfig {
            ns_per_insn: cfg.ns_per_insn,
            migrate_irq_state: props.bool("cpu", "migrate-irq-state"),
            ..CpuConfig::default()
        });
        Ok(Machine {
            cpu,
            board,
            machine_type,
            props,
            cfg: cfg.clone(),
        })
    }

    pub fn config(&self) -> &MachineConfig {
        &self.cfg
    }

    pub fn now_ns(&self) -> u64 {
        self.cpu.now_ns()
    }

    /// Runs until virtual time reaches `until_ns`, or the guest powers off or resets.
    pub fn run(&mut self, until_ns: u64) -> RunExit {
        let mut idled = false;
        loop {
            let now = self.cpu.now_ns();
            self.board.run_timers(now);
            if let Some(pins) = self.board.take_pin_update() {
                self.cpu.set_pins(pins);
            }
            if let Some(req) = self.board.cuda.take_power_request() {
                return self.power(req);
            }
            if now >= until_ns {
                return if idled {
                    RunExit::Idle
                } else {
                    RunExit::Deadline
                };
            }
            let deadline = self
                .board
                .next_deadline()
                .map_or(until_ns, |d| d.min(until_ns));
            match self.cpu.run(&mut self.board, deadline.max(now + 1)) {
                Exit::Deadline | Exit::Stop | Exit::Syscall => {}
                Exit::Idle => {
                    // Asleep in MSR[POW]: jump to the next event.
                    self.cpu.idle_until(deadline);
                    idled = true;
                }
            }
        }
    }

    fn power(&mut self, req: PowerRequest) -> RunExit {
        match req {
            PowerRequest::PowerOff => RunExit::PowerOff,
            PowerRequest::Reset => {
                self.system_reset();
                RunExit::Reset
            }
        }
    }

    /// A hard reset of CPU and devices; RAM and NVRAM keep their contents, as on the
    /// real machine.
    pub fn system_reset(&mut self) {
        let now = self.cpu.now_ns();
        self.cpu.reset();
        let b = &mut self.board;
        b.pic.reset();
        b.escc.reset();
        b.cuda.reset(now);
        b.grackle = crate::grackle::Grackle::new(false);
        b.dbdma = crate::dbdma::Dbdma::new();
        b.ide = [crate::ide::IdeChannel::new(), crate::ide::IdeChannel::new()];
        b.vga = crate::vga::Vga::new();
        b.touch(&[]);
        self.cpu.flush_caches();
    }

    /// Bytes the guest sent on the serial console (ESCC channel A).
    pub fn serial_output(&mut self) -> Vec<u8> {
        self.board.escc.take_output(CHN_A)
    }

    /// Feeds the serial console; returns how many bytes the chip took.
    pub fn serial_input(&mut self, bytes: &[u8]) -> usize {
        let n = self.board.escc.receive(CHN_A, bytes);
        self.board.touch_escc();
        if let Some(pins) = self.board.take_pin_update() {
            self.cpu.set_pins(pins);
        }
        n
    }

    /// Saves the whole machine as a compressed snapshot.
    pub fn save<W: Write>(&mut self, w: W) -> Result<W, SnapshotError> {
        let name = self.machine_type.name;
        let (cpu, b) = (&mut self.cpu, &mut self.board);
        let ram = [RamBlock {
            name: G3BEIGE_RAM,
            data: b.ram.as_slice(),
        }];
        let mut sections = sections!(cpu, b);
        Ok(save_file(
            w,
            FileOptions::default(),
            name,
            &ram,
            &mut sections,
        )?)
    }

    /// Loads a snapshot into a fresh machine built from this one's configuration, and
    /// replaces this machine only if the whole snapshot loaded. On error `self` is
    /// untouched. Returns the loader's warnings (skipped droppable data).
    pub fn load<R: Read>(&mut self, r: R) -> Result<Vec<String>, SnapshotError> {
        let mut fresh = Machine::build(&self.cfg, false)?;
        let report = fresh.load_into(r)?;
        // The NVRAM file belongs to the running machine; carry it over with the
        // loaded contents.
        let mut nvram = std::mem::take(&mut self.board.nvram);
        nvram.data = std::mem::take(&mut fresh.board.nvram.data);
        nvram.mark_dirty();
        fresh.board.nvram = nvram;
        *self = fresh;
        Ok(report)
    }

    fn load_into<R: Read>(&mut self, r: R) -> Result<Vec<String>, SnapshotError> {
        let name = self.machine_type.name;
        // A machine built to load into holds zeros unless a kernel was placed.
        let fresh = self.cfg.kernel.is_none();
        let (cpu, b) = (&mut self.cpu, &mut self.board);
        let data = b.ram.as_mut_slice_invalidate_all();
        let mut ram = [if fresh {
            RamBlockMut::fresh(G3BEIGE_RAM, data)
        } else {
            RamBlockMut::new(G3BEIGE_RAM, data)
        }];
        let mut sections = sections!(cpu, b);
        let report = load_file(r, name, &mut ram, &mut sections)?;
        // Restored registers invalidate every derived cache; nothing is re-raised:
        // the CPU's pins and the PIC's lines come from the snapshot itself.
        self.cpu.flush_caches();
        Ok(report.warnings)
    }
}
