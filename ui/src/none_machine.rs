//! `-M none`: QEMU's empty machine. No CPU, no devices, no firmware: the
//! clock stands still and the guest never wakes. It exists so the monitor,
//! the chardevs, snapshots and the terminal handling can be used (and tested
//! end to end through the real binary) without a guest.

use std::io::{Read, Write};

use crate::vm::{Vm, VmError, VmEvent};

pub const NAME: &str = "none";
const MAGIC: &[u8; 8] = b"BGNONE01";

#[derive(Debug, Default)]
pub struct NoneVm {
    now_ns: u64,
}

impl NoneVm {
    pub fn new() -> NoneVm {
        NoneVm::default()
    }
}

impl Vm for NoneVm {
    fn run_slice(&mut self, _budget_ns: u64) -> VmEvent {
        VmEvent::Idle { until_ns: None }
    }
    fn idle_until(&mut self, ns: u64) {
        self.now_ns = self.now_ns.max(ns);
    }
    fn now_ns(&self) -> u64 {
        self.now_ns
    }
    fn serial_output(&mut self, _chan: usize) -> Vec<u8> {
        Vec::new()
    }
    fn serial_input(&mut self, _chan: usize, bytes: &[u8]) -> usize {
        bytes.len() // no serial port: input is dropped, as on QEMU's none
    }
    fn save(&mut self, w: &mut dyn Write) -> Result<(), VmError> {
        w.write_all(MAGIC)?;
        w.write_all(&self.now_ns.to_be_bytes())?;
        Ok(())
    }
    fn load(&mut self, r: &mut dyn Read) -> Result<(), VmError> {
        let mut buf = Vec::new();
        r.take(64).read_to_end(&mut buf)?;
        if buf.len() != 16 || &buf[..8] != MAGIC {
            return Err(VmError::Msg("not a snapshot of the 'none' machine".into()));
        }
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[8..]);
        self.now_ns = u64::from_be_bytes(b);
        Ok(())
    }
    fn info_registers(&self) -> String {
        "the 'none' machine has no CPU\n".into()
    }
    fn system_reset(&mut self) {}
    fn machine_type(&self) -> &str {
        NAME
    }
    fn ram_size(&self) -> u64 {
        0
    }
    fn dump_vmstate(&self, w: &mut dyn Write) -> Result<(), VmError> {
        w.write_all(b"{\n  \"none\": {}\n}\n")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_load_round_trip_and_garbage_refused() {
        let mut a = NoneVm::new();
        a.idle_until(1234);
        let mut buf = Vec::new();
        a.save(&mut buf).unwrap();
        let mut b = NoneVm::new();
        b.load(&mut &buf[..]).unwrap();
        assert_eq!(b.now_ns(), 1234);
        assert!(b.load(&mut &b"garbage"[..]).is_err());
        assert_eq!(b.now_ns(), 1234);
    }

    #[test]
    fn never_runs() {
        assert_eq!(NoneVm::new().run_slice(1), VmEvent::Idle { until_ns: None });
    }
}
