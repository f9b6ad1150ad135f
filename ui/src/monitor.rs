//! The human monitor (HMP): QEMU's command names, run on the VM thread
//! between slices so every command sees a machine that is not executing.
//! Errors are one line; no command stops the VM unless it is meant to.

use std::path::PathBuf;

use crate::snapshot::{self, SnapshotDir};
use crate::vm::Vm;

pub const PROMPT: &str = "(beige) ";
pub const BANNER: &str = "beige monitor - type 'help' for more information\n";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Empty,
    Help,
    InfoStatus,
    InfoRegisters,
    InfoSnapshots,
    Stop,
    Cont,
    SystemReset,
    Quit,
    SaveVm(Option<String>),
    LoadVm(String),
    DelVm(String),
    Screendump(PathBuf),
    SendKey(String),
}

const HELP: &str = "\
cont|c                -- resume emulation
delvm tag             -- delete the snapshot identified by 'tag'
help|?                -- show this help
info status           -- show the current VM status (running|paused)
info registers        -- show the cpu registers
info snapshots        -- show the currently saved VM snapshots
loadvm tag            -- restore a VM snapshot from its tag
quit|q                -- quit the emulator
savevm [tag]          -- save a VM snapshot; without a tag one is made from the date
screendump filename   -- save the screen to a PNG file
sendkey keys          -- send keys to the VM (e.g. 'sendkey ctrl-alt-f1')
stop                  -- stop emulation
system_reset          -- reset the system
";

pub fn parse(line: &str) -> Result<Command, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let one_arg = |name: &str| -> Result<String, String> {
        match words[1..] {
            [a] => Ok(a.to_string()),
            [] => Err(format!("{name}: missing argument (help lists the syntax)")),
            _ => Err(format!("{name}: too many arguments")),
        }
    };
    let no_args = |c: Command| -> Result<Command, String> {
        if words.len() == 1 {
            Ok(c)
        } else {
            Err(format!("{}: takes no arguments", words[0]))
        }
    };
    let Some(&cmd) = words.first() else {
        return Ok(Command::Empty);
    };
    match cmd {
        "help" | "?" | "h" => Ok(Command::Help),
        "info" | "i" => match words.get(1..) {
            Some(["status"]) => Ok(Command::InfoStatus),
            Some(["registers"]) | Some(["r"]) => Ok(Command::InfoRegisters),
            Some(["snapshots"]) => Ok(Command::InfoSnapshots),
            Some([]) | None => Err("info: which? status, registers or snapshots".into()),
            Some([other, ..]) => Err(format!(
                "info {other}: unknown (beige has: status, registers, snapshots)"
            )),
        },
        "stop" => no_args(Command::Stop),
        "cont" | "c" => no_args(Command::Cont),
        "system_reset" => no_args(Command::SystemReset),
        "quit" | "q" => no_args(Command::Quit),
        "savevm" => match words[1..] {
            [] => Ok(Command::SaveVm(None)),
            [t] => Ok(Command::SaveVm(Some(t.to_string()))),
            _ => Err("savevm: too many arguments".into()),
        },
        "loadvm" => one_arg("loadvm").map(Command::LoadVm),
        "delvm" => one_arg("delvm").map(Command::DelVm),
        "screendump" => one_arg("screendump").map(|p| Command::Screendump(p.into())),
        "sendkey" => one_arg("sendkey").map(Command::SendKey),
        _ => Err(format!("unknown command: '{cmd}' (help lists them)")),
    }
}

/// The VM and what the monitor controls about it. Owned by the VM thread.
pub struct VmHost {
    pub vm: Box<dyn Vm>,
    pub running: bool,
    pub snapshots: SnapshotDir,
    /// Set by `quit`; the VM thread exits when it sees it.
    pub quit: bool,
    /// Bumped whenever the virtual clock jumps (loadvm, reset, cont), so the
    /// pacing anchor is re-taken.
    pub epoch: u64,
    /// Host wall clock for snapshot dates; a function so tests fix it.
    pub wall_clock: fn() -> i64,
}

impl std::fmt::Debug for VmHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VmHost")
            .field("machine", &self.vm.machine_type())
            .field("running", &self.running)
            .field("snapshots", &self.snapshots)
            .field("quit", &self.quit)
            .finish()
    }
}

pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl VmHost {
    pub fn new(vm: Box<dyn Vm>, snapshots: SnapshotDir) -> VmHost {
        VmHost {
            vm,
            running: true,
            snapshots,
            quit: false,
            epoch: 0,
            wall_clock: unix_now,
        }
    }

    /// Run one monitor line; returns the text to print (may be empty).
    pub fn execute_line(&mut self, line: &str) -> String {
        match parse(line) {
            Ok(cmd) => self.execute(cmd),
            Err(e) => format!("{e}\n"),
        }
    }

    pub fn execute(&mut self, cmd: Command) -> String {
        match cmd {
            Command::Empty => String::new(),
            Command::Help => HELP.to_string(),
            Command::InfoStatus => format!(
                "VM status: {}\n",
                if self.running { "running" } else { "paused" }
            ),
            Command::InfoRegisters => {
                let mut s = self.vm.info_registers();
                if !s.ends_with('\n') {
                    s.push('\n');
                }
                s
            }
            Command::InfoSnapshots => match self.snapshots.list() {
                Ok(list) => snapshot::format_list(&list),
                Err(e) => format!("{e}\n"),
            },
            Command::Stop => {
                self.running = false;
                String::new()
            }
            Command::Cont => {
                if !self.running {
                    self.running = true;
                    self.epoch += 1;
                }
                String::new()
            }
            Command::SystemReset => {
                self.vm.system_reset();
                self.epoch += 1;
                String::new()
            }
            Command::Quit => {
                self.quit = true;
                String::new()
            }
            Command::SaveVm(tag) => {
                let now = (self.wall_clock)();
                let tag = tag.unwrap_or_else(|| snapshot::default_tag(now));
                match self.snapshots.save(&tag, self.vm.as_mut(), now) {
                    Ok(_) => String::new(),
                    Err(e) => format!("Error: {e}\n"),
                }
            }
            Command::LoadVm(tag) => match self.snapshots.load(&tag, self.vm.as_mut()) {
                Ok(_) => {
                    self.epoch += 1;
                    String::new()
                }
                Err(e) => format!("Error: {e}\n"),
            },
            Command::DelVm(tag) => match self.snapshots.delete(&tag) {
                Ok(()) => String::new(),
                Err(e) => format!("Error: {e}\n"),
            },
            Command::Screendump(path) => match self.vm.framebuffer() {
                None => "Error: screendump: this machine has no display to capture yet\n".into(),
                Some(frame) => match crate::screendump::write_png(&path, &frame) {
                    Ok(()) => String::new(),
                    Err(e) => format!("Error: screendump {}: {e}\n", path.display()),
                },
            },
            Command::SendKey(combo) => match crate::window::keymap::parse_combo(&combo) {
                Ok(codes) => {
                    for &c in &codes {
                        self.vm.key_event(c, true);
                    }
                    for &c in codes.iter().rev() {
                        self.vm.key_event(c, false);
                    }
                    String::new()
                }
                Err(e) => format!("Error: {e}\n"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use crate::vm::fake::FakeVm;

    fn host(dir: &TempDir) -> VmHost {
        let mut vm = FakeVm::new();
        vm.state.counter = 10;
        let mut h = VmHost::new(Box::new(vm), SnapshotDir::new(dir.path()));
        h.wall_clock = || 1_150_560_081;
        h
    }

    fn counter(h: &mut VmHost) -> String {
        h.execute_line("info registers")
    }

    #[test]
    fn parses_qemu_spellings() {
        assert_eq!(parse("  info   status "), Ok(Command::InfoStatus));
        assert_eq!(parse("c"), Ok(Command::Cont));
        assert_eq!(parse("q"), Ok(Command::Quit));
        assert_eq!(parse("savevm"), Ok(Command::SaveVm(None)));
        assert_eq!(parse("savevm a1"), Ok(Command::SaveVm(Some("a1".into()))));
        assert_eq!(parse("loadvm a1"), Ok(Command::LoadVm("a1".into())));
        assert_eq!(parse(""), Ok(Command::Empty));
    }

    #[test]
    fn parse_errors_are_one_line() {
        for bad in [
            "frob",
            "info",
            "info mtree",
            "loadvm",
            "delvm a b",
            "stop now",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(!e.contains('\n') && !e.is_empty(), "{bad}: {e}");
        }
    }

    #[test]
    fn stop_cont_and_status() {
        let d = TempDir::new("mon");
        let mut h = host(&d);
        assert_eq!(h.execute_line("info status"), "VM status: running\n");
        h.execute_line("stop");
        assert_eq!(h.execute_line("info status"), "VM status: paused\n");
        h.execute_line("cont");
        assert!(h.running);
    }

    #[test]
    fn savevm_keeps_run_state_and_loadvm_restores() {
        let d = TempDir::new("mon");
        let mut h = host(&d);
        let before = counter(&mut h);
        assert_eq!(h.execute_line("savevm s1"), "");
        assert!(h.running, "savevm must not stop a running VM");
        h.execute_line("system_reset");
        assert_ne!(counter(&mut h), before);
        h.execute_line("stop");
        assert_eq!(h.execute_line("loadvm s1"), "");
        assert_eq!(counter(&mut h), before);
        assert!(!h.running, "loadvm must not start a stopped VM");
    }

    #[test]
    fn bare_savevm_makes_a_timestamped_tag() {
        let d = TempDir::new("mon");
        let mut h = host(&d);
        h.execute_line("savevm");
        let list = h.execute_line("info snapshots");
        assert!(list.contains("vm-20060617160121"), "{list}");
        assert!(list.contains("2006-06-17 16:01:21"), "{list}");
    }

    #[test]
    fn failed_loadvm_reports_and_leaves_vm_unchanged() {
        let d = TempDir::new("mon");
        let mut h = host(&d);
        h.execute_line("savevm good");
        let p = d.path().join("good.zst");
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.truncate(bytes.len() / 2 + 260);
        std::fs::write(&p, bytes).unwrap();
        h.execute_line("system_reset");
        let before = counter(&mut h);
        let out = h.execute_line("loadvm good");
        assert!(out.starts_with("Error: snapshot 'good'"), "{out}");
        assert_eq!(out.lines().count(), 1, "{out}");
        assert_eq!(counter(&mut h), before);
        assert!(h.running);
        let out = h.execute_line("loadvm nope");
        assert!(out.contains("does not exist"), "{out}");
    }

    #[test]
    fn delvm_and_info_snapshots() {
        let d = TempDir::new("mon");
        let mut h = host(&d);
        assert_eq!(
            h.execute_line("info snapshots"),
            "There is no snapshot available.\n"
        );
        h.execute_line("savevm x");
        assert!(h.execute_line("info snapshots").contains("fake-1.0"));
        assert_eq!(h.execute_line("delvm x"), "");
        assert!(h.execute_line("delvm x").contains("does not exist"));
    }

    #[test]
    fn savevm_with_bad_tag_is_an_error_line() {
        let d = TempDir::new("mon");
        let mut h = host(&d);
        let out = h.execute_line("savevm ../escape");
        assert!(out.starts_with("Error: invalid tag"), "{out}");
    }

    #[test]
    fn quit_sets_the_flag() {
        let d = TempDir::new("mon");
        let mut h = host(&d);
        h.execute_line("quit");
        assert!(h.quit);
    }

    #[test]
    fn sendkey_presses_in_order_and_releases_in_reverse() {
        let d = TempDir::new("mon");
        let vm = FakeVm::new();
        let keys = vm.keys.clone();
        let mut h = VmHost::new(Box::new(vm), SnapshotDir::new(d.path()));
        assert_eq!(h.execute_line("sendkey ctrl-alt-f1"), "");
        assert_eq!(
            *keys.lock().unwrap(),
            [
                (0x36, true),
                (0x3A, true),
                (0x7A, true),
                (0x7A, false),
                (0x3A, false),
                (0x36, false)
            ]
        );
        assert!(h
            .execute_line("sendkey ctrl-nokey")
            .contains("unknown key 'nokey'"));
        assert_eq!(
            keys.lock().unwrap().len(),
            6,
            "nothing sent for a bad combo"
        );
    }

    #[test]
    fn screendump_writes_png_when_the_machine_has_a_screen() {
        let d = TempDir::new("mon");
        let mut vm = FakeVm::new();
        vm.screen = Some(crate::vm::Frame {
            width: 2,
            height: 2,
            pixels: vec![0xFFFFFF; 4],
        });
        let mut h = VmHost::new(Box::new(vm), SnapshotDir::new(d.path()));
        let p = d.path().join("s.png");
        assert_eq!(h.execute_line(&format!("screendump {}", p.display())), "");
        assert!(std::fs::read(&p).unwrap().starts_with(b"\x89PNG"));
    }

    #[test]
    fn screendump_without_display_is_refused_clearly() {
        let d = TempDir::new("mon");
        let mut h = host(&d);
        let out = h.execute_line("screendump /tmp/x.png");
        assert!(out.contains("no display"), "{out}");
    }
}
