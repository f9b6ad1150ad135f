//! The CUDA system controller behind the VIA at macio+0x16000: the host
//! handshake, pseudo-commands (RTC, autopoll, power) and the ADB transport.
//!
//! Sources: QEMU 7.2 `hw/misc/macio/cuda.c`, Linux `drivers/macintosh/via-cuda.c`
//! and OpenBIOS `drivers/cuda.c`.
//!
//! # The handshake
//! Port B carries three active-low lines: TIP (host: transfer in progress), TACK
//! (host: byte acknowledged) and TREQ (CUDA: "I have data"). Every edge of TIP or
//! TACK moves one byte through the shift register, and the CUDA answers each one
//! with the SR flag in IFR, [`SR_INT_DELAY_NS`] later. OpenBIOS spins on that
//! flag with no timeout, so the flag is the heart of this file.
//!
//! - Host to CUDA: the host sets ACR to shift out, writes SR, asserts TIP (first
//!   byte) or toggles TACK (next bytes). Negating TIP ends the packet.
//! - CUDA to host: the CUDA asserts TREQ when it has a packet; the host asserts
//!   TIP and then toggles TACK, reading one byte per SR interrupt. TREQ negates
//!   as the last byte is loaded.
//! - With TIP negated, a TACK edge is a sync: TREQ follows TACK (Linux's
//!   `cuda_init_via`).
//!
//! # Differences from QEMU 7.2, on purpose
//! - A TALK reply keeps the command byte, `00 00 cmd data…`, as real CUDAs and
//!   DingusPPC do and as Linux's `via-cuda.c` expects (QEMU omits it, so Linux
//!   reads handler ids one byte off). OpenBIOS accepts both layouts.
//! - A TALK with nothing to say is a bus timeout (`00 02 cmd`), as on hardware.
//! - Autopoll never overwrites a reply the host has not read yet, and a byte the
//!   host shifts in while TREQ is asserted is dropped (a collision, which Linux
//!   detects and retries) instead of being taken as a packet.
//! - GET_AUTO_RATE and GET_DEVICE_LIST answer as on hardware; QEMU reports them
//!   as unknown. Packet types other than ADB and CUDA get an error packet rather
//!   than no reply at all.
//! - A host packet longer than the 16-byte buffer is still acknowledged byte by
//!   byte (QEMU stops raising SR there, which hangs the host); the excess is lost.

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

use crate::adb::{AdbBus, AdbReply, MAX_REPLY};
use crate::via::{self, Via};

// Port B lines, all active low.
/// CUDA to host: a packet is waiting (input on the host side).
pub const TREQ: u8 = 0x08;
/// Host to CUDA: byte acknowledged.
pub const TACK: u8 = 0x10;
/// Host to CUDA: transfer in progress.
pub const TIP: u8 = 0x20;

// Packet types (first byte).
pub const PKT_ADB: u8 = 0x00;
pub const PKT_CUDA: u8 = 0x01;
pub const PKT_ERROR: u8 = 0x02;

// CUDA pseudo-commands (second byte of a PKT_CUDA packet).
pub const CMD_AUTOPOLL: u8 = 0x01;
pub const CMD_GET_TIME: u8 = 0x03;
pub const CMD_GET_PRAM: u8 = 0x07;
pub const CMD_SET_TIME: u8 = 0x09;
pub const CMD_POWERDOWN: u8 = 0x0a;
pub const CMD_SET_PRAM: u8 = 0x0c;
pub const CMD_RESET_SYSTEM: u8 = 0x11;
pub const CMD_FILE_SERVER_FLAG: u8 = 0x13;
pub const CMD_SET_AUTO_RATE: u8 = 0x14;
pub const CMD_GET_AUTO_RATE: u8 = 0x16;
pub const CMD_SET_DEVICE_LIST: u8 = 0x19;
pub const CMD_GET_DEVICE_LIST: u8 = 0x1a;
pub const CMD_SET_POWER_MESSAGES: u8 = 0x21;

// Second byte of an ADB reply.
pub const ADB_FLAG_TIMEOUT: u8 = 0x02;
pub const ADB_FLAG_AUTOPOLL: u8 = 0x40;

// Second byte of an error packet.
pub const ERR_BAD_PACKET: u8 = 0x01;
pub const ERR_UNKNOWN_COMMAND: u8 = 0x02;
pub const ERR_BAD_PARAMETERS: u8 = 0x05;

/// Seconds from 1904-01-01 (the CUDA clock's epoch) to 1970-01-01.
pub const RTC_OFFSET: u32 = 2_082_844_800;
/// Delay from a handshake edge to the SR flag (QEMU's `sr_delay_ns`).
pub const SR_INT_DELAY_NS: u64 = 20_000;
/// Autopoll period at reset, in milliseconds (QEMU's `autopoll_rate_ms`).
pub const DEFAULT_AUTOPOLL_RATE_MS: u8 = 20;

const BUF_LEN: usize = 16;
const NS_PER_SEC: u64 = 1_000_000_000;

// Bits of `Cuda::logged`: each odd guest behaviour is reported once.
const LOG_ACCESS_SIZE: u8 = 0x01;
const LOG_BAD_PACKET: u8 = 0x02;
const LOG_UNKNOWN_COMMAND: u8 = 0x04;
const LOG_OVERFLOW: u8 = 0x08;

/// What the guest asked the machine to do; the board polls [`Cuda::take_power_request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerRequest {
    PowerOff,
    Reset,
}

/// The CUDA and its VIA, with the ADB devices behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cuda {
    pub(crate) via: Via,
    pub adb: AdbBus,
    /// Port-B lines as the host drove them at its previous port-B write.
    pub(crate) last_b: u8,
    /// The packet the host is sending.
    pub(crate) out_buf: [u8; BUF_LEN],
    pub(crate) out_len: u8,
    /// The packet for the host, and how much of it the host has read.
    pub(crate) in_buf: [u8; BUF_LEN],
    pub(crate) in_len: u8,
    pub(crate) in_pos: u8,
    pub(crate) sr_int_pending: bool,
    pub(crate) sr_int_at: u64,
    pub(crate) autopoll: bool,
    pub(crate) autopoll_rate_ms: u8,
    /// Bit n set: autopoll ADB address n.
    pub(crate) autopoll_mask: u16,
    /// The next autopoll instant; polls fall on a grid of the rate from enabling.
    pub(crate) autopoll_next_ns: u64,
    /// The clock, in seconds since 1904, at virtual time 0.
    pub(crate) rtc_offset: u32,
    power_request: Option<PowerRequest>,
    logged: u8,
}

impl Default for Cuda {
    fn default() -> Self {
        Cuda::new(0)
    }
}

impl Cuda {
    /// A CUDA whose clock reads `rtc_base_unix` (seconds since 1970, from `-rtc
    /// base=`) at virtual time 0 and advances with virtual time.
    pub fn new(rtc_base_unix: i64) -> Cuda {
        let via = Via::new(TREQ);
        Cuda {
            last_b: via.port_b_output(),
            via,
            adb: AdbBus::new(),
            out_buf: [0; BUF_LEN],
            out_len: 0,
            in_buf: [0; BUF_LEN],
            in_len: 0,
            in_pos: 0,
            sr_int_pending: false,
            sr_int_at: 0,
            autopoll: false,
            autopoll_rate_ms: DEFAULT_AUTOPOLL_RATE_MS,
            autopoll_mask: 0xffff,
            autopoll_next_ns: 0,
            // The clock is 32 bits of seconds; it wraps in 2040 as on hardware.
            rtc_offset: (rtc_base_unix as u32).wrapping_add(RTC_OFFSET),
            power_request: None,
            logged: 0,
        }
    }

    /// System reset: the VIA, the transfer state, autopoll and the ADB devices.
    /// The clock keeps running.
    pub fn reset(&mut self, now_ns: u64) {
        let rtc_offset = self.rtc_offset;
        let logged = self.logged;
        *self = Cuda::new(0);
        self.via.reset(now_ns);
        self.last_b = self.via.port_b_output();
        self.rtc_offset = rtc_offset;
        self.logged = logged;
    }

    /// A guest read in the 8 KB window; registers repeat every 0x200 bytes.
    pub fn read(&mut self, offset: u32, size: u32, now_ns: u64) -> u32 {
        if size != 1 {
            self.log_access_size(offset, size);
            return 0;
        }
        self.run_timers(now_ns);
        self.via.read(register(offset), now_ns) as u32
    }

    /// A guest write in the 8 KB window.
    pub fn write(&mut self, offset: u32, size: u32, value: u32, now_ns: u64) {
        if size != 1 {
            self.log_access_size(offset, size);
            return;
        }
        self.run_timers(now_ns);
        let reg = register(offset);
        self.via.write(reg, value as u8, now_ns);
        if reg == via::REG_B {
            self.port_b_changed(now_ns);
        }
    }

    /// The interrupt output (PIC line 0x12).
    pub fn irq(&self) -> bool {
        self.via.irq()
    }

    /// The next instant something changes without a guest access.
    pub fn next_deadline(&self) -> Option<u64> {
        let sr = self.sr_int_pending.then_some(self.sr_int_at);
        let poll = (self.autopoll && self.adb.has_pending(self.autopoll_mask))
            .then_some(self.autopoll_next_ns);
        [self.via.next_deadline(), sr, poll]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs everything due at or before `now_ns`.
    pub fn run_timers(&mut self, now_ns: u64) {
        self.via.run_timers(now_ns);
        if self.sr_int_pending && self.sr_int_at <= now_ns {
            self.sr_int_pending = false;
            self.via.raise_sr_int();
        }
        if self.autopoll && self.autopoll_next_ns <= now_ns {
            self.autopoll_tick(now_ns);
        }
    }

    /// Whether `take_power_request` has one.
    pub fn power_requested(&self) -> bool {
        self.power_request.is_some()
    }

    /// A POWERDOWN or RESET_SYSTEM the guest sent since the last call.
    pub fn take_power_request(&mut self) -> Option<PowerRequest> {
        self.power_request.take()
    }

    /// Host keyboard input: an ADB key code (see [`crate::adb::keys`]).
    pub fn key_event(&mut self, adb_code: u8, down: bool) {
        self.adb.key_event(adb_code, down);
    }

    /// Host mouse input: relative motion (right, down positive) and buttons.
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8) {
        self.adb.mouse_event(dx, dy, buttons);
    }

    /// The clock in seconds since 1904 at `now_ns`.
    pub fn rtc_seconds(&self, now_ns: u64) -> u32 {
        self.rtc_offset.wrapping_add((now_ns / NS_PER_SEC) as u32)
    }

    fn has_data_for_host(&self) -> bool {
        self.in_pos < self.in_len
    }

    fn set_treq(&mut self, asserted: bool) {
        self.via
            .set_port_b_input(if asserted { !TREQ } else { 0xff });
    }

    fn schedule_sr_int(&mut self, now_ns: u64) {
        self.sr_int_pending = true;
        self.sr_int_at = now_ns.saturating_add(SR_INT_DELAY_NS);
    }

    /// The host wrote port B: move a byte, end a packet or answer a sync.
    fn port_b_changed(&mut self, now_ns: u64) {
        let b = self.via.port_b_output();
        let tip_asserted = b & TIP == 0;
        let tip_was_asserted = self.last_b & TIP == 0;
        let edge = (b ^ self.last_b) & (TIP | TACK) != 0;
        let mut packet_done = false;

        if tip_asserted {
            if self.via.acr() & via::ACR_SR_OUT != 0 {
                if edge {
                    self.take_host_byte();
                    self.schedule_sr_int(now_ns);
                }
            } else if edge && self.has_data_for_host() {
                self.via
                    .load_shift_register(self.in_buf[self.in_pos as usize]);
                self.in_pos += 1;
                if !self.has_data_for_host() {
                    self.set_treq(false);
                }
                self.schedule_sr_int(now_ns);
            }
        } else if !tip_was_asserted && (b ^ self.last_b) & TACK != 0 {
            // Sync: TREQ follows TACK.
            self.set_treq(b & TACK == 0);
            self.schedule_sr_int(now_ns);
        } else {
            if tip_was_asserted {
                // End of a transfer, whichever way it went: always an interrupt.
                packet_done = self.out_len > 0;
                self.schedule_sr_int(now_ns);
            }
            if self.has_data_for_host() {
                self.set_treq(true);
            }
        }
        self.last_b = b;

        if packet_done {
            let len = self.out_len as usize;
            self.out_len = 0;
            let packet = self.out_buf;
            self.handle_packet(&packet[..len], now_ns);
        }
    }

    fn take_host_byte(&mut self) {
        if self.has_data_for_host() {
            // Collision: the host must read our packet first. It sees TREQ and retries.
            return;
        }
        if (self.out_len as usize) < BUF_LEN {
            self.out_buf[self.out_len as usize] = self.via.shift_register();
            self.out_len += 1;
        } else if self.logged & LOG_OVERFLOW == 0 {
            self.logged |= LOG_OVERFLOW;
            tracing::warn!(target: "guest_errors", "cuda: host packet longer than {BUF_LEN} bytes");
        }
    }

    /// Queues a packet for the host and raises TREQ if the host is idle.
    fn send_to_host(&mut self, packet: &[u8], now_ns: u64) {
        let len = packet.len().min(BUF_LEN);
        self.in_buf[..len].copy_from_slice(&packet[..len]);
        self.in_len = len as u8;
        self.in_pos = 0;
        if self.last_b & TIP != 0 && len > 0 {
            self.set_treq(true);
        }
        self.schedule_sr_int(now_ns);
    }

    fn handle_packet(&mut self, packet: &[u8], now_ns: u64) {
        match packet {
            [PKT_ADB, cmd, data @ ..] => {
                let mut out = [0u8; 3 + MAX_REPLY];
                let mut adb_packet = [0u8; BUF_LEN];
                adb_packet[0] = *cmd;
                adb_packet[1..=data.len()].copy_from_slice(data);
                let mut data_out = [0u8; MAX_REPLY];
                let len = match self.adb.request(&adb_packet[..=data.len()], &mut data_out) {
                    AdbReply::Ok(n) => {
                        out[..3].copy_from_slice(&[PKT_ADB, 0, *cmd]);
                        out[3..3 + n].copy_from_slice(&data_out[..n]);
                        3 + n
                    }
                    AdbReply::Timeout => {
                        out[..3].copy_from_slice(&[PKT_ADB, ADB_FLAG_TIMEOUT, *cmd]);
                        3
                    }
                };
                self.send_to_host(&out[..len], now_ns);
            }
            [PKT_CUDA, cmd, args @ ..] => self.cuda_command(*cmd, args, now_ns),
            [kind, ..] => {
                if self.logged & LOG_BAD_PACKET == 0 {
                    self.logged |= LOG_BAD_PACKET;
                    tracing::warn!(target: "guest_errors", "cuda: packet {packet:02x?} has no command");
                }
                self.send_to_host(&[PKT_ERROR, ERR_BAD_PACKET, *kind], now_ns);
            }
            [] => {}
        }
    }

    fn cuda_command(&mut self, cmd: u8, args: &[u8], now_ns: u64) {
        let mut reply = [0u8; 3 + 4];
        reply[..3].copy_from_slice(&[PKT_CUDA, 0, cmd]);
        let result: Result<usize, u8> = match (cmd, args) {
            (CMD_AUTOPOLL, [on]) => {
                let on = *on != 0;
                if on && !self.autopoll {
                    self.autopoll_next_ns = now_ns.saturating_add(self.autopoll_period_ns());
                }
                self.autopoll = on;
                Ok(0)
            }
            (CMD_SET_AUTO_RATE, [ms]) if *ms != 0 => {
                self.autopoll_rate_ms = *ms;
                if self.autopoll {
                    self.autopoll_next_ns = now_ns.saturating_add(self.autopoll_period_ns());
                }
                Ok(0)
            }
            (CMD_GET_AUTO_RATE, []) => {
                reply[3] = self.autopoll_rate_ms;
                Ok(1)
            }
            (CMD_SET_DEVICE_LIST, [hi, lo]) => {
                self.autopoll_mask = u16::from_be_bytes([*hi, *lo]);
                Ok(0)
            }
            (CMD_GET_DEVICE_LIST, []) => {
                reply[3..5].copy_from_slice(&self.autopoll_mask.to_be_bytes());
                Ok(2)
            }
            (CMD_GET_TIME, []) => {
                reply[3..7].copy_from_slice(&self.rtc_seconds(now_ns).to_be_bytes());
                Ok(4)
            }
            (CMD_SET_TIME, [a, b, c, d]) => {
                let t = u32::from_be_bytes([*a, *b, *c, *d]);
                self.rtc_offset = t.wrapping_sub((now_ns / NS_PER_SEC) as u32);
                Ok(0)
            }
            (CMD_POWERDOWN, []) => {
                self.power_request = Some(PowerRequest::PowerOff);
                Ok(0)
            }
            (CMD_RESET_SYSTEM, []) => {
                self.power_request = Some(PowerRequest::Reset);
                Ok(0)
            }
            // Accepted and ignored, as QEMU does.
            (CMD_FILE_SERVER_FLAG | CMD_SET_POWER_MESSAGES, [_]) => Ok(0),
            (
                CMD_AUTOPOLL
                | CMD_SET_AUTO_RATE
                | CMD_GET_AUTO_RATE
                | CMD_SET_DEVICE_LIST
                | CMD_GET_DEVICE_LIST
                | CMD_GET_TIME
                | CMD_SET_TIME
                | CMD_POWERDOWN
                | CMD_RESET_SYSTEM
                | CMD_FILE_SERVER_FLAG
                | CMD_SET_POWER_MESSAGES,
                _,
            ) => Err(ERR_BAD_PARAMETERS),
            _ => {
                if self.logged & LOG_UNKNOWN_COMMAND == 0 {
                    self.logged |= LOG_UNKNOWN_COMMAND;
                    tracing::warn!(target: "unimp", "cuda: unknown command {cmd:#04x}");
                }
                Err(ERR_UNKNOWN_COMMAND)
            }
        };
        match result {
            Ok(n) => self.send_to_host(&reply[..3 + n], now_ns),
            Err(code) => self.send_to_host(&[PKT_ERROR, code, PKT_CUDA, cmd], now_ns),
        }
    }

    fn autopoll_period_ns(&self) -> u64 {
        u64::from(self.autopoll_rate_ms.max(1)) * 1_000_000
    }

    /// One autopoll instant: deliver pending ADB data if the host is idle, then
    /// move to the next grid point after `now_ns`.
    fn autopoll_tick(&mut self, now_ns: u64) {
        let host_idle = self.last_b & TIP != 0 && self.out_len == 0 && !self.has_data_for_host();
        if host_idle {
            let mut data = [0u8; MAX_REPLY];
            if let Some((cmd, len)) = self.adb.poll(self.autopoll_mask, &mut data) {
                let mut packet = [0u8; 3 + MAX_REPLY];
                packet[..3].copy_from_slice(&[PKT_ADB, ADB_FLAG_AUTOPOLL, cmd]);
                packet[3..3 + len].copy_from_slice(&data[..len]);
                self.send_to_host(&packet[..3 + len], now_ns);
            }
        }
        let period = self.autopoll_period_ns();
        let missed = (now_ns - self.autopoll_next_ns) / period;
        self.autopoll_next_ns += (missed + 1) * period;
    }

    fn log_access_size(&mut self, offset: u32, size: u32) {
        if self.logged & LOG_ACCESS_SIZE == 0 {
            self.logged |= LOG_ACCESS_SIZE;
            tracing::warn!(
                target: "guest_errors",
                "cuda: {size}-byte access at {offset:#x}; the VIA takes bytes only (reads 0)"
            );
        }
    }
}

/// The VIA register an offset in the CUDA window selects.
fn register(offset: u32) -> u8 {
    ((offset >> 9) & 0xf) as u8
}

impl VmState for Cuda {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Cuda>> = LazyLock::new(|| {
            Vmsd::<Cuda>::builder("cuda")
                .version(1)
                .minimum_version(1)
                .struct_field("mos6522", |s| &s.via, |s| &mut s.via)
                .field("last_b", |s| &s.last_b, |s| &mut s.last_b)
                .field("data_out", |s| &s.out_buf, |s| &mut s.out_buf)
                .field("data_out_index", |s| &s.out_len, |s| &mut s.out_len)
                .field("data_in", |s| &s.in_buf, |s| &mut s.in_buf)
                .field("data_in_size", |s| &s.in_len, |s| &mut s.in_len)
                .field("data_in_index", |s| &s.in_pos, |s| &mut s.in_pos)
                .field(
                    "sr_int_pending",
                    |s| &s.sr_int_pending,
                    |s| &mut s.sr_int_pending,
                )
                .field("sr_int_at", |s| &s.sr_int_at, |s| &mut s.sr_int_at)
                .field("autopoll", |s| &s.autopoll, |s| &mut s.autopoll)
                .field(
                    "autopoll_rate_ms",
                    |s| &s.autopoll_rate_ms,
                    |s| &mut s.autopoll_rate_ms,
                )
                .field(
                    "adb_poll_mask",
                    |s| &s.autopoll_mask,
                    |s| &mut s.autopoll_mask,
                )
                .field(
                    "autopoll_next_ns",
                    |s| &s.autopoll_next_ns,
                    |s| &mut s.autopoll_next_ns,
                )
                .field("tick_offset", |s| &s.rtc_offset, |s| &mut s.rtc_offset)
                .struct_field("adb", |s| &s.adb, |s| &mut s.adb)
                .post_load(|s, _| {
                    if s.out_len as usize > BUF_LEN {
                        return Err(format!("data_out_index {} > {BUF_LEN}", s.out_len));
                    }
                    if s.in_len as usize > BUF_LEN || s.in_pos > s.in_len {
                        return Err(format!(
                            "data_in_index {} / data_in_size {} outside {BUF_LEN}",
                            s.in_pos, s.in_len
                        ));
                    }
                    if s.autopoll_rate_ms == 0 {
                        return Err("autopoll_rate_ms is 0".into());
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
    use crate::adb::{self, keys};
    use crate::via::{ACR_SR_OUT, INT_SR, REG_ACR, REG_B, REG_DDRB, REG_IER, REG_IFR, REG_SR};

    const RS: u32 = 0x200;
    /// Virtual time per guest access, like a CPU at 10 ns per instruction.
    const ACCESS_NS: u64 = 40;
    const SPIN_LIMIT: u32 = 1_000_000;

    /// A guest CPU talking to the CUDA through MMIO, with a board that runs the
    /// CUDA's timers at their deadlines.
    struct Guest {
        cuda: Cuda,
        now: u64,
    }

    impl Guest {
        fn new(cuda: Cuda) -> Guest {
            Guest {
                cuda,
                now: 1_000_000,
            }
        }

        fn tick(&mut self) {
            self.now += ACCESS_NS;
            if self.cuda.next_deadline().is_some_and(|d| d <= self.now) {
                self.cuda.run_timers(self.now);
            }
        }

        fn rd(&mut self, reg: u8) -> u8 {
            self.tick();
            self.cuda.read(reg as u32 * RS, 1, self.now) as u8
        }

        fn wr(&mut self, reg: u8, value: u8) {
            self.tick();
            self.cuda.write(reg as u32 * RS, 1, value as u32, self.now);
        }

        /// Jumps virtual time as an idle guest would, running timers on the way.
        fn idle_until(&mut self, t: u64) {
            while let Some(d) = self.cuda.next_deadline().filter(|&d| d <= t) {
                self.now = self.now.max(d);
                self.cuda.run_timers(self.now);
            }
            self.now = self.now.max(t);
            self.cuda.run_timers(self.now);
        }

        // --- OpenBIOS drivers/cuda.c, step for step ---

        fn ob_init(&mut self) {
            let b = self.rd(REG_B);
            self.wr(REG_B, b | TREQ | TIP);
        }

        fn ob_wait_irq(&mut self) {
            for _ in 0..SPIN_LIMIT {
                let v = self.rd(REG_IFR);
                self.wr(REG_IFR, v & 0x7f);
                if v & INT_SR != 0 {
                    return;
                }
            }
            panic!("OpenBIOS would spin forever waiting for SR");
        }

        fn ob_request(&mut self, pkt_type: u8, buf: &[u8]) -> Vec<u8> {
            let acr = self.rd(REG_ACR);
            self.wr(REG_ACR, acr | ACR_SR_OUT);
            self.wr(REG_SR, pkt_type);
            let b = self.rd(REG_B);
            self.wr(REG_B, b & !TIP);
            for &byte in buf {
                self.ob_wait_irq();
                self.wr(REG_SR, byte);
                let b = self.rd(REG_B);
                self.wr(REG_B, b ^ TACK);
            }
            self.ob_wait_irq();
            let acr = self.rd(REG_ACR);
            self.wr(REG_ACR, acr & !ACR_SR_OUT);
            self.rd(REG_SR);
            let b = self.rd(REG_B);
            self.wr(REG_B, b | TIP | TACK);

            let mut obuf = Vec::new();
            self.ob_wait_irq();
            self.rd(REG_SR);
            let b = self.rd(REG_B);
            self.wr(REG_B, b & !TIP);
            loop {
                self.ob_wait_irq();
                let v = self.rd(REG_SR);
                if obuf.len() < 16 {
                    obuf.push(v);
                }
                if self.rd(REG_B) & TREQ != 0 {
                    break;
                }
                let b = self.rd(REG_B);
                self.wr(REG_B, b ^ TACK);
            }
            let b = self.rd(REG_B);
            self.wr(REG_B, b | TIP | TACK);
            self.ob_wait_irq();
            self.rd(REG_SR);
            obuf
        }

        /// OpenBIOS `cuda_adb_req`: what its ADB layer sees of a reply.
        fn ob_adb_req(&mut self, snd: &[u8]) -> Vec<u8> {
            let buffer = self.ob_request(PKT_ADB, snd);
            if buffer.len() > 1 && buffer[0] == PKT_ADB {
                if buffer.len() > 2 && buffer[2] == snd[0] {
                    buffer[3..].to_vec()
                } else {
                    buffer[2..].to_vec()
                }
            } else {
                buffer.get(1..).unwrap_or_default().to_vec()
            }
        }
    }

    /// Linux `via-cuda.c` on a PowerMac: its init handshake, then its
    /// interrupt-driven state machine.
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    enum LinuxState {
        Idle,
        SentFirstByte,
        Sending,
        AwaitingReply,
        Reading,
        ReadDone,
    }

    struct Linux {
        g: Guest,
        state: LinuxState,
        request: Vec<u8>,
        data_index: usize,
        reading_reply: bool,
        buf: Vec<u8>,
        replies: Vec<Vec<u8>>,
        unsolicited: Vec<Vec<u8>>,
        queue: Vec<Vec<u8>>,
    }

    impl Linux {
        fn boot(cuda: Cuda) -> Linux {
            let mut l = Linux {
                g: Guest::new(cuda),
                state: LinuxState::Idle,
                request: Vec::new(),
                data_index: 0,
                reading_reply: false,
                buf: Vec::new(),
                replies: Vec::new(),
                unsolicited: Vec::new(),
                queue: Vec::new(),
            };
            l.init_via();
            l
        }

        fn wait_for(&mut self, what: &str, cond: impl Fn(&mut Guest) -> bool) {
            for _ in 0..SPIN_LIMIT {
                if cond(&mut self.g) {
                    return;
                }
            }
            panic!("Linux timed out: {what}");
        }

        fn init_via(&mut self) {
            let g = &mut self.g;
            let d = g.rd(REG_DDRB);
            g.wr(REG_DDRB, (d | TACK | TIP) & !TREQ);
            let b = g.rd(REG_B);
            g.wr(REG_B, b | TACK | TIP);
            let acr = g.rd(REG_ACR);
            g.wr(REG_ACR, (acr & !via::ACR_SR_MASK) | 0x0c);
            g.rd(REG_SR);
            g.wr(REG_IER, 0x7f);
            g.idle_until(g.now + 4_000_000);
            g.rd(REG_SR);
            g.wr(REG_IFR, INT_SR);
            let b = g.rd(REG_B);
            g.wr(REG_B, b & !TACK);
            self.wait_for("sync 1", |g| g.rd(REG_B) & TREQ == 0);
            self.wait_for("sync 2", |g| g.rd(REG_IFR) & INT_SR != 0);
            let g = &mut self.g;
            g.rd(REG_SR);
            g.wr(REG_IFR, INT_SR);
            let b = g.rd(REG_B);
            g.wr(REG_B, b | TACK);
            self.wait_for("sync 3", |g| g.rd(REG_B) & TREQ != 0);
            self.wait_for("sync 4", |g| g.rd(REG_IFR) & INT_SR != 0);
            let g = &mut self.g;
            g.rd(REG_SR);
            g.wr(REG_IFR, INT_SR);
            let b = g.rd(REG_B);
            g.wr(REG_B, b | TIP);
            // pmac: the handler is on the VIA line; only SR is enabled.
            g.wr(REG_IER, via::INT_ANY_OR_SET | INT_SR);
        }

        fn start(&mut self) {
            if self.state != LinuxState::Idle || self.queue.is_empty() {
                return;
            }
            if self.g.rd(REG_B) & TREQ == 0 {
                return; // a byte is coming in from the CUDA
            }
            self.request = self.queue.remove(0);
            let acr = self.g.rd(REG_ACR);
            self.g.wr(REG_ACR, acr | ACR_SR_OUT);
            self.g.wr(REG_SR, self.request[0]);
            let b = self.g.rd(REG_B);
            self.g.wr(REG_B, b & !TIP);
            self.state = LinuxState::SentFirstByte;
        }

        /// Linux 6.1 `cuda_interrupt` (PowerMac, not Egret).
        fn interrupt(&mut self) {
            let g = &mut self.g;
            if g.rd(REG_IFR) & INT_SR == 0 {
                return;
            }
            g.wr(REG_IFR, INT_SR);
            let status = g.rd(REG_B) & (TIP | TACK | TREQ);
            let treq_asserted = status & TREQ == 0;
            match self.state {
                LinuxState::Idle | LinuxState::AwaitingReply => {
                    self.reading_reply = self.state == LinuxState::AwaitingReply;
                    g.rd(REG_SR);
                    let b = g.rd(REG_B);
                    g.wr(REG_B, b & !TIP);
                    self.buf.clear();
                    self.state = LinuxState::Reading;
                }
                LinuxState::SentFirstByte if treq_asserted => {
                    // Collision: back off, read the CUDA's packet, retry later.
                    let acr = g.rd(REG_ACR);
                    g.wr(REG_ACR, acr & !ACR_SR_OUT);
                    g.rd(REG_SR);
                    let b = g.rd(REG_B);
                    g.wr(REG_B, b | TIP | TACK);
                    self.queue.insert(0, self.request.clone());
                    self.state = LinuxState::Idle;
                }
                LinuxState::SentFirstByte | LinuxState::Sending => {
                    if self.state == LinuxState::SentFirstByte {
                        self.state = LinuxState::Sending;
                        g.wr(REG_SR, self.request[1]);
                        self.data_index = 2;
                        let b = g.rd(REG_B);
                        g.wr(REG_B, b ^ TACK);
                    } else if self.data_index >= self.request.len() {
                        let acr = g.rd(REG_ACR);
                        g.wr(REG_ACR, acr & !ACR_SR_OUT);
                        g.rd(REG_SR);
                        let b = g.rd(REG_B);
                        g.wr(REG_B, b | TACK | TIP);
                        self.state = LinuxState::AwaitingReply;
                    } else {
                        g.wr(REG_SR, self.request[self.data_index]);
                        self.data_index += 1;
                        let b = g.rd(REG_B);
                        g.wr(REG_B, b ^ TACK);
                    }
                }
                LinuxState::Reading => {
                    let v = g.rd(REG_SR);
                    self.buf.push(v);
                    if !treq_asserted || self.buf.len() == 16 {
                        let b = g.rd(REG_B);
                        g.wr(REG_B, b | TACK | TIP);
                        self.state = LinuxState::ReadDone;
                    } else {
                        let b = g.rd(REG_B);
                        g.wr(REG_B, b ^ TACK);
                    }
                }
                LinuxState::ReadDone => {
                    g.rd(REG_SR);
                    let packet = std::mem::take(&mut self.buf);
                    if self.reading_reply {
                        self.replies.push(packet);
                    } else {
                        self.unsolicited.push(packet);
                    }
                    self.reading_reply = false;
                    self.state = LinuxState::Idle;
                    self.start();
                    if self.state == LinuxState::Idle && self.g.rd(REG_B) & TREQ == 0 {
                        let b = self.g.rd(REG_B);
                        self.g.wr(REG_B, b & !TIP);
                        self.state = LinuxState::Reading;
                    }
                }
            }
        }

        /// Runs the guest until `until_ns`: interrupts when the line is up, else idle.
        fn run_until(&mut self, until_ns: u64) {
            while self.g.now < until_ns {
                if self.g.cuda.irq() {
                    self.interrupt();
                } else {
                    self.start();
                    let next = self.g.cuda.next_deadline().unwrap_or(until_ns);
                    self.g.idle_until(next.min(until_ns));
                }
            }
        }

        fn request(&mut self, bytes: &[u8]) -> Vec<u8> {
            self.queue.push(bytes.to_vec());
            let before = self.replies.len();
            self.start();
            for _ in 0..1000 {
                let t = self.g.now + 100_000;
                self.run_until(t);
                if self.replies.len() > before {
                    return self.replies[before].clone();
                }
            }
            panic!("no reply to {bytes:02x?}");
        }
    }

    #[test]
    fn openbios_boot_sends_13_adb_packets_and_relocates_keyboard_and_mouse() {
        // The 13 packets OpenBIOS 1.1 sends under QEMU 7.2 (captured with
        // -trace cuda_packet*), with the replies a real CUDA gives.
        let exchanges: [(&[u8], &[u8]); 13] = [
            (&[0x00], &[0x00, 0x00, 0x00]),
            (&[0x1f], &[0x00, 0x02, 0x1f]),
            (&[0x2f], &[0x00, 0x00, 0x2f, 0x02, 0x01]),
            (&[0x2b, 0x28, 0xfe], &[0x00, 0x00, 0x2b]),
            (&[0x81], &[0x00, 0x00, 0x81]),
            (&[0x2f], &[0x00, 0x02, 0x2f]),
            (&[0x3f], &[0x00, 0x00, 0x3f, 0x03, 0x02]),
            (&[0x3b, 0x29, 0xfe], &[0x00, 0x00, 0x3b]),
            (&[0x91], &[0x00, 0x00, 0x91]),
            (&[0x3f], &[0x00, 0x02, 0x3f]),
            (&[0x4f], &[0x00, 0x02, 0x4f]),
            (&[0x5f], &[0x00, 0x02, 0x5f]),
            (&[0x7f], &[0x00, 0x02, 0x7f]),
        ];
        let mut g = Guest::new(Cuda::new(0));
        g.ob_init();

        for (request, expected) in exchanges {
            let reply = g.ob_request(PKT_ADB, request);
            assert_eq!(reply, expected, "reply to {request:02x?}");
        }
        assert_eq!(g.cuda.adb.keyboard.address, 8);
        assert_eq!(g.cuda.adb.mouse.address, 9);
    }

    #[test]
    fn openbios_adb_layer_reads_the_same_register_3_as_under_qemu() {
        let mut g = Guest::new(Cuda::new(0));
        g.ob_init();
        g.ob_adb_req(&[0x00]);

        let keyboard = g.ob_adb_req(&[0x2f]);
        let empty = g.ob_adb_req(&[0x1f]);
        let listen = g.ob_adb_req(&[0x2b, 0x28, 0xfe]);

        assert_eq!(keyboard, [0x02, 0x01]);
        assert!(empty.is_empty());
        assert!(listen.is_empty());
    }

    #[test]
    fn get_time_counts_from_the_rtc_base_with_virtual_time() {
        let base_unix = 1_700_000_000i64;
        let mut g = Guest::new(Cuda::new(base_unix));
        g.ob_init();
        g.idle_until(5_500_000_000);

        let reply = g.ob_request(PKT_CUDA, &[CMD_GET_TIME]);

        let expected = (base_unix as u32 + RTC_OFFSET + 5).to_be_bytes();
        assert_eq!(reply[..3], [PKT_CUDA, 0x00, CMD_GET_TIME]);
        assert_eq!(reply[3..], expected);
    }

    #[test]
    fn set_time_then_get_time_advances_from_the_new_value() {
        let mut g = Guest::new(Cuda::new(0));
        g.ob_init();
        let set = 0x1234_5678u32.to_be_bytes();
        let ack = g.ob_request(PKT_CUDA, &[CMD_SET_TIME, set[0], set[1], set[2], set[3]]);
        g.idle_until(g.now + 3 * NS_PER_SEC);

        let reply = g.ob_request(PKT_CUDA, &[CMD_GET_TIME]);

        assert_eq!(ack, [PKT_CUDA, 0, CMD_SET_TIME]);
        assert_eq!(reply[3..], 0x1234_567bu32.to_be_bytes());
    }

    #[test]
    fn powerdown_acknowledges_and_requests_power_off_once() {
        let mut g = Guest::new(Cuda::new(0));
        g.ob_init();

        let reply = g.ob_request(PKT_CUDA, &[CMD_POWERDOWN]);

        assert_eq!(reply, [PKT_CUDA, 0x00, CMD_POWERDOWN]);
        assert_eq!(g.cuda.take_power_request(), Some(PowerRequest::PowerOff));
        assert_eq!(g.cuda.take_power_request(), None);
    }

    #[test]
    fn reset_system_requests_a_reset() {
        let mut g = Guest::new(Cuda::new(0));
        g.ob_init();

        let reply = g.ob_request(PKT_CUDA, &[CMD_RESET_SYSTEM]);

        assert_eq!(reply, [PKT_CUDA, 0x00, CMD_RESET_SYSTEM]);
        assert_eq!(g.cuda.take_power_request(), Some(PowerRequest::Reset));
    }

    #[test]
    fn unknown_command_and_bad_parameters_get_qemus_error_packets() {
        let mut g = Guest::new(Cuda::new(0));
        g.ob_init();

        let unknown = g.ob_request(PKT_CUDA, &[CMD_GET_PRAM, 0x00, 0x10]);
        let bad = g.ob_request(PKT_CUDA, &[CMD_GET_TIME, 0x01]);
        let zero_rate = g.ob_request(PKT_CUDA, &[CMD_SET_AUTO_RATE, 0]);
        let bad_type = g.ob_request(0x05, &[0x01]);

        assert_eq!(
            unknown,
            [PKT_ERROR, ERR_UNKNOWN_COMMAND, PKT_CUDA, CMD_GET_PRAM]
        );
        assert_eq!(bad, [PKT_ERROR, ERR_BAD_PARAMETERS, PKT_CUDA, CMD_GET_TIME]);
        assert_eq!(
            zero_rate,
            [PKT_ERROR, ERR_BAD_PARAMETERS, PKT_CUDA, CMD_SET_AUTO_RATE]
        );
        assert_eq!(bad_type, [PKT_ERROR, ERR_BAD_PACKET, 0x05]);
    }

    #[test]
    fn accepted_settings_read_back() {
        let mut g = Guest::new(Cuda::new(0));
        g.ob_init();

        let rate = g.ob_request(PKT_CUDA, &[CMD_SET_AUTO_RATE, 11]);
        let list = g.ob_request(PKT_CUDA, &[CMD_SET_DEVICE_LIST, 0x00, 0x0c]);
        let flags = g.ob_request(PKT_CUDA, &[CMD_FILE_SERVER_FLAG, 1]);
        let power = g.ob_request(PKT_CUDA, &[CMD_SET_POWER_MESSAGES, 1]);

        assert_eq!(rate, [PKT_CUDA, 0, CMD_SET_AUTO_RATE]);
        assert_eq!(list, [PKT_CUDA, 0, CMD_SET_DEVICE_LIST]);
        assert_eq!(flags, [PKT_CUDA, 0, CMD_FILE_SERVER_FLAG]);
        assert_eq!(power, [PKT_CUDA, 0, CMD_SET_POWER_MESSAGES]);
        assert_eq!(
            g.ob_request(PKT_CUDA, &[CMD_GET_AUTO_RATE]),
            [1, 0, CMD_GET_AUTO_RATE, 11]
        );
        assert_eq!(
            g.ob_request(PKT_CUDA, &[CMD_GET_DEVICE_LIST]),
            [1, 0, CMD_GET_DEVICE_LIST, 0x00, 0x0c]
        );
    }

    #[test]
    fn sr_flag_rises_20us_after_the_handshake_edge() {
        let mut cuda = Cuda::new(0);
        let t = 1_000_000;
        cuda.write(REG_B as u32 * RS, 1, (TIP | TACK | TREQ) as u32, t);
        cuda.write(
            REG_IER as u32 * RS,
            1,
            (via::INT_ANY_OR_SET | INT_SR) as u32,
            t,
        );
        cuda.write(REG_ACR as u32 * RS, 1, ACR_SR_OUT as u32, t);
        cuda.write(REG_SR as u32 * RS, 1, PKT_CUDA as u32, t);
        cuda.write(REG_B as u32 * RS, 1, (TACK | TREQ) as u32, t);

        let early = cuda.read(REG_IFR as u32 * RS, 1, t + SR_INT_DELAY_NS - 1);
        let deadline = cuda.next_deadline();
        cuda.run_timers(t + SR_INT_DELAY_NS);

        assert_eq!(early as u8 & INT_SR, 0);
        assert_eq!(deadline, Some(t + SR_INT_DELAY_NS));
        assert!(cuda.irq());
    }

    #[test]
    fn linux_init_sync_makes_treq_follow_tack() {
        let linux = Linux::boot(Cuda::new(0));

        assert_eq!(linux.g.cuda.via.port_b_output() & (TIP | TACK), TIP | TACK);
        assert_eq!(
            linux.g.cuda.via.ext_b & TREQ,
            TREQ,
            "TREQ negated after sync"
        );
        assert!(!linux.g.cuda.irq());
    }

    #[test]
    fn linux_driver_exchanges_packets_by_interrupt() {
        let base_unix = 1_600_000_000i64;
        let mut linux = Linux::boot(Cuda::new(base_unix));

        let autopoll = linux.request(&[PKT_CUDA, CMD_AUTOPOLL, 1]);
        let time = linux.request(&[PKT_CUDA, CMD_GET_TIME]);
        let talk = linux.request(&[PKT_ADB, 0x2f]);
        let now_s = (linux.g.now / NS_PER_SEC) as u32;

        assert_eq!(autopoll, [PKT_CUDA, 0, CMD_AUTOPOLL]);
        assert_eq!(time[..3], [PKT_CUDA, 0, CMD_GET_TIME]);
        let t = u32::from_be_bytes([time[3], time[4], time[5], time[6]]);
        assert!(
            (base_unix as u32 + RTC_OFFSET..=base_unix as u32 + RTC_OFFSET + now_s).contains(&t)
        );
        assert_eq!(
            talk,
            [PKT_ADB, 0, 0x2f, 0x02, 0x01],
            "Linux keeps cmd, reads reply[2] as handler"
        );
        assert!(linux.unsolicited.is_empty());
    }

    #[test]
    fn autopoll_delivers_a_key_press_at_the_poll_rate() {
        let mut linux = Linux::boot(Cuda::new(0));
        linux.request(&[PKT_CUDA, CMD_AUTOPOLL, 1]);
        let enabled_at = linux.g.cuda.autopoll_next_ns;
        linux.run_until(enabled_at + 5 * 20_000_000);
        assert!(linux.unsolicited.is_empty(), "no input, no packets");
        assert_eq!(
            linux.g.cuda.next_deadline(),
            None,
            "an idle bus costs no deadlines"
        );

        linux.g.cuda.key_event(keys::A, true);
        linux.g.cuda.key_event(keys::A, false);
        let deadline = linux.g.cuda.next_deadline().expect("pending key");
        linux.run_until(deadline + 1_000_000);

        assert_eq!((deadline - enabled_at) % 20_000_000, 0, "on the 20 ms grid");
        assert_eq!(
            linux.unsolicited,
            [vec![PKT_ADB, ADB_FLAG_AUTOPOLL, 0x2c, 0x00, 0x80]]
        );
    }

    #[test]
    fn autopoll_delivers_mouse_motion_and_button() {
        let mut linux = Linux::boot(Cuda::new(0));
        linux.request(&[PKT_CUDA, CMD_AUTOPOLL, 1]);

        linux.g.cuda.mouse_event(3, -2, adb::BUTTON_PRIMARY);
        linux.run_until(linux.g.now + 50_000_000);

        assert_eq!(
            linux.unsolicited,
            [vec![PKT_ADB, ADB_FLAG_AUTOPOLL, 0x3c, 0x7e, 0x83]]
        );
    }

    #[test]
    fn autopoll_follows_the_device_list_mask() {
        let mut linux = Linux::boot(Cuda::new(0));
        linux.request(&[PKT_CUDA, CMD_SET_DEVICE_LIST, 0x00, 0x08]); // address 3 only
        linux.request(&[PKT_CUDA, CMD_AUTOPOLL, 1]);

        linux.g.cuda.key_event(keys::B, true);
        linux.run_until(linux.g.now + 100_000_000);

        assert!(linux.unsolicited.is_empty());
        assert_eq!(linux.g.cuda.adb.keyboard.queue_len, 1);
    }

    #[test]
    fn autopoll_waits_while_a_reply_is_unread() {
        let mut cuda = Cuda::new(0);
        cuda.autopoll = true;
        cuda.autopoll_next_ns = 1_000;
        cuda.send_to_host(&[PKT_CUDA, 0, CMD_GET_TIME, 1, 2, 3, 4], 0);
        cuda.key_event(keys::C, true);

        cuda.run_timers(1_000);

        assert_eq!(cuda.in_buf[..3], [PKT_CUDA, 0, CMD_GET_TIME]);
        assert_eq!(cuda.adb.keyboard.queue_len, 1);
        assert_eq!(
            cuda.autopoll_next_ns, 20_001_000,
            "skipped to the next grid point"
        );
    }

    #[test]
    fn a_host_packet_colliding_with_autopoll_data_is_retried_by_linux() {
        let mut linux = Linux::boot(Cuda::new(0));
        linux.request(&[PKT_CUDA, CMD_AUTOPOLL, 1]);
        linux.g.cuda.key_event(keys::D, true);
        // The autopoll packet is waiting (TREQ asserted) when Linux starts sending:
        // force the race Linux's TREQ check normally avoids.
        let poll_at = linux.g.cuda.next_deadline().expect("pending key");
        linux.g.idle_until(poll_at);
        linux.g.cuda.via.set_port_b_input(0xff);
        linux.queue.push(vec![PKT_CUDA, CMD_GET_TIME]);
        linux.start();
        linux.g.cuda.set_treq(true);

        linux.run_until(linux.g.now + 10_000_000);

        assert_eq!(
            linux.unsolicited,
            [vec![PKT_ADB, ADB_FLAG_AUTOPOLL, 0x2c, keys::D, 0xff]]
        );
        assert_eq!(
            linux.replies.len(),
            2,
            "AUTOPOLL, then the retried GET_TIME"
        );
        assert_eq!(linux.replies[1][..3], [PKT_CUDA, 0, CMD_GET_TIME]);
    }

    #[test]
    fn wide_accesses_read_zero_and_change_nothing() {
        let mut cuda = Cuda::new(0);
        let before = cuda.clone();

        let v = cuda.read(REG_IER as u32 * RS, 4, 0);
        cuda.write(REG_B as u32 * RS, 2, 0, 0);

        assert_eq!(v, 0);
        assert_eq!(cuda.via.orb, before.via.orb);
        assert_eq!(cuda.last_b, before.last_b);
    }

    #[test]
    fn registers_repeat_every_0x200_bytes_in_the_window() {
        let mut cuda = Cuda::new(0);
        cuda.write(REG_IER as u32 * RS + 0x1ff, 1, 0x84, 0);

        assert_eq!(cuda.read(0x1c00, 1, 0), 0x84);
        assert_eq!(cuda.read(0x1c00 + 0x2000, 1, 0), 0x84);
    }

    #[test]
    fn cuda_state_roundtrips() {
        let mut cuda = Cuda::new(1_700_000_000);
        savevm::testing::assert_roundtrip(&mut cuda);
        savevm::testing::assert_mutated_roundtrip(&mut cuda, |c| {
            c.autopoll = true;
            c.autopoll_next_ns = 123_000_000;
            c.key_event(keys::X, true);
            c.send_to_host(&[PKT_ADB, 0, 0x2f, 2, 1], 99);
        });
    }

    #[test]
    fn a_snapshot_mid_packet_finishes_the_exchange_after_loading() {
        // Save after the host has shifted out half a SET_TIME packet.
        let mut g = Guest::new(Cuda::new(0));
        g.ob_init();
        let acr = g.rd(REG_ACR);
        g.wr(REG_ACR, acr | ACR_SR_OUT);
        g.wr(REG_SR, PKT_CUDA);
        let b = g.rd(REG_B);
        g.wr(REG_B, b & !TIP);
        for &byte in &[CMD_SET_TIME, 0x11] {
            g.ob_wait_irq();
            g.wr(REG_SR, byte);
            let b = g.rd(REG_B);
            g.wr(REG_B, b ^ TACK);
        }
        let bytes = savevm::save_bytes(&mut g.cuda);
        let mut loaded = Cuda::new(0);
        savevm::load_bytes(&mut loaded, &bytes).expect("loads");
        let mut g2 = Guest {
            cuda: loaded,
            now: g.now,
        };

        for &byte in &[0x22, 0x33, 0x44] {
            g2.ob_wait_irq();
            g2.wr(REG_SR, byte);
            let b = g2.rd(REG_B);
            g2.wr(REG_B, b ^ TACK);
        }
        g2.ob_wait_irq();
        let acr = g2.rd(REG_ACR);
        g2.wr(REG_ACR, acr & !ACR_SR_OUT);
        g2.rd(REG_SR);
        let b = g2.rd(REG_B);
        g2.wr(REG_B, b | TIP | TACK);

        assert_eq!(g2.cuda.in_buf[..3], [PKT_CUDA, 0, CMD_SET_TIME]);
        assert_eq!(g2.cuda.rtc_seconds(g2.now), 0x1122_3344);
    }

    #[test]
    fn cuda_load_rejects_read_position_past_the_reply() {
        let mut cuda = Cuda::new(0);
        cuda.in_len = 3;
        cuda.in_pos = 4;
        let bytes = savevm::save_bytes(&mut cuda);

        assert!(savevm::load_bytes(&mut Cuda::new(0), &bytes).is_err());
    }

    #[test]
    fn random_mmio_and_input_never_panic_and_keep_buffers_in_bounds() {
        let mut cuda = Cuda::new(-5);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut now = 0u64;
        for _ in 0..200_000 {
            let r = next();
            now += r % 50_000;
            let offset = (r >> 8) as u32 % 0x2000;
            let size = [1, 1, 1, 2, 4][(r >> 24) as usize % 5];
            match (r >> 32) % 8 {
                0..=3 => cuda.write(offset, size, (r >> 40) as u32, now),
                4..=5 => {
                    cuda.read(offset, size, now);
                }
                6 => cuda.key_event((r >> 40) as u8, r & 1 != 0),
                _ => cuda.mouse_event((r >> 40) as i8 as i32, (r >> 48) as i8 as i32, r as u8),
            }
            if cuda.next_deadline().is_some_and(|d| d <= now) {
                cuda.run_timers(now);
            }
            cuda.take_power_request();
            assert!(cuda.out_len as usize <= BUF_LEN);
            assert!(cuda.in_pos <= cuda.in_len && cuda.in_len as usize <= BUF_LEN);
        }
        savevm::testing::assert_roundtrip(&mut cuda);
    }

    #[test]
    fn linux_boot_request_sequence_probes_adb_and_powers_off() {
        // Every request Linux 6.1 sent under QEMU 7.2 from its CUDA init to
        // power-off (captured with -trace cuda_packet*), in order.
        let requests: [&[u8]; 50] = [
            &[0x01, 0x01, 0x01],
            &[0x01, 0x03],
            &[0x01, 0x01, 0x00],
            &[0x00, 0x00],
            &[0x00, 0x1f],
            &[0x00, 0x2f],
            &[0x00, 0x3f],
            &[0x00, 0x4f],
            &[0x00, 0x5f],
            &[0x00, 0x6f],
            &[0x00, 0x7f],
            &[0x00, 0x8f],
            &[0x00, 0x9f],
            &[0x00, 0xaf],
            &[0x00, 0xbf],
            &[0x00, 0xcf],
            &[0x00, 0xdf],
            &[0x00, 0xef],
            &[0x00, 0xff],
            &[0x00, 0x2f],
            &[0x00, 0x2b, 0x6f, 0xfe],
            &[0x00, 0xff],
            &[0x00, 0x2f],
            &[0x00, 0xfb, 0x62, 0xfe],
            &[0x00, 0x3f],
            &[0x00, 0x3b, 0x6f, 0xfe],
            &[0x00, 0xff],
            &[0x00, 0x3f],
            &[0x00, 0xfb, 0x63, 0xfe],
            &[0x00, 0x2f],
            &[0x00, 0x3f],
            &[0x01, 0x01, 0x01],
            &[0x00, 0x2a, 0xff, 0xff],
            &[0x00, 0x2b, 0x22, 0x03],
            &[0x00, 0x2f],
            &[0x00, 0x3b, 0x23, 0x04],
            &[0x00, 0x3f],
            &[0x00, 0x3b, 0x23, 0x2f],
            &[0x00, 0x3f],
            &[0x00, 0x3b, 0x23, 0x42],
            &[0x00, 0x3f],
            &[0x00, 0x3b, 0x23, 0x66],
            &[0x00, 0x3f],
            &[0x00, 0x3b, 0x23, 0x5f],
            &[0x00, 0x3f],
            &[0x00, 0x3a, 0x00, 0x07],
            &[0x00, 0x31],
            &[0x01, 0x03],
            &[0x01, 0x03],
            &[0x01, 0x0a],
        ];
        let mut linux = Linux::boot(Cuda::new(0));

        let replies: Vec<Vec<u8>> = requests.iter().map(|r| linux.request(r)).collect();

        assert_eq!(
            replies[21],
            [0x00, 0x00, 0xff, 0x0f, 0x01],
            "keyboard moved to 15"
        );
        assert_eq!(
            replies[22],
            [0x00, ADB_FLAG_TIMEOUT, 0x2f],
            "and gone from 2"
        );
        assert_eq!(
            replies[34],
            [0x00, 0x00, 0x2f, 0x02, 0x03],
            "extended keyboard"
        );
        assert_eq!(
            replies[36],
            [0x00, 0x00, 0x3f, 0x03, 0x02],
            "mouse keeps handler 2"
        );
        assert_eq!(replies[49], [PKT_CUDA, 0x00, CMD_POWERDOWN]);
        assert_eq!(
            (
                linux.g.cuda.adb.keyboard.address,
                linux.g.cuda.adb.keyboard.handler
            ),
            (2, 3)
        );
        assert_eq!(
            (
                linux.g.cuda.adb.mouse.address,
                linux.g.cuda.adb.mouse.handler
            ),
            (3, 2)
        );
        assert_eq!(
            linux.g.cuda.take_power_request(),
            Some(PowerRequest::PowerOff)
        );
        assert!(linux.unsolicited.is_empty());
    }

    #[test]
    fn system_reset_keeps_the_clock_and_resets_bus_and_autopoll() {
        let mut g = Guest::new(Cuda::new(1_000));
        g.ob_init();
        g.ob_request(PKT_CUDA, &[CMD_AUTOPOLL, 1]);
        g.ob_request(PKT_ADB, &[0x2b, 0x28, 0xfe]);
        let clock = g.cuda.rtc_seconds(g.now);

        g.cuda.reset(g.now);

        assert_eq!(g.cuda.rtc_seconds(g.now), clock);
        assert!(!g.cuda.autopoll);
        assert_eq!(g.cuda.adb.keyboard.address, adb::KEYBOARD_ADDRESS);
        assert_eq!(g.cuda.in_len, 0);
        assert!(!g.cuda.irq());
    }
}
