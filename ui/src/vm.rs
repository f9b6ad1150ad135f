//! What the UI needs from an emulated machine.
//!
//! The UI never sees the machine's internals: it drives a `dyn Vm` in slices of
//! virtual time, moves serial bytes in and out, and asks it to save or load its
//! whole state as an opaque payload (for g3beige: the savevm crate's zstd file
//! over QEMU's migration stream); the UI stores it behind a small header, one
//! file per tag. `glue.rs` builds the real machine behind this trait.

use std::io::{Read, Write};

/// Why a slice ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VmEvent {
    /// The budget was used up (or a device asked to stop early for a host event).
    Ran,
    /// The guest halted waiting for an interrupt. `until_ns` is the next timer
    /// deadline in virtual time, or `None` when only external input can wake it.
    /// The host waits (in real time when pacing) and then calls `idle_until`.
    /// A machine that already skipped its idle time itself returns
    /// `Idle { until_ns: Some(now_ns) }`: the host then only paces.
    Idle { until_ns: Option<u64> },
    /// The guest powered the machine off (CUDA POWERDOWN).
    PowerOff,
    /// The guest asked for a reset (CUDA RESET_SYSTEM) and the machine has
    /// already reset itself; with `-no-reboot` the host exits instead of
    /// continuing.
    Reset,
}

/// A machine-side failure, as one line a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum VmError {
    #[error("{0}")]
    Msg(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// A guest framebuffer, as the window draws it: 32-bit 0x00RRGGBB pixels.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<u32>,
}

/// The machine as the UI drives it. Everything runs on the VM thread.
pub trait Vm: Send {
    /// Execute until virtual time advances by `budget_ns`, the guest idles, or it
    /// powers off / resets. Never blocks on the host.
    fn run_slice(&mut self, budget_ns: u64) -> VmEvent;
    /// Skip virtual time forward while the guest is idle (never past its next
    /// timer deadline; the machine clamps).
    fn idle_until(&mut self, ns: u64);
    /// Virtual time in nanoseconds.
    fn now_ns(&self) -> u64;
    /// Guest instructions retired so far, where the VM counts them (for MIPS).
    fn instructions(&self) -> Option<u64> {
        None
    }
    /// Drain the bytes the guest sent on serial channel `chan` (0 = ESCC-A).
    fn serial_output(&mut self, chan: usize) -> Vec<u8>;
    /// Offer host bytes to serial channel `chan`; returns how many were accepted
    /// (the rest are offered again later, so nothing is dropped when a FIFO fills).
    fn serial_input(&mut self, chan: usize, bytes: &[u8]) -> usize;
    /// Write the whole machine state (the snapshot payload, compressed or not
    /// as the machine chooses). Must not change the machine.
    fn save(&mut self, w: &mut dyn Write) -> Result<(), VmError>;
    /// Replace the machine state from what `save` wrote. Must validate all of
    /// it (integrity, machine type, RAM size, sections) before replacing
    /// anything: on error the machine is unchanged.
    fn load(&mut self, r: &mut dyn Read) -> Result<(), VmError>;
    /// `info registers`.
    fn info_registers(&self) -> String;
    /// Hard reset, as the reset button.
    fn system_reset(&mut self);
    /// The versioned machine type, e.g. `g3beige-1.1` (never the alias).
    fn machine_type(&self) -> &str;
    /// RAM size in bytes (recorded in snapshot metadata).
    fn ram_size(&self) -> u64;
    /// The JSON description of every device's state (`-dump-vmstate`).
    fn dump_vmstate(&self, w: &mut dyn Write) -> Result<(), VmError>;
    /// The current screen, if the machine has a display and it is enabled
    /// (screendump).
    fn framebuffer(&mut self) -> Option<Frame> {
        None
    }
    /// Copy the screen into `frame` if it changed since `frame` was last
    /// filled (VRAM writes, mode or palette change); returns whether it did.
    /// Called about 60 times a second while a window is open, so a machine
    /// should override this with dirty tracking; the default compares.
    fn update_frame(&mut self, frame: &mut Frame) -> bool {
        match self.framebuffer() {
            Some(f) if f != *frame => {
                *frame = f;
                true
            }
            _ => false,
        }
    }
    /// A key on the ADB keyboard went down or up (`adb_code` is the ADB
    /// virtual key code; the keyboard device does the key repeat).
    fn key_event(&mut self, _adb_code: u8, _down: bool) {}
    /// Relative mouse motion and the button state (ADB mouse, one button).
    fn mouse_event(&mut self, _dx: i32, _dy: i32, _button: bool) {}
}

#[cfg(test)]
pub mod fake {
    //! A tiny deterministic machine for tests: it echoes serial input
    //! upper-cased, keeps a counter that advances with time, and saves as a
    //! short stream with a header so corrupt loads can be detected.

    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct FakeState {
        pub now_ns: u64,
        pub counter: u64,
        pub resets: u32,
    }

    #[derive(Debug)]
    pub struct FakeVm {
        pub state: FakeState,
        pub machine: String,
        pub ram: u64,
        pub out: Vec<u8>,
        /// Scripted events returned by `run_slice` before it falls back to `Ran`.
        pub script: Vec<VmEvent>,
        /// How many bytes one `serial_input` call accepts (models a FIFO).
        pub fifo: usize,
        /// When set, the guest idles with this deadline instead of running.
        pub idle_deadline: Option<Option<u64>>,
        pub slices: u64,
        pub screen: Option<Frame>,
        /// Keys received, shared so a test can read them after boxing the VM.
        pub keys: std::sync::Arc<std::sync::Mutex<Vec<(u8, bool)>>>,
        /// Mouse events received (dx, dy, button), shared likewise.
        pub mouse: std::sync::Arc<std::sync::Mutex<Vec<(i32, i32, bool)>>>,
    }

    const MAGIC: &[u8; 8] = b"FAKEVM01";

    impl FakeVm {
        pub fn new() -> FakeVm {
            FakeVm {
                state: FakeState {
                    now_ns: 0,
                    counter: 0,
                    resets: 0,
                },
                machine: "fake-1.0".into(),
                ram: 1 << 20,
                out: Vec::new(),
                script: Vec::new(),
                fifo: usize::MAX,
                idle_deadline: None,
                slices: 0,
                screen: None,
                keys: Default::default(),
                mouse: Default::default(),
            }
        }
    }

    fn sum(b: &[u8]) -> u8 {
        b.iter()
            .fold(0u8, |a, &x| a.wrapping_mul(31).wrapping_add(x))
    }

    impl FakeVm {
        fn checksum(&self) -> u8 {
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&self.state.now_ns.to_be_bytes());
            b.extend_from_slice(&self.state.counter.to_be_bytes());
            b.extend_from_slice(&self.state.resets.to_be_bytes());
            sum(&b)
        }
    }

    impl Default for FakeVm {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Vm for FakeVm {
        fn run_slice(&mut self, budget_ns: u64) -> VmEvent {
            self.slices += 1;
            if !self.script.is_empty() {
                return self.script.remove(0);
            }
            if let Some(until) = self.idle_deadline {
                return VmEvent::Idle { until_ns: until };
            }
            self.state.now_ns += budget_ns;
            self.state.counter += 1;
            VmEvent::Ran
        }
        fn idle_until(&mut self, ns: u64) {
            self.state.now_ns = self.state.now_ns.max(ns);
        }
        fn now_ns(&self) -> u64 {
            self.state.now_ns
        }
        fn serial_output(&mut self, chan: usize) -> Vec<u8> {
            if chan == 0 {
                std::mem::take(&mut self.out)
            } else {
                Vec::new()
            }
        }
        fn serial_input(&mut self, chan: usize, bytes: &[u8]) -> usize {
            if chan != 0 {
                return bytes.len();
            }
            let n = bytes.len().min(self.fifo);
            self.out
                .extend(bytes[..n].iter().map(u8::to_ascii_uppercase));
            n
        }
        fn save(&mut self, w: &mut dyn Write) -> Result<(), VmError> {
            w.write_all(MAGIC)?;
            w.write_all(&self.state.now_ns.to_be_bytes())?;
            w.write_all(&self.state.counter.to_be_bytes())?;
            w.write_all(&self.state.resets.to_be_bytes())?;
            w.write_all(&[self.checksum()])?;
            Ok(())
        }
        fn load(&mut self, r: &mut dyn Read) -> Result<(), VmError> {
            let mut buf = Vec::new();
            r.read_to_end(&mut buf)?;
            if buf.len() != 29 || &buf[..8] != MAGIC {
                return Err(VmError::Msg(format!(
                    "not a fake-vm stream ({} bytes)",
                    buf.len()
                )));
            }
            let u64_at = |i: usize| {
                let mut b = [0u8; 8];
                b.copy_from_slice(&buf[i..i + 8]);
                u64::from_be_bytes(b)
            };
            let mut r4 = [0u8; 4];
            r4.copy_from_slice(&buf[24..28]);
            let state = FakeState {
                now_ns: u64_at(8),
                counter: u64_at(16),
                resets: u32::from_be_bytes(r4),
            };
            if sum(&buf[..28]) != buf[28] {
                return Err(VmError::Msg("fake-vm stream checksum mismatch".into()));
            }
            self.state = state;
            Ok(())
        }
        fn info_registers(&self) -> String {
            format!(
                "counter={:016x} now_ns={}\n",
                self.state.counter, self.state.now_ns
            )
        }
        fn system_reset(&mut self) {
            self.state.counter = 0;
            self.state.resets += 1;
        }
        fn machine_type(&self) -> &str {
            &self.machine
        }
        fn ram_size(&self) -> u64 {
            self.ram
        }
        fn dump_vmstate(&self, w: &mut dyn Write) -> Result<(), VmError> {
            w.write_all(b"{\"fake\": {}}\n")?;
            Ok(())
        }
        fn framebuffer(&mut self) -> Option<Frame> {
            self.screen.clone()
        }
        fn key_event(&mut self, adb_code: u8, down: bool) {
            self.keys.lock().unwrap().push((adb_code, down));
        }
        fn mouse_event(&mut self, dx: i32, dy: i32, button: bool) {
            self.mouse.lock().unwrap().push((dx, dy, button));
        }
    }
}
