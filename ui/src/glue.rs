//! The seam to the real machine: `machine-g3beige` behind the [`Vm`] trait. The
//! only file of the UI that knows the machine crate.

use std::io::{Read, Write};

use machine_g3beige::escc::{CHN_A, CHN_B};
use machine_g3beige::machine::{DEFAULT_ALIAS, MACHINE_TYPES};
use machine_g3beige::{Machine, MachineConfig, RunExit};

use crate::cli::Config;
use crate::vm::{Frame, Vm, VmError, VmEvent};

/// One entry of `-M help`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineType {
    pub name: &'static str,
    pub description: &'static str,
    /// For an alias (`g3beige`): the versioned type it stands for.
    pub alias_of: Option<&'static str>,
    pub is_default: bool,
    /// RAM limit in MiB (g3beige: 2047, as QEMU's mac_oldworld).
    pub max_ram_mib: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum GlueError {
    #[error("{0}")]
    Machine(String),
}

/// Machine types `-M` accepts, from the machine crate's table.
pub fn machine_types() -> Vec<MachineType> {
    let newest = MACHINE_TYPES[0];
    let mut v = vec![MachineType {
        name: DEFAULT_ALIAS,
        description: "Heathrow based PowerMAC",
        alias_of: Some(newest.name),
        is_default: true,
        max_ram_mib: 2047,
    }];
    v.extend(MACHINE_TYPES.iter().map(|t| MachineType {
        name: t.name,
        description: t.description,
        alias_of: None,
        is_default: false,
        max_ram_mib: 2047,
    }));
    v
}

/// The text of `-M help`, laid out as QEMU's.
pub fn machine_help() -> String {
    let mut s = String::from("Supported machines are:\n");
    for t in machine_types() {
        let mut d = t.description.to_string();
        if let Some(a) = t.alias_of {
            d = format!("{d} (alias of {a})");
        }
        if t.is_default {
            d += " (default)";
        }
        s += &format!("{:<20} {d}\n", t.name);
    }
    s
}

fn read(what: &str, path: &std::path::Path) -> Result<Vec<u8>, GlueError> {
    std::fs::read(path).map_err(|e| GlueError::Machine(format!("{what} '{}': {e}", path.display())))
}

/// Build the machine for `cfg`. `cfg.firmware` is already found and checked
/// to be a big-endian PowerPC ELF; `cfg.machine.name` is one of
/// `machine_types()` (possibly the alias); `cfg.globals` are unvalidated
/// `-global` properties the machine accepts or refuses by name.
pub fn build_vm(cfg: &Config) -> Result<Box<dyn Vm>, GlueError> {
    if cfg.hda.is_some() || cfg.cdrom.is_some() {
        return Err(GlueError::Machine(
            "-hda/-cdrom: beige has no ATA disk or ATAPI CD-ROM yet; boot with -kernel".into(),
        ));
    }
    let ram_size = u32::try_from(cfg.ram_size)
        .map_err(|_| GlueError::Machine(format!("-m {}M is too large", cfg.ram_size >> 20)))?;
    let (width, height, depth) = cfg.geometry.unwrap_or((800, 600, 32));
    let mc = MachineConfig {
        machine_type: cfg.machine.name.clone(),
        ram_size,
        firmware: read("firmware", &cfg.firmware)?,
        kernel: cfg
            .kernel
            .as_deref()
            .map(|p| read("kernel", p))
            .transpose()?,
        initrd: cfg
            .initrd
            .as_deref()
            .map(|p| read("initrd", p))
            .transpose()?,
        cmdline: cfg.append.clone(),
        boot_device: cfg.boot_device.map_or(b'c', |c| c as u8),
        nographic: cfg.nographic,
        nvram_file: cfg.nvram.clone(),
        globals: cfg
            .globals
            .iter()
            .map(|g| format!("{}.{}={}", g.driver, g.prop, g.value))
            .collect(),
        rtc_base: cfg.rtc_base_unix,
        width: width as u16,
        height: height as u16,
        depth: firmware_depth(depth),
        ns_per_insn: cfg.icount_shift.map_or(10, |s| 1u64 << s.min(20)),
    };
    let machine = Machine::new(&mc).map_err(|e| GlueError::Machine(e.to_string()))?;
    Ok(Box::new(G3Beige { machine }))
}

/// The depth the firmware is told through fw_cfg. QEMU's heathrow init turns
/// any `-g` depth but 8, 15 and 32 into 15 (OpenBIOS draws nothing at 16 and
/// garbles 24), so `-g 800x600x16` looks the same as in QEMU.
fn firmware_depth(depth: u32) -> u16 {
    match depth {
        8 | 15 | 32 => depth as u16,
        _ => 15,
    }
}

/// The g3beige machine as the UI drives it.
#[derive(Debug)]
pub struct G3Beige {
    machine: Machine,
}

fn escc_channel(chan: usize) -> usize {
    if chan == 0 {
        CHN_A
    } else {
        CHN_B
    }
}

impl Vm for G3Beige {
    fn run_slice(&mut self, budget_ns: u64) -> VmEvent {
        let until = self.machine.now_ns().saturating_add(budget_ns);
        match self.machine.run(until) {
            RunExit::Deadline => VmEvent::Ran,
            // The machine already skipped its idle time: the host only paces.
            RunExit::Idle => VmEvent::Idle {
                until_ns: Some(self.machine.now_ns()),
            },
            RunExit::PowerOff => VmEvent::PowerOff,
            RunExit::Reset => VmEvent::Reset,
        }
    }

    fn idle_until(&mut self, _ns: u64) {
        // The machine idles inside `run`, never past a device or CPU deadline.
    }

    fn now_ns(&self) -> u64 {
        self.machine.now_ns()
    }

    fn instructions(&self) -> Option<u64> {
        Some(self.machine.cpu.icount)
    }

    fn serial_output(&mut self, chan: usize) -> Vec<u8> {
        self.machine.board.escc.take_output(escc_channel(chan))
    }

    fn serial_input(&mut self, chan: usize, bytes: &[u8]) -> usize {
        if chan == 0 {
            return self.machine.serial_input(bytes);
        }
        let n = self.machine.board.escc.receive(CHN_B, bytes);
        self.machine.board.touch_escc();
        n
    }

    fn save(&mut self, w: &mut dyn Write) -> Result<(), VmError> {
        self.machine
            .save(w)
            .map(|_| ())
            .map_err(|e| VmError::Msg(e.to_string()))
    }

    fn load(&mut self, r: &mut dyn Read) -> Result<(), VmError> {
        let warnings = self
            .machine
            .load(r)
            .map_err(|e| VmError::Msg(e.to_string()))?;
        for w in warnings {
            tracing::warn!(target: "snapshot", "{w}");
        }
        Ok(())
    }

    fn info_registers(&self) -> String {
        registers(&self.machine)
    }

    fn system_reset(&mut self) {
        self.machine.system_reset();
    }

    fn machine_type(&self) -> &str {
        self.machine.machine_type.name
    }

    fn ram_size(&self) -> u64 {
        u64::from(self.machine.config().ram_size)
    }

    fn dump_vmstate(&self, w: &mut dyn Write) -> Result<(), VmError> {
        let json = machine_g3beige::schema::dump(self.machine.machine_type.name)
            .map_err(|e| VmError::Msg(format!("-dump-vmstate: {e}")))?;
        w.write_all(json.as_bytes())?;
        Ok(())
    }

    fn framebuffer(&mut self) -> Option<Frame> {
        machine_g3beige::display::render(&self.machine.board.vga).map(|s| Frame {
            width: s.width,
            height: s.height,
            pixels: s.pixels,
        })
    }

    fn update_frame(&mut self, frame: &mut Frame) -> bool {
        let dirty = self.machine.board.vga.take_dirty().is_some();
        let mode = self.machine.board.vga.mode();
        let resized = frame.width != mode.width || frame.height != mode.height;
        if !dirty && !resized && !frame.pixels.is_empty() {
            return false;
        }
        match self.framebuffer() {
            Some(f) => {
                *frame = f;
                true
            }
            None => false,
        }
    }

    fn key_event(&mut self, adb_code: u8, down: bool) {
        self.machine.board.cuda.key_event(adb_code, down);
    }

    fn mouse_event(&mut self, dx: i32, dy: i32, button: bool) {
        self.machine
            .board
            .cuda
            .mouse_event(dx, dy, u8::from(button));
    }
}

/// `info registers`, laid out as QEMU's ppc dump.
fn registers(m: &Machine) -> String {
    let c = &m.cpu;
    let mut s = format!(
        "NIP {:08x}   LR {:08x} CTR {:08x} XER {:08x}\nMSR {:08x} HID0 {:08x}\nTB {:08x} {:08x} DECR {:08x}\n",
        c.nip,
        c.lr,
        c.ctr,
        c.xer,
        c.msr,
        c.hid0,
        (c.timebase() >> 32) as u32,
        c.timebase() as u32,
        c.decrementer()
    );
    for (i, chunk) in c.gpr.chunks(8).enumerate() {
        s += &format!("GPR{:02}", i * 8);
        for g in chunk {
            s += &format!(" {g:08x}");
        }
        s.push('\n');
    }
    s += &format!("CR {:08x}\n", c.cr());
    for (i, chunk) in c.fpr.chunks(4).enumerate() {
        s += &format!("FPR{:02}", i * 4);
        for f in chunk {
            s += &format!(" {f:016x}");
        }
        s.push('\n');
    }
    s += &format!(
        "FPSCR {:08x}\n SRR0 {:08x}  SRR1 {:08x}    PVR {:08x}\n",
        c.fpscr, c.srr0, c.srr1, c.pvr
    );
    s += &format!(
        "SPRG0 {:08x} SPRG1 {:08x}  SPRG2 {:08x}  SPRG3 {:08x}\n SDR1 {:08x}   DAR {:08x}  DSISR {:08x}\n",
        c.sprg[0], c.sprg[1], c.sprg[2], c.sprg[3], c.mmu.sdr1, c.dar, c.dsisr
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depths_openbios_cannot_draw_become_15_as_in_qemu() {
        assert_eq!(firmware_depth(8), 8);
        assert_eq!(firmware_depth(15), 15);
        assert_eq!(firmware_depth(32), 32);
        assert_eq!(firmware_depth(16), 15);
        assert_eq!(firmware_depth(24), 15);
    }
}
