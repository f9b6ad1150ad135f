//! The stdio multiplexer of `-nographic`: the serial console and the monitor
//! share the terminal, switched with QEMU's Ctrl-A escapes.

pub const ESCAPE: u8 = 0x01; // Ctrl-A

/// Who gets typed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Serial,
    Monitor,
}

/// What one input byte means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MuxEvent {
    /// A byte for the serial port.
    Serial(u8),
    /// A byte for the monitor's line editor.
    Monitor(u8),
    /// Ctrl-A x.
    Quit,
    /// Ctrl-A h.
    Help,
    /// Ctrl-A c: focus moved to this side.
    Switched(Focus),
}

/// The help text of Ctrl-A h, in QEMU's words (with CR for a raw terminal).
pub const HELP: &str = "\r\n\
C-a h    print this help\r\n\
C-a x    exit emulator\r\n\
C-a c    switch between console and monitor\r\n\
C-a C-a  sends C-a\r\n";

#[derive(Debug, Clone)]
pub struct Mux {
    focus: Focus,
    escape: bool,
}

impl Default for Mux {
    fn default() -> Self {
        Self::new()
    }
}

impl Mux {
    pub fn new() -> Mux {
        Mux {
            focus: Focus::Serial,
            escape: false,
        }
    }

    pub fn focus(&self) -> Focus {
        self.focus
    }

    /// Feed one byte from the terminal. Unknown escapes are swallowed, as in QEMU.
    pub fn feed(&mut self, b: u8) -> Option<MuxEvent> {
        if self.escape {
            self.escape = false;
            return match b {
                ESCAPE => Some(self.deliver(ESCAPE)),
                b'x' | b'X' => Some(MuxEvent::Quit),
                b'h' | b'H' | b'?' => Some(MuxEvent::Help),
                b'c' | b'C' => {
                    self.focus = match self.focus {
                        Focus::Serial => Focus::Monitor,
                        Focus::Monitor => Focus::Serial,
                    };
                    Some(MuxEvent::Switched(self.focus))
                }
                _ => None,
            };
        }
        if b == ESCAPE {
            self.escape = true;
            return None;
        }
        Some(self.deliver(b))
    }

    fn deliver(&self, b: u8) -> MuxEvent {
        match self.focus {
            Focus::Serial => MuxEvent::Serial(b),
            Focus::Monitor => MuxEvent::Monitor(b),
        }
    }
}

/// A minimal line editor for the monitor: collects bytes into lines, handles
/// backspace, and returns what to echo when the terminal does not.
#[derive(Debug, Default, Clone)]
pub struct LineEditor {
    line: Vec<u8>,
    last_cr: bool,
}

impl LineEditor {
    /// Feed one byte; returns (completed line, bytes to echo).
    pub fn feed(&mut self, b: u8) -> (Option<String>, Vec<u8>) {
        let after_cr = std::mem::take(&mut self.last_cr);
        match b {
            b'\r' | b'\n' => {
                if b == b'\n' && after_cr {
                    return (None, Vec::new()); // CR LF: one line
                }
                self.last_cr = b == b'\r';
                let line = String::from_utf8_lossy(&std::mem::take(&mut self.line)).into_owned();
                (Some(line), b"\r\n".to_vec())
            }
            0x08 | 0x7f => {
                if self.line.pop().is_some() {
                    (None, b"\x08 \x08".to_vec())
                } else {
                    (None, Vec::new())
                }
            }
            0x20..=0x7e | 0x09 => {
                if self.line.len() < 4096 {
                    self.line.push(b);
                    (None, vec![b])
                } else {
                    (None, Vec::new())
                }
            }
            _ => (None, Vec::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(m: &mut Mux, bytes: &[u8]) -> Vec<MuxEvent> {
        bytes.iter().filter_map(|&b| m.feed(b)).collect()
    }

    #[test]
    fn plain_bytes_go_to_serial() {
        let mut m = Mux::new();
        assert_eq!(
            feed_all(&mut m, b"ab"),
            [MuxEvent::Serial(b'a'), MuxEvent::Serial(b'b')]
        );
    }

    #[test]
    fn ctrl_a_c_toggles_monitor_and_back() {
        let mut m = Mux::new();
        let ev = feed_all(&mut m, b"\x01cq\x01cz");
        assert_eq!(
            ev,
            [
                MuxEvent::Switched(Focus::Monitor),
                MuxEvent::Monitor(b'q'),
                MuxEvent::Switched(Focus::Serial),
                MuxEvent::Serial(b'z'),
            ]
        );
    }

    #[test]
    fn ctrl_a_ctrl_a_sends_one_ctrl_a_to_the_focused_side() {
        let mut m = Mux::new();
        assert_eq!(feed_all(&mut m, b"\x01\x01"), [MuxEvent::Serial(0x01)]);
        feed_all(&mut m, b"\x01c");
        assert_eq!(feed_all(&mut m, b"\x01\x01"), [MuxEvent::Monitor(0x01)]);
    }

    #[test]
    fn ctrl_a_x_quits_and_ctrl_a_h_helps() {
        let mut m = Mux::new();
        assert_eq!(
            feed_all(&mut m, b"\x01h\x01x"),
            [MuxEvent::Help, MuxEvent::Quit]
        );
    }

    #[test]
    fn unknown_escape_is_swallowed_and_state_resets() {
        let mut m = Mux::new();
        assert_eq!(feed_all(&mut m, b"\x01qa"), [MuxEvent::Serial(b'a')]);
        assert_eq!(m.focus(), Focus::Serial);
    }

    #[test]
    fn line_editor_handles_backspace_and_crlf() {
        let mut e = LineEditor::default();
        let mut lines = Vec::new();
        for &b in b"infx\x7fo status\r\nstop\n" {
            if let (Some(l), _) = e.feed(b) {
                lines.push(l);
            }
        }
        assert_eq!(lines, ["info status", "stop"]);
    }

    #[test]
    fn line_editor_echoes_printables_and_erases() {
        let mut e = LineEditor::default();
        assert_eq!(e.feed(b'a').1, b"a");
        assert_eq!(e.feed(0x7f).1, b"\x08 \x08");
        assert_eq!(e.feed(0x7f).1, b"");
    }
}
