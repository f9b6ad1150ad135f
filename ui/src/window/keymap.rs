//! Host keys to ADB key codes (US layout), for the window and `sendkey`.
//! Codes are Apple's ADB virtual key codes, as QEMU's `adb-keys.h`.

use winit::keyboard::KeyCode;

/// QEMU `sendkey` names and their ADB codes. `alt` is Option and `meta_l`
/// is Command, as QEMU maps them on the Mac machines.
#[rustfmt::skip]
pub const NAMES: &[(&str, u8)] = &[
    ("a", 0x00), ("s", 0x01), ("d", 0x02), ("f", 0x03), ("h", 0x04), ("g", 0x05),
    ("z", 0x06), ("x", 0x07), ("c", 0x08), ("v", 0x09), ("b", 0x0B), ("q", 0x0C),
    ("w", 0x0D), ("e", 0x0E), ("r", 0x0F), ("y", 0x10), ("t", 0x11), ("1", 0x12),
    ("2", 0x13), ("3", 0x14), ("4", 0x15), ("6", 0x16), ("5", 0x17), ("equal", 0x18),
    ("9", 0x19), ("7", 0x1A), ("minus", 0x1B), ("8", 0x1C), ("0", 0x1D),
    ("bracket_right", 0x1E), ("o", 0x1F), ("u", 0x20), ("bracket_left", 0x21),
    ("i", 0x22), ("p", 0x23), ("ret", 0x24), ("l", 0x25), ("j", 0x26),
    ("apostrophe", 0x27), ("k", 0x28), ("semicolon", 0x29), ("backslash", 0x2A),
    ("comma", 0x2B), ("slash", 0x2C), ("n", 0x2D), ("m", 0x2E), ("dot", 0x2F),
    ("tab", 0x30), ("spc", 0x31), ("grave_accent", 0x32), ("backspace", 0x33),
    ("esc", 0x35), ("ctrl", 0x36), ("meta_l", 0x37), ("shift", 0x38),
    ("caps_lock", 0x39), ("alt", 0x3A), ("left", 0x3B), ("right", 0x3C),
    ("down", 0x3D), ("up", 0x3E), ("f5", 0x60), ("f6", 0x61), ("f7", 0x62),
    ("f3", 0x63), ("f8", 0x64), ("f9", 0x65), ("f11", 0x67), ("f10", 0x6D),
    ("f12", 0x6F), ("insert", 0x72), ("home", 0x73), ("pgup", 0x74), ("delete", 0x75),
    ("f4", 0x76), ("end", 0x77), ("f2", 0x78), ("pgdn", 0x79), ("f1", 0x7A),
    ("shift_r", 0x7B), ("alt_r", 0x7C), ("ctrl_r", 0x7D), ("meta_r", 0x37),
];

pub fn adb_from_name(name: &str) -> Option<u8> {
    NAMES.iter().find(|(n, _)| *n == name).map(|&(_, c)| c)
}

/// `sendkey ctrl-alt-f1` → the ADB codes in press order.
pub fn parse_combo(text: &str) -> Result<Vec<u8>, String> {
    text.split('-')
        .map(|k| adb_from_name(k).ok_or_else(|| format!("sendkey: unknown key '{k}'")))
        .collect()
}

/// A physical host key (US layout position) to its ADB code.
#[rustfmt::skip]
pub fn adb_from_keycode(k: KeyCode) -> Option<u8> {
    use KeyCode::*;
    let name = match k {
        KeyA => "a", KeyB => "b", KeyC => "c", KeyD => "d", KeyE => "e", KeyF => "f",
        KeyG => "g", KeyH => "h", KeyI => "i", KeyJ => "j", KeyK => "k", KeyL => "l",
        KeyM => "m", KeyN => "n", KeyO => "o", KeyP => "p", KeyQ => "q", KeyR => "r",
        KeyS => "s", KeyT => "t", KeyU => "u", KeyV => "v", KeyW => "w", KeyX => "x",
        KeyY => "y", KeyZ => "z",
        Digit0 => "0", Digit1 => "1", Digit2 => "2", Digit3 => "3", Digit4 => "4",
        Digit5 => "5", Digit6 => "6", Digit7 => "7", Digit8 => "8", Digit9 => "9",
        Enter | NumpadEnter => "ret", Space => "spc", Tab => "tab", Backspace => "backspace",
        Escape => "esc", Minus => "minus", Equal => "equal", BracketLeft => "bracket_left",
        BracketRight => "bracket_right", Backslash => "backslash", Semicolon => "semicolon",
        Quote => "apostrophe", Backquote => "grave_accent", Comma => "comma",
        Period => "dot", Slash => "slash",
        ShiftLeft => "shift", ShiftRight => "shift_r", ControlLeft => "ctrl",
        ControlRight => "ctrl_r", AltLeft => "alt", AltRight => "alt_r",
        SuperLeft => "meta_l", SuperRight => "meta_r", CapsLock => "caps_lock",
        ArrowLeft => "left", ArrowRight => "right", ArrowUp => "up", ArrowDown => "down",
        F1 => "f1", F2 => "f2", F3 => "f3", F4 => "f4", F5 => "f5", F6 => "f6",
        F7 => "f7", F8 => "f8", F9 => "f9", F10 => "f10", F11 => "f11", F12 => "f12",
        Insert => "insert", Delete => "delete", Home => "home", End => "end",
        PageUp => "pgup", PageDown => "pgdn",
        _ => return None,
    };
    adb_from_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_and_modifiers_map_to_adb_codes() {
        assert_eq!(adb_from_keycode(KeyCode::KeyA), Some(0x00));
        assert_eq!(adb_from_keycode(KeyCode::Enter), Some(0x24));
        assert_eq!(adb_from_keycode(KeyCode::SuperLeft), Some(0x37)); // Command
        assert_eq!(adb_from_keycode(KeyCode::AltLeft), Some(0x3A)); // Option
        assert_eq!(adb_from_keycode(KeyCode::CapsLock), Some(0x39));
    }

    #[test]
    fn names_are_unique() {
        for (i, (a, _)) in NAMES.iter().enumerate() {
            assert!(!NAMES[i + 1..].iter().any(|(b, _)| a == b), "{a} twice");
        }
    }

    #[test]
    fn combo_parses_in_press_order_and_rejects_unknown() {
        assert_eq!(parse_combo("ctrl-alt-f1"), Ok(vec![0x36, 0x3A, 0x7A]));
        assert!(parse_combo("ctrl-bogus").unwrap_err().contains("'bogus'"));
    }
}
