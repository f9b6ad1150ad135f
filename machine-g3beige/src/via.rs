//! MOS/Rockwell 6522 Versatile Interface Adapter, as wired to the CUDA on the
//! Power Macintosh G3 (Beige).
//!
//! Register behaviour follows the Rockwell R6522 datasheet and QEMU's
//! `hw/misc/mos6522.c`. Registers are indexed 0..16 (the CUDA window spaces
//! them 0x200 apart; [`crate::cuda`] does that decoding).
//!
//! Time: both timers count at [`VIA_TICKS_PER_SEC_Q24`] / 2^24 ≈ 783 361.40 Hz,
//! derived from the virtual `now_ns` that also drives the CPU timebase. That is
//! the rate QEMU's CUDA uses (the inverse of Mac OS X's timebase calibration),
//! and Linux's `via_calibrate_decr` measures the decrementer against one T1
//! period, so both must share this one clock. Every timer value is a pure
//! function of the saved integers and `now_ns`: nothing depends on host time.
//!
//! Not wired on this board: CA1/CA2/CB1/CB2 (the CUDA clocks the shift
//! register itself), PB7 output and T2 pulse counting. Their flags never set.

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

/// VIA timer frequency in ticks per second, scaled by 2^24: 0xBF401675E5D / 2^24
/// = 783 361.40 Hz. QEMU's `cuda_get_counter_value` uses the same constant.
pub const VIA_TICKS_PER_SEC_Q24: u128 = 0xBF4_0167_5E5D;
const NS_PER_SEC_Q24: u128 = 1_000_000_000u128 << 24;

// Register indices.
pub const REG_B: u8 = 0;
pub const REG_A: u8 = 1;
pub const REG_DDRB: u8 = 2;
pub const REG_DDRA: u8 = 3;
pub const REG_T1CL: u8 = 4;
pub const REG_T1CH: u8 = 5;
pub const REG_T1LL: u8 = 6;
pub const REG_T1LH: u8 = 7;
pub const REG_T2CL: u8 = 8;
pub const REG_T2CH: u8 = 9;
pub const REG_SR: u8 = 10;
pub const REG_ACR: u8 = 11;
pub const REG_PCR: u8 = 12;
pub const REG_IFR: u8 = 13;
pub const REG_IER: u8 = 14;
pub const REG_ANH: u8 = 15;

// IFR / IER bits.
pub const INT_CA2: u8 = 0x01;
pub const INT_CA1: u8 = 0x02;
pub const INT_SR: u8 = 0x04;
pub const INT_CB2: u8 = 0x08;
pub const INT_CB1: u8 = 0x10;
pub const INT_T2: u8 = 0x20;
pub const INT_T1: u8 = 0x40;
/// IFR bit 7 reads 1 when any enabled flag is set; in IER writes it selects set (1) or clear (0).
pub const INT_ANY_OR_SET: u8 = 0x80;

// ACR bits.
pub const ACR_T1_CONTINUOUS: u8 = 0x40;
pub const ACR_T1_PB7: u8 = 0x80;
pub const ACR_T2_PULSE_COUNT: u8 = 0x20;
pub const ACR_SR_MASK: u8 = 0x1c;
/// Shift register direction: 1 shifts out (host to CUDA).
pub const ACR_SR_OUT: u8 = 0x10;

/// Converts virtual time to the absolute VIA tick count.
pub fn ticks_at(now_ns: u64) -> u64 {
    // floor(floor(x / 2^24) / 1e9) == floor(x / (1e9 * 2^24)); the u64 division by a
    // constant is a multiply, where a u128 division is a library call. It covers
    // the first 6.5 hours of virtual time; later times take the long way.
    let scaled = (now_ns as u128 * VIA_TICKS_PER_SEC_Q24) >> 24;
    match u64::try_from(scaled) {
        Ok(s) => s / 1_000_000_000,
        Err(_) => (scaled / 1_000_000_000) as u64,
    }
}

/// The first virtual time at which `ticks_at` reaches `tick`.
pub fn ns_at_tick(tick: u64) -> u64 {
    let ns = (tick as u128 * NS_PER_SEC_Q24).div_ceil(VIA_TICKS_PER_SEC_Q24);
    u64::try_from(ns).unwrap_or(u64::MAX)
}

const NO_TICK: u64 = u64::MAX;

// Bits of `Via::logged`: each unimplemented feature is reported once.
const LOG_PB7: u8 = 0x01;
const LOG_PULSE_COUNT: u8 = 0x02;

/// The 6522 register state. Times are absolute VIA ticks (see [`ticks_at`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// Output register B. All eight bits are latched whatever DDRB says.
    pub(crate) orb: u8,
    pub(crate) ora: u8,
    pub(crate) ddrb: u8,
    pub(crate) ddra: u8,
    /// Levels the attached controller drives on the port-B lines in `ext_b_mask`.
    pub(crate) ext_b: u8,
    pub(crate) sr: u8,
    pub(crate) acr: u8,
    pub(crate) pcr: u8,
    pub(crate) ifr: u8,
    pub(crate) ier: u8,
    pub(crate) t1_latch: u16,
    /// Tick at which T1 next passes from 0 to 0xFFFF (the underflow that interrupts).
    pub(crate) t1_next_underflow: u64,
    /// Tick of the last underflow, when the counter reads 0xFFFF; `NO_TICK` if none.
    pub(crate) t1_last_underflow: u64,
    /// One-shot mode interrupts only once per T1CH write.
    pub(crate) t1_armed: bool,
    pub(crate) t2_latch_lo: u8,
    pub(crate) t2_load_tick: u64,
    pub(crate) t2_load_count: u16,
    pub(crate) t2_armed: bool,
    /// Port-B lines driven by the controller rather than by ORB (wiring, not state).
    ext_b_mask: u8,
    logged: u8,
}

impl Default for Via {
    fn default() -> Self {
        Via::new(0)
    }
}

impl Via {
    /// A VIA after reset, with the controller driving the port-B lines in `ext_b_mask`.
    ///
    /// DDRB resets to 0xFF, as in QEMU: OpenBIOS never programs DDRB and relies on
    /// TIP/TACK being outputs. (A bare 6522 resets its DDRs to 0; the Mac ROM sets them.)
    pub fn new(ext_b_mask: u8) -> Via {
        Via::power_on(ext_b_mask, 0)
    }

    /// Hardware reset at `now_ns`. The controller's lines keep their levels.
    pub fn reset(&mut self, now_ns: u64) {
        let ext_b = self.ext_b;
        let logged = self.logged;
        *self = Via::power_on(self.ext_b_mask, ticks_at(now_ns));
        self.ext_b = ext_b;
        self.logged = logged;
    }

    /// T1 free-runs from its all-ones latch without interrupting until T1CH is written.
    fn power_on(ext_b_mask: u8, tick: u64) -> Via {
        Via {
            orb: 0,
            ora: 0,
            ddrb: 0xff,
            ddra: 0,
            ext_b: 0xff,
            sr: 0,
            acr: 0,
            pcr: 0,
            ifr: 0,
            ier: 0,
            t1_latch: 0xffff,
            t1_next_underflow: tick + 0x1_0000,
            t1_last_underflow: NO_TICK,
            t1_armed: false,
            t2_latch_lo: 0xff,
            t2_load_tick: tick,
            t2_load_count: 0xffff,
            t2_armed: false,
            ext_b_mask,
            logged: 0,
        }
    }

    /// Reads register `reg` (0..16) at `now_ns`, with the datasheet's side effects.
    pub fn read(&mut self, reg: u8, now_ns: u64) -> u8 {
        let tick = self.sync(now_ns);
        match reg & 0xf {
            REG_B => self.port_b_pins(),
            REG_A | REG_ANH => self.ora & self.ddra,
            REG_DDRB => self.ddrb,
            REG_DDRA => self.ddra,
            REG_T1CL => {
                self.ifr &= !INT_T1;
                self.t1_counter(tick) as u8
            }
            REG_T1CH => (self.t1_counter(tick) >> 8) as u8,
            REG_T1LL => self.t1_latch as u8,
            REG_T1LH => (self.t1_latch >> 8) as u8,
            REG_T2CL => {
                self.ifr &= !INT_T2;
                self.t2_counter(tick) as u8
            }
            REG_T2CH => (self.t2_counter(tick) >> 8) as u8,
            REG_SR => {
                self.ifr &= !INT_SR;
                self.sr
            }
            REG_ACR => self.acr,
            REG_PCR => self.pcr,
            REG_IFR => self.ifr_value(),
            REG_IER => self.ier | INT_ANY_OR_SET,
            _ => unreachable!("register index is masked to 4 bits"),
        }
    }

    /// Writes register `reg` (0..16) at `now_ns`.
    pub fn write(&mut self, reg: u8, value: u8, now_ns: u64) {
        let tick = self.sync(now_ns);
        match reg & 0xf {
            REG_B => self.orb = value,
            REG_A | REG_ANH => self.ora = value,
            REG_DDRB => self.ddrb = value,
            REG_DDRA => self.ddra = value,
            // T1CL writes go to the low latch; the counter loads on T1CH.
            REG_T1CL | REG_T1LL => self.t1_latch = (self.t1_latch & 0xff00) | value as u16,
            REG_T1CH => {
                self.t1_latch = (self.t1_latch & 0x00ff) | (value as u16) << 8;
                self.ifr &= !INT_T1;
                self.t1_next_underflow = tick + self.t1_latch as u64 + 1;
                self.t1_last_underflow = NO_TICK;
                self.t1_armed = true;
            }
            REG_T1LH => {
                self.t1_latch = (self.t1_latch & 0x00ff) | (value as u16) << 8;
                self.ifr &= !INT_T1;
            }
            REG_T2CL => self.t2_latch_lo = value,
            REG_T2CH => {
                self.ifr &= !INT_T2;
                self.t2_load_tick = tick;
                self.t2_load_count = (value as u16) << 8 | self.t2_latch_lo as u16;
                self.t2_armed = true;
            }
            REG_SR => {
                self.ifr &= !INT_SR;
                self.sr = value;
            }
            REG_ACR => {
                self.acr = value;
                self.log_unwired_acr(value);
            }
            REG_PCR => self.pcr = value,
            REG_IFR => self.ifr &= !(value & 0x7f),
            REG_IER => {
                if value & INT_ANY_OR_SET != 0 {
                    self.ier |= value & 0x7f;
                } else {
                    self.ier &= !(value & 0x7f);
                }
            }
            _ => unreachable!("register index is masked to 4 bits"),
        }
    }

    /// The interrupt output: any flag that is also enabled.
    pub fn irq(&self) -> bool {
        self.ifr & self.ier & 0x7f != 0
    }

    /// When a timer next raises an enabled, not yet raised interrupt flag.
    ///
    /// Disabled timers need no deadline: their flags are brought up to date
    /// lazily on every register access.
    pub fn next_deadline(&self) -> Option<u64> {
        let mut next: Option<u64> = None;
        let t1_fires = self.acr & ACR_T1_CONTINUOUS != 0 || self.t1_armed;
        if self.ier & INT_T1 != 0 && self.ifr & INT_T1 == 0 && t1_fires {
            next = Some(ns_at_tick(self.t1_next_underflow));
        }
        if self.ier & INT_T2 != 0 && self.ifr & INT_T2 == 0 && self.t2_armed {
            let t2 = ns_at_tick(self.t2_underflow());
            next = Some(next.map_or(t2, |n| n.min(t2)));
        }
        next
    }

    /// Brings the timer flags up to `now_ns`.
    pub fn run_timers(&mut self, now_ns: u64) {
        self.sync(now_ns);
    }

    /// The port-B line levels as the host drives them; undriven inputs float high.
    pub fn port_b_output(&self) -> u8 {
        (self.orb & self.ddrb) | !self.ddrb
    }

    /// Sets the levels of the port-B lines the controller drives.
    pub fn set_port_b_input(&mut self, levels: u8) {
        self.ext_b = levels;
    }

    /// The auxiliary control register (the controller reads the shift direction).
    pub fn acr(&self) -> u8 {
        self.acr
    }

    /// The shift register, as the controller shifts it out.
    pub fn shift_register(&self) -> u8 {
        self.sr
    }

    /// The controller shifted a byte into SR.
    pub fn load_shift_register(&mut self, value: u8) {
        self.sr = value;
    }

    /// Eight bits have been shifted: raise the SR flag.
    pub fn raise_sr_int(&mut self) {
        self.ifr |= INT_SR;
    }

    fn port_b_pins(&self) -> u8 {
        let driven_by_host = (self.orb & self.ddrb) | !self.ddrb;
        (driven_by_host & !self.ext_b_mask) | (self.ext_b & self.ext_b_mask)
    }

    fn ifr_value(&self) -> u8 {
        if self.irq() {
            self.ifr | INT_ANY_OR_SET
        } else {
            self.ifr
        }
    }

    /// Processes underflows up to `now_ns` and returns its tick.
    fn sync(&mut self, now_ns: u64) -> u64 {
        let tick = ticks_at(now_ns);
        if self.t1_next_underflow <= tick {
            let period = self.t1_latch as u64 + 2;
            let missed = (tick - self.t1_next_underflow) / period;
            self.t1_last_underflow = self.t1_next_underflow + missed * period;
            self.t1_next_underflow = self.t1_last_underflow + period;
            if self.acr & ACR_T1_CONTINUOUS != 0 || self.t1_armed {
                self.ifr |= INT_T1;
            }
            self.t1_armed = false;
        }
        if self.t2_armed && self.t2_underflow() <= tick {
            self.ifr |= INT_T2;
            self.t2_armed = false;
        }
        tick
    }

    fn t1_counter(&self, tick: u64) -> u16 {
        if tick == self.t1_last_underflow {
            0xffff
        } else {
            (self.t1_next_underflow - tick - 1) as u16
        }
    }

    /// T2 counts down through zero and keeps going; it interrupts once per load.
    fn t2_counter(&self, tick: u64) -> u16 {
        let elapsed = tick.wrapping_sub(self.t2_load_tick);
        (self.t2_load_count as u64).wrapping_sub(elapsed) as u16
    }

    fn t2_underflow(&self) -> u64 {
        self.t2_load_tick
            .saturating_add(self.t2_load_count as u64 + 1)
    }

    fn log_unwired_acr(&mut self, acr: u8) {
        if acr & ACR_T1_PB7 != 0 && self.logged & LOG_PB7 == 0 {
            self.logged |= LOG_PB7;
            tracing::warn!(target: "unimp", "via: T1 output on PB7 is not wired");
        }
        if acr & ACR_T2_PULSE_COUNT != 0 && self.logged & LOG_PULSE_COUNT == 0 {
            self.logged |= LOG_PULSE_COUNT;
            tracing::warn!(target: "unimp", "via: T2 pulse counting on PB6 is not wired; T2 counts time");
        }
    }
}

impl VmState for Via {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Via>> = LazyLock::new(|| {
            Vmsd::<Via>::builder("mos6522")
                .version(1)
                .minimum_version(1)
                .field("orb", |s| &s.orb, |s| &mut s.orb)
                .field("ora", |s| &s.ora, |s| &mut s.ora)
                .field("dirb", |s| &s.ddrb, |s| &mut s.ddrb)
                .field("dira", |s| &s.ddra, |s| &mut s.ddra)
                .field("ext_b", |s| &s.ext_b, |s| &mut s.ext_b)
                .field("sr", |s| &s.sr, |s| &mut s.sr)
                .field("acr", |s| &s.acr, |s| &mut s.acr)
                .field("pcr", |s| &s.pcr, |s| &mut s.pcr)
                .field("ifr", |s| &s.ifr, |s| &mut s.ifr)
                .field("ier", |s| &s.ier, |s| &mut s.ier)
                .field("t1_latch", |s| &s.t1_latch, |s| &mut s.t1_latch)
                .field(
                    "t1_next_underflow",
                    |s| &s.t1_next_underflow,
                    |s| &mut s.t1_next_underflow,
                )
                .field(
                    "t1_last_underflow",
                    |s| &s.t1_last_underflow,
                    |s| &mut s.t1_last_underflow,
                )
                .field("t1_armed", |s| &s.t1_armed, |s| &mut s.t1_armed)
                .field("t2_latch_lo", |s| &s.t2_latch_lo, |s| &mut s.t2_latch_lo)
                .field("t2_load_tick", |s| &s.t2_load_tick, |s| &mut s.t2_load_tick)
                .field(
                    "t2_load_count",
                    |s| &s.t2_load_count,
                    |s| &mut s.t2_load_count,
                )
                .field("t2_armed", |s| &s.t2_armed, |s| &mut s.t2_armed)
                .post_load(|s, _| {
                    if s.ifr & INT_ANY_OR_SET != 0 || s.ier & INT_ANY_OR_SET != 0 {
                        return Err(format!(
                            "IFR {:#04x} / IER {:#04x}: bit 7 is not stored",
                            s.ifr, s.ier
                        ));
                    }
                    if s.t1_last_underflow != NO_TICK && s.t1_last_underflow >= s.t1_next_underflow
                    {
                        return Err(format!(
                            "T1 last underflow {} is not before the next one {}",
                            s.t1_last_underflow, s.t1_next_underflow
                        ));
                    }
                    Ok(())
                })
                .build()
        });
        &V
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TB_FREQ: u64 = 16_600_000;

    fn tb_at(now_ns: u64) -> u64 {
        (now_ns as u128 * TB_FREQ as u128 / 1_000_000_000) as u64
    }

    #[test]
    fn tick_conversion_round_trips_to_the_first_ns_of_each_tick() {
        for tick in [0u64, 1, 2, 783_361, 47_002, 1 << 40] {
            let ns = ns_at_tick(tick);
            assert_eq!(ticks_at(ns), tick);
            if ns > 0 {
                assert_eq!(ticks_at(ns - 1), tick - 1);
            }
        }
    }

    #[test]
    fn tick_count_is_exact_past_the_fast_path() {
        for ns in [
            0u64,
            1 << 40,
            23_000_000_000_000,
            24_000_000_000_000,
            u64::MAX / 3,
            u64::MAX,
        ] {
            let exact = ns as u128 * VIA_TICKS_PER_SEC_Q24 / NS_PER_SEC_Q24;
            assert_eq!(ticks_at(ns) as u128, exact, "at {ns} ns");
        }
    }

    #[test]
    fn timer_rate_is_783361_hz() {
        assert_eq!(ticks_at(1_000_000_000), 783_361);
        assert_eq!(ticks_at(10_000_000_000), 7_833_614);
    }

    #[test]
    fn t1_one_shot_sets_ifr_once_after_count_plus_one_ticks() {
        let mut via = Via::new(0);
        let t0 = ns_at_tick(1000);
        via.write(REG_T1CL, 0x10, t0);
        via.write(REG_T1CH, 0x00, t0);
        assert_eq!(via.read(REG_T1CL, t0), 0x10);
        assert_eq!(via.read(REG_IFR, ns_at_tick(1000 + 0x10)) & INT_T1, 0);

        let fired = via.read(REG_IFR, ns_at_tick(1000 + 0x11));
        via.write(REG_IFR, INT_T1, ns_at_tick(1000 + 0x11));
        let later = via.read(REG_IFR, ns_at_tick(1000 + 0x11 + 5 * 0x12));

        assert_eq!(fired & INT_T1, INT_T1);
        assert_eq!(
            later & INT_T1,
            0,
            "one-shot mode interrupts once per T1CH write"
        );
    }

    #[test]
    fn t1_counter_reads_ffff_at_underflow_then_reloads_latch() {
        let mut via = Via::new(0);
        via.write(REG_ACR, ACR_T1_CONTINUOUS, 0);
        via.write(REG_T1LL, 5, 0);
        via.write(REG_T1CH, 0, 0);
        let base = ticks_at(0);

        let counts: Vec<u16> = (0..9)
            .map(|d| {
                let ns = ns_at_tick(base + d);
                let lo = via.read(REG_T1CL, ns) as u16;
                lo | (via.read(REG_T1CH, ns) as u16) << 8
            })
            .collect();

        assert_eq!(counts, [5, 4, 3, 2, 1, 0, 0xffff, 5, 4]);
    }

    #[test]
    fn t1_free_run_interrupts_every_latch_plus_two_ticks() {
        let mut via = Via::new(0);
        via.write(REG_ACR, ACR_T1_CONTINUOUS, 0);
        via.write(REG_IER, INT_ANY_OR_SET | INT_T1, 0);
        via.write(REG_T1LL, 100, 0);
        via.write(REG_T1CH, 0, 0);

        let first = via.next_deadline().expect("T1 enabled");
        via.run_timers(first);
        assert!(via.irq());
        via.read(REG_T1CL, first);
        let second = via.next_deadline().expect("free-run re-arms");

        assert_eq!(ticks_at(first), 101);
        assert_eq!(ticks_at(second) - ticks_at(first), 102);
        assert!(!via.irq());
    }

    #[test]
    fn calibration_like_linux_measures_the_timebase_at_16_6_mhz() {
        // Linux via_calibrate_decr: continuous T1, T1CH = 2, latch = 47000,
        // wait for T1, read the decrementer, clear, wait again, read again.
        let mut via = Via::new(0);
        let mut now = 5_000_000u64;
        let step = 10; // ns per emulated instruction
        let acr = via.read(REG_ACR, now);
        via.write(REG_ACR, acr | ACR_T1_CONTINUOUS, now);
        via.write(REG_T1CH, 2, now);
        via.write(REG_T1LL, (47_000u32 & 0xff) as u8, now);
        via.write(REG_T1LH, (47_000u32 >> 8) as u8, now);
        while via.read(REG_IFR, now) & INT_T1 == 0 {
            now += step;
        }
        let tb_start = tb_at(now);
        via.read(REG_T1CL, now);
        while via.read(REG_IFR, now) & INT_T1 == 0 {
            now += step;
        }
        let tb_end = tb_at(now);

        let tb_freq = (tb_end - tb_start) * 100 / 6;
        // One period is 47002 ticks of 783361.40 Hz: 996006.6 timebase ticks.
        assert!(
            (996_005..=996_008).contains(&(tb_end - tb_start)),
            "{}",
            tb_end - tb_start
        );
        assert!(tb_freq.abs_diff(TB_FREQ) < 200, "measured {tb_freq}");
    }

    #[test]
    fn t1_countdown_over_n_ns_matches_timebase_in_ratio() {
        let mut via = Via::new(0);
        via.write(REG_T1LL, 0xff, 0);
        via.write(REG_T1CH, 0xff, 0);
        let n = 50_000_000u64; // 50 ms

        let lo = via.read(REG_T1CL, n) as u64;
        let count = lo | (via.read(REG_T1CH, n) as u64) << 8;
        let via_ticks = 0xffff - count;

        // VIA ticks / timebase ticks = 783361.40 / 16.6e6.
        let expected = tb_at(n) as u128 * VIA_TICKS_PER_SEC_Q24 / ((TB_FREQ as u128) << 24);
        assert!(
            (via_ticks as i128 - expected as i128).abs() <= 1,
            "{via_ticks} vs {expected}"
        );
    }

    #[test]
    fn t2_one_shot_interrupts_once_and_keeps_counting_down() {
        let mut via = Via::new(0);
        via.write(REG_IER, INT_ANY_OR_SET | INT_T2, 0);
        via.write(REG_T2CL, 3, 0);
        via.write(REG_T2CH, 0, 0);

        let deadline = via.next_deadline().expect("T2 enabled");
        via.run_timers(deadline);
        let flagged = via.read(REG_IFR, deadline);
        let after_clear = via.read(REG_T2CL, deadline);
        let wrapped = via.read(REG_T2CH, ns_at_tick(ticks_at(deadline) + 10));

        assert_eq!(ticks_at(deadline), 4);
        assert_eq!(flagged, INT_T2 | INT_ANY_OR_SET);
        assert_eq!(after_clear, 0xff);
        assert_eq!(wrapped, 0xff);
        assert_eq!(via.next_deadline(), None, "T2 interrupts once per load");
    }

    #[test]
    fn ier_bit7_selects_set_or_clear_and_reads_back_set() {
        let mut via = Via::new(0);
        via.write(REG_IER, INT_ANY_OR_SET | INT_SR | INT_T1, 0);
        via.write(REG_IER, INT_T1, 0);

        assert_eq!(via.read(REG_IER, 0), INT_ANY_OR_SET | INT_SR);
    }

    #[test]
    fn ifr_bit7_reflects_enabled_flags_only() {
        let mut via = Via::new(0);
        via.raise_sr_int();
        let disabled = via.read(REG_IFR, 0);
        via.write(REG_IER, INT_ANY_OR_SET | INT_SR, 0);
        let enabled = via.read(REG_IFR, 0);

        assert_eq!(disabled, INT_SR);
        assert_eq!(enabled, INT_SR | INT_ANY_OR_SET);
        assert!(via.irq());
    }

    #[test]
    fn ifr_write_clears_only_the_written_ones() {
        let mut via = Via::new(0);
        via.raise_sr_int();
        via.write(REG_T1CH, 0, 0);
        via.run_timers(ns_at_tick(ticks_at(0) + 0x1_0000 + 2));
        via.write(REG_IFR, INT_ANY_OR_SET | INT_SR, ns_at_tick(0x1_0002));

        assert_eq!(via.read(REG_IFR, ns_at_tick(0x1_0002)), INT_T1);
    }

    #[test]
    fn sr_access_clears_the_shift_flag() {
        let mut via = Via::new(0);
        via.raise_sr_int();
        via.read(REG_SR, 0);
        let after_read = via.read(REG_IFR, 0);
        via.raise_sr_int();
        via.write(REG_SR, 0x42, 0);

        assert_eq!(after_read, 0);
        assert_eq!(via.read(REG_IFR, 0), 0);
        assert_eq!(via.shift_register(), 0x42);
    }

    #[test]
    fn port_b_reads_controller_lines_and_host_outputs() {
        let mut via = Via::new(0x08);
        via.write(REG_DDRB, 0x30, 0);
        via.write(REG_B, 0x10, 0);
        via.set_port_b_input(0x00);

        assert_eq!(via.read(REG_B, 0), 0x10 | 0xc7 & !0x08);
        assert_eq!(via.port_b_output() & 0x30, 0x10);
    }

    #[test]
    fn ddrb_resets_to_all_outputs_as_qemu() {
        let mut via = Via::new(0x08);
        via.write(REG_B, 0x20, 0);

        assert_eq!(via.read(REG_DDRB, 0), 0xff);
        assert_eq!(via.read(REG_B, 0), 0x28, "TREQ comes from the controller");
    }

    #[test]
    fn via_state_roundtrips_mid_countdown() {
        let mut via = Via::new(0x08);
        savevm::testing::assert_roundtrip(&mut via);
        savevm::testing::assert_mutated_roundtrip(&mut via, |v| {
            v.write(REG_ACR, ACR_T1_CONTINUOUS | ACR_SR_OUT, 1_000);
            v.write(REG_T1LL, 0x34, 1_000);
            v.write(REG_T1CH, 0x12, 1_000);
            v.write(REG_T2CL, 9, 1_000);
            v.write(REG_T2CH, 0, 1_000);
            v.write(REG_IER, INT_ANY_OR_SET | INT_SR, 1_000);
            v.set_port_b_input(0xf7);
        });
    }

    #[test]
    fn loaded_via_counts_on_from_where_it_was_saved() {
        let mut via = Via::new(0);
        via.write(REG_T1LL, 0x00, 0);
        via.write(REG_T1CH, 0x10, 0);
        let bytes = savevm::save_bytes(&mut via);
        let mut loaded = Via::new(0);

        savevm::load_bytes(&mut loaded, &bytes).expect("loads");

        let now = 1_000_000;
        assert_eq!(loaded.read(REG_T1CH, now), via.read(REG_T1CH, now));
        assert_eq!(loaded.read(REG_T1CL, now), via.read(REG_T1CL, now));
    }

    #[test]
    fn via_load_rejects_bit7_in_ifr() {
        let mut via = Via::new(0);
        via.ifr = 0x84;
        let bytes = savevm::save_bytes(&mut via);

        assert!(savevm::load_bytes(&mut Via::new(0), &bytes).is_err());
    }
}
