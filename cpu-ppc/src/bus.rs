//! The CPU's only view of the board: RAM, MMIO and the input pins.

use crate::ram::GuestRam;

/// What the CPU needs from the machine it sits in.
///
/// Physical accesses that miss RAM go to `read`/`write`; the board decodes them. After
/// every such access the CPU polls `take_pins`, because a device access may change the
/// interrupt controller's output.
///
/// A bus owns its devices (`'static`): the executor keeps one static handler table
/// per bus type.
///
/// # Safety
///
/// While [`crate::Cpu::run`] runs, every call of `ram` must return the same
/// `GuestRam`, neither replaced nor swapped for another meanwhile (a field of the
/// bus, returned as is, qualifies). The soft TLB holds offsets into it that were
/// checked against its length when they were made, and a hit indexes it unchecked;
/// `run` checks the length once, on entry.
#[allow(unsafe_code)]
pub unsafe trait Bus: 'static {
    /// Guest RAM, physical addresses `0..len`.
    fn ram(&mut self) -> &mut GuestRam;
    /// A 1, 2 or 4 byte read of a non-RAM physical address; big-endian value.
    fn read(&mut self, pa: u32, size: u32, now_ns: u64) -> u32;
    /// A 1, 2 or 4 byte write of a non-RAM physical address.
    fn write(&mut self, pa: u32, size: u32, value: u32, now_ns: u64);
    /// New input-pin levels (bit n = [`crate::Pin`] n), if they changed since last asked.
    fn take_pins(&mut self) -> Option<u32>;
    /// The board wants the current slice to end (power-off, reset).
    fn stop_requested(&mut self) -> bool;
}
