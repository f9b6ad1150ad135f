//! Timebase and decrementer, derived from the CPU's virtual clock.
//!
//! Both count at `tb_freq` ticks per virtual second: `ticks(t) = t * tb_freq / 1e9`.
//! Software writes are kept as offsets against that count, so nothing ticks per
//! instruction; the decrementer's underflow time is computed once per write.

const NS_PER_S: u128 = 1_000_000_000;

/// Timebase and decrementer state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBase {
    pub freq: u64,
    /// TB = ticks(now) + tb_offset (wrapping).
    pub tb_offset: u64,
    /// DEC = dec_base - (ticks(now) - dec_base_ticks) (wrapping, 32 bits).
    pub dec_base: u32,
    pub dec_base_ticks: u64,
    /// Virtual time of the next 0 -> -1 transition of DEC.
    pub dec_deadline: u64,
}

impl TimeBase {
    pub fn new(freq: u64) -> TimeBase {
        let mut tb = TimeBase {
            freq: freq.max(1),
            tb_offset: 0,
            dec_base: 0,
            dec_base_ticks: 0,
            dec_deadline: u64::MAX,
        };
        tb.reset(0);
        tb
    }

    /// TB = 0 and DEC = 0xFFFFFFFF at `now`.
    pub fn reset(&mut self, now: u64) {
        let t = self.ticks(now);
        self.tb_offset = t.wrapping_neg();
        self.set_dec(now, u32::MAX);
    }

    /// Timebase ticks elapsed at virtual time `ns`.
    pub fn ticks(&self, ns: u64) -> u64 {
        (ns as u128 * self.freq as u128 / NS_PER_S) as u64
    }

    /// The first virtual time at which `ticks(t) >= ticks`.
    fn time_of_tick(&self, ticks: u64) -> u64 {
        let ns = (ticks as u128 * NS_PER_S).div_ceil(self.freq as u128);
        ns.min(u64::MAX as u128) as u64
    }

    pub fn tb(&self, now: u64) -> u64 {
        self.ticks(now).wrapping_add(self.tb_offset)
    }

    pub fn set_tb(&mut self, now: u64, value: u64) {
        self.tb_offset = value.wrapping_sub(self.ticks(now));
    }

    pub fn dec(&self, now: u64) -> u32 {
        let elapsed = self.ticks(now).wrapping_sub(self.dec_base_ticks);
        self.dec_base.wrapping_sub(elapsed as u32)
    }

    /// Write DEC. Returns true when the write itself triggers the exception: on the
    /// 6xx a write that sets DEC[0] while it was clear counts as the underflow edge
    /// (QEMU's `PPC_DECR_UNDERFLOW_TRIGGERED`).
    pub fn set_dec(&mut self, now: u64, value: u32) -> bool {
        let old = self.dec(now);
        let t = self.ticks(now);
        self.dec_base = value;
        self.dec_base_ticks = t;
        // DEC goes from 0 to -1 after value+1 ticks, then every 2^32 ticks.
        self.dec_deadline = self.time_of_tick(t + value as u64 + 1);
        value & 0x8000_0000 != 0 && old & 0x8000_0000 == 0
    }

    pub fn dec_deadline_ns(&self) -> u64 {
        self.dec_deadline
    }

    /// If DEC has underflowed by `now`, re-arm for the next wrap and return true.
    pub fn poll_dec(&mut self, now: u64) -> bool {
        if now < self.dec_deadline {
            return false;
        }
        let t = self.ticks(now);
        let d = self.dec(now);
        self.dec_deadline = self.time_of_tick(t + d as u64 + 1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timebase_counts_at_tb_freq() {
        let tb = TimeBase::new(16_600_000);
        assert_eq!(tb.tb(1_000_000_000), 16_600_000);
    }

    #[test]
    fn written_timebase_continues_from_value() {
        let mut tb = TimeBase::new(16_600_000);
        tb.set_tb(500, 1000);
        assert_eq!(tb.tb(500), 1000);
        assert_eq!(tb.tb(500 + 1_000_000_000), 1000 + 16_600_000);
    }

    #[test]
    fn decrementer_underflows_after_value_plus_one_ticks() {
        let mut tb = TimeBase::new(1_000_000_000); // 1 tick per ns for clarity
        tb.set_dec(100, 9);
        assert_eq!(tb.dec_deadline_ns(), 110);
        assert!(!tb.poll_dec(109));
        assert_eq!(tb.dec(109), 0);
        assert!(tb.poll_dec(110));
        assert_eq!(tb.dec(110), u32::MAX);
        assert_eq!(tb.dec_deadline_ns(), 110 + (1 << 32));
    }

    #[test]
    fn writing_negative_dec_over_positive_triggers() {
        let mut tb = TimeBase::new(1_000_000_000);
        tb.set_dec(0, 100);
        assert!(tb.set_dec(10, 0xFFFF_FFF0));
        assert!(!tb.set_dec(20, 0xFFFF_FF00));
    }
}
