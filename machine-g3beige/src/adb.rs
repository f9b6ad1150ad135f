//! Apple Desktop Bus with a keyboard (address 2, handler 1) and a mouse
//! (address 3, handler 2), as QEMU's `hw/input/adb*.c` and the ADB chapter of
//! Apple's "Guide to the Macintosh Family Hardware" describe them.
//!
//! A transaction is one command byte, `address << 4 | command`, plus two data
//! bytes for LISTEN. The CUDA carries transactions to the bus ([`AdbBus::request`])
//! and polls it for autopoll data ([`AdbBus::poll`]). The window feeds input
//! through [`AdbBus::key_event`] (ADB key codes, US layout: see [`keys`]) and
//! [`AdbBus::mouse_event`].

use std::sync::LazyLock;

use savevm::{VmState, Vmsd};

// Command byte, low nibble.
pub const CMD_SEND_RESET: u8 = 0x00;
pub const CMD_FLUSH: u8 = 0x01;
pub const CMD_LISTEN: u8 = 0x08;
pub const CMD_TALK: u8 = 0x0c;

// Second byte of a LISTEN R3 (the handler field) with special meanings.
pub const R3_SELF_TEST: u8 = 0xff;
pub const R3_CHANGE_ADDRESS: u8 = 0xfe;
pub const R3_CHANGE_ADDRESS_IF_ACTIVATED: u8 = 0xfd;
pub const R3_CHANGE_ADDRESS_AND_ENABLE: u8 = 0x00;

pub const KEYBOARD_ADDRESS: u8 = 2;
pub const KEYBOARD_HANDLER: u8 = 1;
pub const MOUSE_ADDRESS: u8 = 3;
pub const MOUSE_HANDLER: u8 = 2;

/// Longest TALK reply (register 0..3 hold at most 8 bytes).
pub const MAX_REPLY: usize = 8;

/// Mouse button bits for [`AdbBus::mouse_event`].
pub const BUTTON_PRIMARY: u8 = 0x01;
pub const BUTTON_SECONDARY: u8 = 0x02;

/// Key-down events queue here until the guest reads them; QEMU holds 128 too.
const KEY_QUEUE_LEN: usize = 128;
/// Key-up flag in a key code.
const KEY_RELEASED: u8 = 0x80;
/// A register-0 byte meaning "no key".
const NO_KEY: u8 = 0xff;

/// ADB key codes of the Apple Extended Keyboard, US layout.
pub mod keys {
    pub const A: u8 = 0x00;
    pub const S: u8 = 0x01;
    pub const D: u8 = 0x02;
    pub const F: u8 = 0x03;
    pub const H: u8 = 0x04;
    pub const G: u8 = 0x05;
    pub const Z: u8 = 0x06;
    pub const X: u8 = 0x07;
    pub const C: u8 = 0x08;
    pub const V: u8 = 0x09;
    pub const ISO_SECTION: u8 = 0x0a;
    pub const B: u8 = 0x0b;
    pub const Q: u8 = 0x0c;
    pub const W: u8 = 0x0d;
    pub const E: u8 = 0x0e;
    pub const R: u8 = 0x0f;
    pub const Y: u8 = 0x10;
    pub const T: u8 = 0x11;
    pub const N1: u8 = 0x12;
    pub const N2: u8 = 0x13;
    pub const N3: u8 = 0x14;
    pub const N4: u8 = 0x15;
    pub const N6: u8 = 0x16;
    pub const N5: u8 = 0x17;
    pub const EQUAL: u8 = 0x18;
    pub const N9: u8 = 0x19;
    pub const N7: u8 = 0x1a;
    pub const MINUS: u8 = 0x1b;
    pub const N8: u8 = 0x1c;
    pub const N0: u8 = 0x1d;
    pub const RIGHT_BRACKET: u8 = 0x1e;
    pub const O: u8 = 0x1f;
    pub const U: u8 = 0x20;
    pub const LEFT_BRACKET: u8 = 0x21;
    pub const I: u8 = 0x22;
    pub const P: u8 = 0x23;
    pub const RETURN: u8 = 0x24;
    pub const L: u8 = 0x25;
    pub const J: u8 = 0x26;
    pub const APOSTROPHE: u8 = 0x27;
    pub const K: u8 = 0x28;
    pub const SEMICOLON: u8 = 0x29;
    pub const BACKSLASH: u8 = 0x2a;
    pub const COMMA: u8 = 0x2b;
    pub const SLASH: u8 = 0x2c;
    pub const N: u8 = 0x2d;
    pub const M: u8 = 0x2e;
    pub const PERIOD: u8 = 0x2f;
    pub const TAB: u8 = 0x30;
    pub const SPACE: u8 = 0x31;
    pub const GRAVE: u8 = 0x32;
    /// Backspace.
    pub const DELETE: u8 = 0x33;
    pub const ESCAPE: u8 = 0x35;
    pub const CONTROL: u8 = 0x36;
    pub const COMMAND: u8 = 0x37;
    pub const SHIFT: u8 = 0x38;
    pub const CAPS_LOCK: u8 = 0x39;
    pub const OPTION: u8 = 0x3a;
    pub const LEFT: u8 = 0x3b;
    pub const RIGHT: u8 = 0x3c;
    pub const DOWN: u8 = 0x3d;
    pub const UP: u8 = 0x3e;
    pub const KP_PERIOD: u8 = 0x41;
    pub const KP_MULTIPLY: u8 = 0x43;
    pub const KP_PLUS: u8 = 0x45;
    pub const KP_CLEAR: u8 = 0x47;
    pub const KP_DIVIDE: u8 = 0x4b;
    pub const KP_ENTER: u8 = 0x4c;
    pub const KP_MINUS: u8 = 0x4e;
    pub const KP_EQUAL: u8 = 0x51;
    pub const KP_0: u8 = 0x52;
    pub const KP_1: u8 = 0x53;
    pub const KP_2: u8 = 0x54;
    pub const KP_3: u8 = 0x55;
    pub const KP_4: u8 = 0x56;
    pub const KP_5: u8 = 0x57;
    pub const KP_6: u8 = 0x58;
    pub const KP_7: u8 = 0x59;
    pub const KP_8: u8 = 0x5b;
    pub const KP_9: u8 = 0x5c;
    pub const F5: u8 = 0x60;
    pub const F6: u8 = 0x61;
    pub const F7: u8 = 0x62;
    pub const F3: u8 = 0x63;
    pub const F8: u8 = 0x64;
    pub const F9: u8 = 0x65;
    pub const F11: u8 = 0x67;
    pub const F13: u8 = 0x69;
    pub const F14: u8 = 0x6b;
    pub const F10: u8 = 0x6d;
    pub const F12: u8 = 0x6f;
    pub const F15: u8 = 0x71;
    pub const HELP: u8 = 0x72;
    pub const HOME: u8 = 0x73;
    pub const PAGE_UP: u8 = 0x74;
    pub const FORWARD_DELETE: u8 = 0x75;
    pub const F4: u8 = 0x76;
    pub const END: u8 = 0x77;
    pub const F2: u8 = 0x78;
    pub const PAGE_DOWN: u8 = 0x79;
    pub const F1: u8 = 0x7a;
    pub const RIGHT_SHIFT: u8 = 0x7b;
    pub const RIGHT_OPTION: u8 = 0x7c;
    pub const RIGHT_CONTROL: u8 = 0x7d;
    /// Sent as the two-byte sequence 7F 7F (down) / FF FF (up).
    pub const POWER: u8 = 0x7f;
}

/// The ADB code for a QEMU key name (`sendkey`, QKeyCode spelling), mapped as
/// QEMU's `adb-kbd.c` maps it.
pub fn adb_code_for_qcode(name: &str) -> Option<u8> {
    use keys::*;
    let code = match name {
        "shift" => SHIFT,
        "shift_r" => RIGHT_SHIFT,
        "alt" => OPTION,
        "alt_r" => RIGHT_OPTION,
        "ctrl" => CONTROL,
        "ctrl_r" => RIGHT_CONTROL,
        "meta_l" | "meta_r" => COMMAND,
        "spc" => SPACE,
        "esc" => ESCAPE,
        "1" => N1,
        "2" => N2,
        "3" => N3,
        "4" => N4,
        "5" => N5,
        "6" => N6,
        "7" => N7,
        "8" => N8,
        "9" => N9,
        "0" => N0,
        "minus" => MINUS,
        "equal" => EQUAL,
        "backspace" => DELETE,
        "tab" => TAB,
        "q" => Q,
        "w" => W,
        "e" => E,
        "r" => R,
        "t" => T,
        "y" => Y,
        "u" => U,
        "i" => I,
        "o" => O,
        "p" => P,
        "bracket_left" => LEFT_BRACKET,
        "bracket_right" => RIGHT_BRACKET,
        "ret" => RETURN,
        "a" => A,
        "s" => S,
        "d" => D,
        "f" => F,
        "g" => G,
        "h" => H,
        "j" => J,
        "k" => K,
        "l" => L,
        "semicolon" => SEMICOLON,
        "apostrophe" => APOSTROPHE,
        "grave_accent" => GRAVE,
        "backslash" => BACKSLASH,
        "z" => Z,
        "x" => X,
        "c" => C,
        "v" => V,
        "b" => B,
        "n" => N,
        "m" => M,
        "comma" => COMMA,
        "dot" => PERIOD,
        "slash" => SLASH,
        "asterisk" | "kp_multiply" => KP_MULTIPLY,
        "caps_lock" => CAPS_LOCK,
        "f1" => F1,
        "f2" => F2,
        "f3" => F3,
        "f4" => F4,
        "f5" => F5,
        "f6" => F6,
        "f7" => F7,
        "f8" => F8,
        "f9" => F9,
        "f10" => F10,
        "f11" => F11,
        "f12" => F12,
        "print" | "sysrq" => F13,
        "scroll_lock" => F14,
        "pause" => F15,
        "num_lock" => KP_CLEAR,
        "kp_equals" => KP_EQUAL,
        "kp_divide" => KP_DIVIDE,
        "kp_subtract" => KP_MINUS,
        "kp_add" => KP_PLUS,
        "kp_enter" => KP_ENTER,
        "kp_decimal" => KP_PERIOD,
        "kp_0" => KP_0,
        "kp_1" => KP_1,
        "kp_2" => KP_2,
        "kp_3" => KP_3,
        "kp_4" => KP_4,
        "kp_5" => KP_5,
        "kp_6" => KP_6,
        "kp_7" => KP_7,
        "kp_8" => KP_8,
        "kp_9" => KP_9,
        "up" => UP,
        "down" => DOWN,
        "left" => LEFT,
        "right" => RIGHT,
        "help" | "insert" => HELP,
        "delete" => FORWARD_DELETE,
        "home" => HOME,
        "end" => END,
        "pgup" => PAGE_UP,
        "pgdn" => PAGE_DOWN,
        "power" => POWER,
        _ => return None,
    };
    Some(code)
}

/// What a device answers to a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdbReply {
    /// Nobody drove the bus: no device at the address, or a TALK with nothing to say.
    Timeout,
    /// The command completed; a TALK put this many bytes in the reply buffer.
    Ok(usize),
}

/// Address, handler and a LISTEN R3 that moves them, common to both devices.
fn listen_r3(address: &mut u8, handler: &mut u8, data: &[u8], handlers: &[u8]) {
    let [hi, lo, ..] = *data else {
        return;
    };
    match lo {
        R3_SELF_TEST => {}
        R3_CHANGE_ADDRESS | R3_CHANGE_ADDRESS_IF_ACTIVATED | R3_CHANGE_ADDRESS_AND_ENABLE => {
            *address = hi & 0x0f;
        }
        _ => {
            // A handler change also moves the device, as in QEMU.
            *address = hi & 0x0f;
            if handlers.contains(&lo) {
                *handler = lo;
            }
        }
    }
}

/// An Apple Extended Keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdbKeyboard {
    pub(crate) address: u8,
    pub(crate) handler: u8,
    /// Ring of key codes (bit 7 = released) not yet read by the guest.
    pub(crate) queue: [u8; KEY_QUEUE_LEN],
    pub(crate) queue_head: u8,
    pub(crate) queue_len: u8,
    /// Register 2 LED bits as last written (active low: 1 = off).
    pub(crate) leds: u8,
}

impl Default for AdbKeyboard {
    fn default() -> Self {
        AdbKeyboard {
            address: KEYBOARD_ADDRESS,
            handler: KEYBOARD_HANDLER,
            queue: [0; KEY_QUEUE_LEN],
            queue_head: 0,
            queue_len: 0,
            leds: 0x07,
        }
    }
}

impl AdbKeyboard {
    /// Queues a key press or release. A full queue drops the event, as QEMU does.
    pub fn key_event(&mut self, adb_code: u8, down: bool) {
        if self.queue_len as usize >= KEY_QUEUE_LEN {
            tracing::debug!(target: "guest_errors", "adb: keyboard queue full, key dropped");
            return;
        }
        let code = (adb_code & 0x7f) | if down { 0 } else { KEY_RELEASED };
        let tail = (self.queue_head as usize + self.queue_len as usize) % KEY_QUEUE_LEN;
        self.queue[tail] = code;
        self.queue_len += 1;
    }

    pub fn has_data(&self) -> bool {
        self.queue_len > 0
    }

    fn pop(&mut self) -> Option<u8> {
        if self.queue_len == 0 {
            return None;
        }
        let code = self.queue[self.queue_head as usize];
        self.queue_head = ((self.queue_head as usize + 1) % KEY_QUEUE_LEN) as u8;
        self.queue_len -= 1;
        Some(code)
    }

    fn peek(&self) -> Option<u8> {
        (self.queue_len > 0).then(|| self.queue[self.queue_head as usize])
    }

    /// Handlers 1 and 2 report both shift (option, control) keys as the left one.
    fn translate(&self, code: u8) -> u8 {
        if self.handler == 3 {
            return code;
        }
        let released = code & KEY_RELEASED;
        let base = match code & 0x7f {
            keys::RIGHT_SHIFT => keys::SHIFT,
            keys::RIGHT_OPTION => keys::OPTION,
            keys::RIGHT_CONTROL => keys::CONTROL,
            other => other,
        };
        base | released
    }

    /// Register 0: up to two key codes, 0xFF filling an unused slot. The power key
    /// travels alone as 7F 7F / FF FF. Two equal codes are never paired, because
    /// Linux's adbhid drops such a pair as a repeat.
    fn talk_r0(&mut self, out: &mut [u8; MAX_REPLY]) -> AdbReply {
        let Some(first) = self.pop() else {
            return AdbReply::Timeout;
        };
        if first & 0x7f == keys::POWER {
            out[0] = first;
            out[1] = first;
            return AdbReply::Ok(2);
        }
        out[0] = self.translate(first);
        out[1] = NO_KEY;
        if let Some(next) = self.peek() {
            let next_t = self.translate(next);
            if next & 0x7f != keys::POWER && next_t != out[0] {
                self.pop();
                out[1] = next_t;
            }
        }
        AdbReply::Ok(2)
    }

    fn request(&mut self, cmd: u8, data: &[u8], out: &mut [u8; MAX_REPLY]) -> AdbReply {
        match cmd & 0x0f {
            CMD_FLUSH => {
                self.queue_head = 0;
                self.queue_len = 0;
                AdbReply::Ok(0)
            }
            c if c & 0x0c == CMD_LISTEN => {
                match c & 3 {
                    2 => {
                        if let [_, lo, ..] = *data {
                            self.leds = lo & 0x07;
                        }
                    }
                    3 => listen_r3(&mut self.address, &mut self.handler, data, &[1, 2, 3]),
                    _ => {}
                }
                AdbReply::Ok(0)
            }
            c if c & 0x0c == CMD_TALK => match c & 3 {
                0 => self.talk_r0(out),
                2 => {
                    // No modifier held (active low), then the LEDs.
                    out[0] = 0xff;
                    out[1] = 0xf8 | self.leds;
                    AdbReply::Ok(2)
                }
                3 => {
                    out[0] = self.address;
                    out[1] = self.handler;
                    AdbReply::Ok(2)
                }
                _ => AdbReply::Timeout,
            },
            _ => AdbReply::Timeout,
        }
    }
}

/// A one-button Apple mouse (handlers 1 = 100 cpi and 2 = 200 cpi).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdbMouse {
    pub(crate) address: u8,
    pub(crate) handler: u8,
    pub(crate) buttons: u8,
    pub(crate) last_buttons: u8,
    /// Motion not yet reported, in counts; right and down are positive.
    pub(crate) dx: i32,
    pub(crate) dy: i32,
}

impl Default for AdbMouse {
    fn default() -> Self {
        AdbMouse {
            address: MOUSE_ADDRESS,
            handler: MOUSE_HANDLER,
            buttons: 0,
            last_buttons: 0,
            dx: 0,
            dy: 0,
        }
    }
}

impl AdbMouse {
    /// Adds relative motion and sets the button state (`BUTTON_*` bits).
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8) {
        self.dx = self.dx.saturating_add(dx);
        self.dy = self.dy.saturating_add(dy);
        self.buttons = buttons;
    }

    pub fn has_data(&self) -> bool {
        self.dx != 0 || self.dy != 0 || self.buttons != self.last_buttons
    }

    /// Register 0: button 1 (active low) and 7-bit dy, then button 2 and 7-bit dx.
    /// Larger motion is reported over several polls, at most 63 counts each.
    fn talk_r0(&mut self, out: &mut [u8; MAX_REPLY]) -> AdbReply {
        if !self.has_data() {
            return AdbReply::Timeout;
        }
        let dx = self.dx.clamp(-63, 63);
        let dy = self.dy.clamp(-63, 63);
        self.dx -= dx;
        self.dy -= dy;
        self.last_buttons = self.buttons;
        let up = |pressed: bool| if pressed { 0 } else { 0x80 };
        out[0] = up(self.buttons & BUTTON_PRIMARY != 0) | (dy as u8 & 0x7f);
        out[1] = up(self.buttons & BUTTON_SECONDARY != 0) | (dx as u8 & 0x7f);
        AdbReply::Ok(2)
    }

    fn request(&mut self, cmd: u8, data: &[u8], out: &mut [u8; MAX_REPLY]) -> AdbReply {
        match cmd & 0x0f {
            CMD_FLUSH => {
                self.buttons = self.last_buttons;
                self.dx = 0;
                self.dy = 0;
                AdbReply::Ok(0)
            }
            c if c & 0x0c == CMD_LISTEN => {
                if c & 3 == 3 {
                    listen_r3(&mut self.address, &mut self.handler, data, &[1, 2]);
                }
                AdbReply::Ok(0)
            }
            c if c & 0x0c == CMD_TALK => match c & 3 {
                0 => self.talk_r0(out),
                3 => {
                    out[0] = self.address;
                    out[1] = self.handler;
                    AdbReply::Ok(2)
                }
                _ => AdbReply::Timeout,
            },
            _ => AdbReply::Timeout,
        }
    }
}

/// The bus and the two devices on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdbBus {
    pub keyboard: AdbKeyboard,
    pub mouse: AdbMouse,
    /// Which device autopoll asks first (0 = keyboard, 1 = mouse).
    pub(crate) poll_index: u8,
}

impl AdbBus {
    pub fn new() -> AdbBus {
        AdbBus::default()
    }

    /// Queues a key press or release (an ADB key code, see [`keys`]).
    pub fn key_event(&mut self, adb_code: u8, down: bool) {
        self.keyboard.key_event(adb_code, down);
    }

    /// Adds mouse motion and sets the buttons (`BUTTON_PRIMARY`, `BUTTON_SECONDARY`).
    pub fn mouse_event(&mut self, dx: i32, dy: i32, buttons: u8) {
        self.mouse.mouse_event(dx, dy, buttons);
    }

    /// SendReset: every device returns to its power-on address, handler and state.
    pub fn reset(&mut self) {
        *self = AdbBus::default();
    }

    /// Runs one transaction: `packet[0]` is the command byte, LISTEN data follows.
    pub fn request(&mut self, packet: &[u8], out: &mut [u8; MAX_REPLY]) -> AdbReply {
        let Some((&cmd, data)) = packet.split_first() else {
            return AdbReply::Timeout;
        };
        if cmd & 0x0f == CMD_SEND_RESET {
            self.reset();
            return AdbReply::Ok(0);
        }
        let address = cmd >> 4;
        // With two devices on one address the keyboard wins the bus.
        if self.keyboard.address == address {
            self.keyboard.request(cmd, data, out)
        } else if self.mouse.address == address {
            self.mouse.request(cmd, data, out)
        } else {
            AdbReply::Timeout
        }
    }

    /// Whether a device whose address is in `mask` (bit n = address n) has data.
    pub fn has_pending(&self, mask: u16) -> bool {
        let in_mask = |address: u8| mask & (1 << address) != 0;
        (in_mask(self.keyboard.address) && self.keyboard.has_data())
            || (in_mask(self.mouse.address) && self.mouse.has_data())
    }

    /// Autopoll: TALK R0 to the first device in `mask` with data, starting from the
    /// one that answered last. Returns the command byte and the reply length.
    pub fn poll(&mut self, mask: u16, out: &mut [u8; MAX_REPLY]) -> Option<(u8, usize)> {
        for i in 0..2u8 {
            let index = (self.poll_index + i) % 2;
            let (address, has_data) = match index {
                0 => (self.keyboard.address, self.keyboard.has_data()),
                _ => (self.mouse.address, self.mouse.has_data()),
            };
            if mask & (1 << address) == 0 || !has_data {
                continue;
            }
            let cmd = address << 4 | CMD_TALK;
            if let AdbReply::Ok(len) = self.request(&[cmd], out) {
                if len > 0 {
                    self.poll_index = index;
                    return Some((cmd, len));
                }
            }
        }
        None
    }
}

impl VmState for AdbKeyboard {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<AdbKeyboard>> = LazyLock::new(|| {
            Vmsd::<AdbKeyboard>::builder("adb_kbd")
                .version(1)
                .minimum_version(1)
                .field("devaddr", |s| &s.address, |s| &mut s.address)
                .field("handler", |s| &s.handler, |s| &mut s.handler)
                .field("data", |s| &s.queue, |s| &mut s.queue)
                .field("rptr", |s| &s.queue_head, |s| &mut s.queue_head)
                .field("count", |s| &s.queue_len, |s| &mut s.queue_len)
                .field("leds", |s| &s.leds, |s| &mut s.leds)
                .post_load(|s, _| {
                    if s.address > 0x0f {
                        return Err(format!("ADB address {} is not 0..15", s.address));
                    }
                    if s.queue_head as usize >= KEY_QUEUE_LEN
                        || s.queue_len as usize > KEY_QUEUE_LEN
                    {
                        return Err(format!(
                            "key queue position {} / length {} outside {KEY_QUEUE_LEN}",
                            s.queue_head, s.queue_len
                        ));
                    }
                    Ok(())
                })
                .build()
        });
        &V
    }
}

impl VmState for AdbMouse {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<AdbMouse>> = LazyLock::new(|| {
            Vmsd::<AdbMouse>::builder("adb_mouse")
                .version(1)
                .minimum_version(1)
                .field("devaddr", |s| &s.address, |s| &mut s.address)
                .field("handler", |s| &s.handler, |s| &mut s.handler)
                .field("buttons_state", |s| &s.buttons, |s| &mut s.buttons)
                .field(
                    "last_buttons_state",
                    |s| &s.last_buttons,
                    |s| &mut s.last_buttons,
                )
                .field("dx", |s| &s.dx, |s| &mut s.dx)
                .field("dy", |s| &s.dy, |s| &mut s.dy)
                .post_load(|s, _| {
                    if s.address > 0x0f {
                        return Err(format!("ADB address {} is not 0..15", s.address));
                    }
                    Ok(())
                })
                .build()
        });
        &V
    }
}

impl VmState for AdbBus {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<AdbBus>> = LazyLock::new(|| {
            Vmsd::<AdbBus>::builder("adb")
                .version(1)
                .minimum_version(1)
                .struct_field("kbd", |s| &s.keyboard, |s| &mut s.keyboard)
                .struct_field("mouse", |s| &s.mouse, |s| &mut s.mouse)
                .field("poll_index", |s| &s.poll_index, |s| &mut s.poll_index)
                .post_load(|s, _| {
                    if s.poll_index > 1 {
                        return Err(format!("poll index {} is not 0 or 1", s.poll_index));
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

    fn talk(bus: &mut AdbBus, address: u8, reg: u8) -> Option<Vec<u8>> {
        let mut out = [0; MAX_REPLY];
        match bus.request(&[address << 4 | CMD_TALK | reg], &mut out) {
            AdbReply::Ok(n) => Some(out[..n].to_vec()),
            AdbReply::Timeout => None,
        }
    }

    fn listen(bus: &mut AdbBus, address: u8, reg: u8, hi: u8, lo: u8) -> AdbReply {
        let mut out = [0; MAX_REPLY];
        bus.request(&[address << 4 | CMD_LISTEN | reg, hi, lo], &mut out)
    }

    #[test]
    fn talk_r3_reports_address_and_handler_of_both_devices() {
        let mut bus = AdbBus::new();

        assert_eq!(talk(&mut bus, 2, 3), Some(vec![0x02, 0x01]));
        assert_eq!(talk(&mut bus, 3, 3), Some(vec![0x03, 0x02]));
        assert_eq!(talk(&mut bus, 1, 3), None);
        assert_eq!(talk(&mut bus, 7, 3), None);
    }

    #[test]
    fn listen_r3_moves_the_keyboard_like_openbios_does() {
        let mut bus = AdbBus::new();

        listen(&mut bus, 2, 3, 0x28, R3_CHANGE_ADDRESS);

        assert_eq!(talk(&mut bus, 2, 3), None);
        assert_eq!(talk(&mut bus, 8, 3), Some(vec![0x08, 0x01]));
    }

    #[test]
    fn listen_r3_changes_keyboard_handler_only_to_a_supported_one() {
        let mut bus = AdbBus::new();

        listen(&mut bus, 2, 3, 0x22, 0x03);
        let extended = talk(&mut bus, 2, 3);
        listen(&mut bus, 2, 3, 0x22, 0x42);

        assert_eq!(extended, Some(vec![0x02, 0x03]));
        assert_eq!(talk(&mut bus, 2, 3), Some(vec![0x02, 0x03]));
    }

    #[test]
    fn mouse_refuses_extended_protocol_handler_4() {
        let mut bus = AdbBus::new();

        listen(&mut bus, 3, 3, 0x23, 0x04);

        assert_eq!(talk(&mut bus, 3, 3), Some(vec![0x03, 0x02]));
    }

    #[test]
    fn send_reset_returns_devices_to_power_on_addresses_and_empties_queues() {
        let mut bus = AdbBus::new();
        listen(&mut bus, 2, 3, 0x28, R3_CHANGE_ADDRESS);
        bus.key_event(keys::A, true);
        let mut out = [0; MAX_REPLY];

        let reply = bus.request(&[CMD_SEND_RESET], &mut out);

        assert_eq!(reply, AdbReply::Ok(0));
        assert_eq!(talk(&mut bus, 2, 3), Some(vec![0x02, 0x01]));
        assert!(!bus.keyboard.has_data());
    }

    #[test]
    fn keyboard_talk_r0_returns_two_codes_then_times_out() {
        let mut bus = AdbBus::new();
        bus.key_event(keys::A, true);
        bus.key_event(keys::A, false);
        bus.key_event(keys::B, true);

        assert_eq!(talk(&mut bus, 2, 0), Some(vec![0x00, 0x80]));
        assert_eq!(talk(&mut bus, 2, 0), Some(vec![0x0b, 0xff]));
        assert_eq!(talk(&mut bus, 2, 0), None);
    }

    #[test]
    fn keyboard_never_pairs_two_equal_codes() {
        let mut bus = AdbBus::new();
        bus.key_event(keys::A, true);
        bus.key_event(keys::A, true);

        assert_eq!(talk(&mut bus, 2, 0), Some(vec![0x00, 0xff]));
        assert_eq!(talk(&mut bus, 2, 0), Some(vec![0x00, 0xff]));
    }

    #[test]
    fn power_key_travels_alone_as_two_bytes() {
        let mut bus = AdbBus::new();
        bus.key_event(keys::A, true);
        bus.key_event(keys::POWER, true);
        bus.key_event(keys::POWER, false);

        assert_eq!(talk(&mut bus, 2, 0), Some(vec![0x00, 0xff]));
        assert_eq!(talk(&mut bus, 2, 0), Some(vec![0x7f, 0x7f]));
        assert_eq!(talk(&mut bus, 2, 0), Some(vec![0xff, 0xff]));
    }

    #[test]
    fn right_shift_reads_as_left_shift_unless_handler_3() {
        let mut bus = AdbBus::new();
        bus.key_event(keys::RIGHT_SHIFT, true);
        let standard = talk(&mut bus, 2, 0);
        listen(&mut bus, 2, 3, 0x22, 0x03);
        bus.key_event(keys::RIGHT_SHIFT, true);

        assert_eq!(standard, Some(vec![keys::SHIFT, 0xff]));
        assert_eq!(talk(&mut bus, 2, 0), Some(vec![keys::RIGHT_SHIFT, 0xff]));
    }

    #[test]
    fn flush_empties_the_key_queue() {
        let mut bus = AdbBus::new();
        bus.key_event(keys::Q, true);
        let mut out = [0; MAX_REPLY];

        bus.request(&[0x21], &mut out);

        assert_eq!(talk(&mut bus, 2, 0), None);
    }

    #[test]
    fn key_queue_drops_events_when_full() {
        let mut kbd = AdbKeyboard::default();
        for _ in 0..KEY_QUEUE_LEN + 5 {
            kbd.key_event(keys::Z, true);
        }

        assert_eq!(kbd.queue_len as usize, KEY_QUEUE_LEN);
    }

    #[test]
    fn mouse_reports_motion_with_buttons_active_low_in_bit_7() {
        let mut bus = AdbBus::new();
        bus.mouse_event(5, -3, BUTTON_PRIMARY);

        assert_eq!(talk(&mut bus, 3, 0), Some(vec![0x7d, 0x85]));
        assert_eq!(talk(&mut bus, 3, 0), None);
    }

    #[test]
    fn mouse_splits_large_motion_into_63_count_reports() {
        let mut bus = AdbBus::new();
        bus.mouse_event(100, 0, 0);

        assert_eq!(talk(&mut bus, 3, 0), Some(vec![0x80, 0x80 | 63]));
        assert_eq!(talk(&mut bus, 3, 0), Some(vec![0x80, 0x80 | 37]));
        assert_eq!(talk(&mut bus, 3, 0), None);
    }

    #[test]
    fn mouse_button_release_alone_is_reported() {
        let mut bus = AdbBus::new();
        bus.mouse_event(0, 0, BUTTON_PRIMARY);
        talk(&mut bus, 3, 0);
        bus.mouse_event(0, 0, 0);

        assert_eq!(talk(&mut bus, 3, 0), Some(vec![0x80, 0x80]));
    }

    #[test]
    fn poll_alternates_from_the_device_that_answered_last() {
        let mut bus = AdbBus::new();
        bus.mouse_event(1, 0, 0);
        bus.key_event(keys::A, true);
        let mut out = [0; MAX_REPLY];

        let first = bus.poll(0xffff, &mut out).map(|(cmd, _)| cmd);
        let second = bus.poll(0xffff, &mut out).map(|(cmd, _)| cmd);
        let third = bus.poll(0xffff, &mut out);

        assert_eq!(first, Some(0x2c));
        assert_eq!(second, Some(0x3c));
        assert_eq!(third, None);
    }

    #[test]
    fn poll_skips_devices_outside_the_mask() {
        let mut bus = AdbBus::new();
        bus.key_event(keys::A, true);
        let mut out = [0; MAX_REPLY];

        assert!(!bus.has_pending(1 << 3));
        assert_eq!(bus.poll(1 << 3, &mut out), None);
        assert!(bus.has_pending(1 << 2));
    }

    #[test]
    fn qcode_names_map_like_qemu() {
        assert_eq!(adb_code_for_qcode("a"), Some(keys::A));
        assert_eq!(adb_code_for_qcode("ret"), Some(keys::RETURN));
        assert_eq!(adb_code_for_qcode("meta_r"), Some(keys::COMMAND));
        assert_eq!(adb_code_for_qcode("shift_r"), Some(0x7b));
        assert_eq!(adb_code_for_qcode("no_such_key"), None);
    }

    #[test]
    fn adb_state_roundtrips_with_queued_keys_and_motion() {
        let mut bus = AdbBus::new();
        savevm::testing::assert_roundtrip(&mut bus);
        savevm::testing::assert_mutated_roundtrip(&mut bus, |b| {
            b.key_event(keys::K, true);
            b.key_event(keys::K, false);
            b.mouse_event(-7, 12, BUTTON_SECONDARY);
            b.poll_index = 1;
        });
    }

    #[test]
    fn adb_load_rejects_queue_position_past_the_end() {
        let mut bus = AdbBus::new();
        bus.keyboard.queue_head = 200;
        let bytes = savevm::save_bytes(&mut bus);

        assert!(savevm::load_bytes(&mut AdbBus::new(), &bytes).is_err());
    }
}
