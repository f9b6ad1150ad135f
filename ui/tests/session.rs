//! End-to-end through the real binary with `-M none` (no guest): the stdio
//! mux and monitor, snapshots across processes, signals, and the terminal
//! coming back from raw mode on a real pseudo-terminal.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn temp_dir(label: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("beige-e2e-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

fn beige_with_input(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_beige"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    wait_output(child, Duration::from_secs(20))
}

/// Wait for exit with a deadline, killing the child if it overruns.
fn wait_output(mut child: Child, limit: Duration) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("beige did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn sigterm(child: &Child) {
    // SAFETY: kill with a pid we spawned and a valid signal number.
    unsafe {
        libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
    }
}

#[test]
fn monitor_on_the_stdio_mux_answers_and_quits_with_status_zero() {
    let out = beige_with_input(
        &["-M", "none", "-nographic"],
        b"\x01cinfo status\nstop\ninfo status\nquit\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.contains("VM status: running"), "{s}");
    assert!(s.contains("VM status: paused"), "{s}");
}

#[test]
fn ctrl_a_x_exits_zero() {
    let out = beige_with_input(&["-M", "none", "-nographic"], b"\x01x");
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("beige: terminated"));
}

#[test]
fn minus_capital_s_starts_paused() {
    let out = beige_with_input(
        &["-M", "none", "-nographic", "-S"],
        b"\x01cinfo status\nq\n",
    );
    assert!(text(&out.stdout).contains("VM status: paused"));
}

#[test]
fn stdin_eof_does_not_quit_and_sigterm_exits_cleanly() {
    let child = Command::new(env!("CARGO_BIN_EXE_beige"))
        .args(["-M", "none", "-nographic"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut child = child;
    assert!(child.try_wait().unwrap().is_none(), "exited on stdin EOF");
    sigterm(&child);
    let out = wait_output(child, Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("terminating on signal 15"));
}

#[test]
fn snapshot_saved_in_one_process_loads_in_the_next() {
    let dir = temp_dir("snap");
    let d = dir.to_str().unwrap();
    let out = beige_with_input(
        &["-M", "none", "-nographic", "-snapshot-dir", d],
        b"\x01csavevm boot1\nquit\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(dir.join("boot1.zst").is_file());
    let out = beige_with_input(
        &[
            "-M",
            "none",
            "-nographic",
            "-snapshot-dir",
            d,
            "-loadvm",
            "boot1",
        ],
        b"\x01cinfo snapshots\nquit\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("boot1"));
    let out = beige_with_input(
        &[
            "-M",
            "none",
            "-nographic",
            "-snapshot-dir",
            d,
            "-loadvm",
            "nope",
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("snapshot 'nope' does not exist"),
        "{}",
        text(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn lflag(f: &File) -> (libc::tcflag_t, libc::tcflag_t) {
    // SAFETY: termios is plain data, filled by tcgetattr on a valid tty fd.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(f.as_raw_fd(), &mut t), 0);
        (t.c_lflag, t.c_iflag)
    }
}

fn make_cooked(f: &File) {
    // SAFETY: as in `lflag`; tcsetattr with the termios just read and edited.
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(f.as_raw_fd(), &mut t), 0);
        t.c_lflag |= libc::ICANON | libc::ECHO | libc::ISIG | libc::IEXTEN;
        t.c_iflag |= libc::ICRNL;
        t.c_oflag |= libc::OPOST;
        assert_eq!(libc::tcsetattr(f.as_raw_fd(), libc::TCSANOW, &t), 0);
    }
}

/// Run beige on a pty; `finish` ends it; check raw mode came and went.
fn terminal_restored_after(finish: impl FnOnce(&Child, &mut File)) -> Output {
    let (mut master, slave_path): (File, PathBuf) = beige_ui::term::open_pty().unwrap();
    let slave = OpenOptions::new()
        .read(true)
        .write(true)
        .open(Path::new(&slave_path))
        .unwrap();
    make_cooked(&slave); // open_pty made it raw for chardev use
    let before = lflag(&slave);
    assert_ne!(before.0 & libc::ICANON, 0, "pty should start cooked");
    let child = Command::new(env!("CARGO_BIN_EXE_beige"))
        .args(["-M", "none", "-nographic"])
        .stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while lflag(&slave).0 & libc::ICANON != 0 {
        assert!(start.elapsed() < Duration::from_secs(10), "never went raw");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        lflag(&slave).0 & libc::ECHO,
        0,
        "echo must be off in raw mode"
    );
    // Drain the master so the child's writes never block.
    let mut reader = master.try_clone().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1024];
        while matches!(reader.read(&mut buf), Ok(n) if n > 0) {}
    });
    finish(&child, &mut master);
    let out = wait_output(child, Duration::from_secs(10));
    assert_eq!(lflag(&slave), before, "terminal settings not restored");
    out
}

#[test]
fn terminal_is_restored_after_ctrl_a_x() {
    let out = terminal_restored_after(|_, m| m.write_all(b"\x01x").unwrap());
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn terminal_is_restored_after_sigterm() {
    let out = terminal_restored_after(|c, _| sigterm(c));
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("terminating on signal 15"));
}

#[test]
fn dump_vmstate_writes_the_description_and_exits() {
    let dir = temp_dir("dump");
    let f = dir.join("vmstate.json");
    let out = beige_with_input(&["-M", "none", "-dump-vmstate", f.to_str().unwrap()], b"");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(std::fs::read_to_string(&f).unwrap().contains("\"none\""));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn log_file_is_created_for_minus_capital_d() {
    let dir = temp_dir("log");
    let f = dir.join("beige.log");
    let out = beige_with_input(
        &[
            "-M",
            "none",
            "-nographic",
            "-d",
            "unimp,int",
            "-D",
            f.to_str().unwrap(),
        ],
        b"\x01x",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(f.is_file());
    let bad = beige_with_input(&["-M", "none", "-D", "/nonexistent/dir/x.log"], b"");
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("-D /nonexistent/dir/x.log"));
    let _ = std::fs::remove_dir_all(&dir);
}
