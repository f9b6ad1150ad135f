//! The host terminal: raw mode for the stdio console, always restored.
//!
//! Raw mode is entered only when stdin is a tty. The saved settings live in a
//! `OnceLock`, which a signal handler can read without locking, so the
//! terminal comes back on normal exit (`RawGuard` drop), on panic (panic
//! hook) and on SIGINT/SIGTERM/SIGHUP (handler restores, then the main thread
//! exits). Like QEMU's stdio, Ctrl-C still raises SIGINT and ends beige.
//!
//! This is the one module that talks to libc directly; each `unsafe` block
//! says why it is sound.
#![allow(unsafe_code)]

use std::fs::File;
use std::io;
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::OnceLock;

static SAVED: OnceLock<libc::termios> = OnceLock::new();
/// The signal that asked us to stop, or 0.
static SIGNALLED: AtomicI32 = AtomicI32::new(0);

pub fn stdin_is_tty() -> bool {
    // SAFETY: isatty only inspects the descriptor number.
    unsafe { libc::isatty(libc::STDIN_FILENO) == 1 }
}

/// Put stdin in raw mode the way QEMU's stdio backend does: no echo, no line
/// editing, no CR/LF translation on input; output post-processing stays on
/// (so `\n` still returns the carriage) and so does ISIG.
#[derive(Debug)]
pub struct RawGuard {
    active: bool,
}

impl RawGuard {
    pub fn enter() -> io::Result<RawGuard> {
        if !stdin_is_tty() {
            return Ok(RawGuard { active: false });
        }
        // SAFETY: termios is plain data; tcgetattr fills it completely on success.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: valid fd and a valid pointer to a termios.
        if unsafe { libc::tcgetattr(libc::STDIN_FILENO, &mut t) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let _ = SAVED.set(t);
        install_panic_hook();
        let mut raw = t;
        raw.c_iflag &= !(libc::IGNBRK
            | libc::BRKINT
            | libc::PARMRK
            | libc::ISTRIP
            | libc::INLCR
            | libc::IGNCR
            | libc::ICRNL
            | libc::IXON);
        raw.c_oflag |= libc::OPOST;
        raw.c_lflag &= !(libc::ECHO | libc::ECHONL | libc::ICANON | libc::IEXTEN);
        raw.c_cflag &= !(libc::CSIZE | libc::PARENB);
        raw.c_cflag |= libc::CS8;
        raw.c_cc[libc::VMIN] = 1;
        raw.c_cc[libc::VTIME] = 0;
        // SAFETY: valid fd and a valid termios.
        if unsafe { libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &raw) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(RawGuard { active: true })
    }

    pub fn is_raw(&self) -> bool {
        self.active
    }
}

impl Drop for RawGuard {
    fn drop(&mut self) {
        if self.active {
            restore();
        }
    }
}

/// Put the terminal back as it was (no-op if it was never changed).
/// Async-signal-safe: one atomic load and one tcsetattr.
pub fn restore() {
    if let Some(t) = SAVED.get() {
        // SAFETY: valid fd and a pointer to a termios that lives forever.
        unsafe {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
        }
    }
}

fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            restore();
            prev(info);
        }));
    });
}

extern "C" fn on_signal(sig: libc::c_int) {
    restore();
    SIGNALLED.store(sig, Ordering::SeqCst);
}

/// Catch SIGINT, SIGTERM and SIGHUP: restore the terminal and record the
/// signal for the main thread, which then shuts down cleanly.
pub fn install_signal_handlers() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: sigaction is zeroed plain data; the handler only does
        // async-signal-safe work (tcsetattr and an atomic store).
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            sa.sa_flags = libc::SA_RESTART;
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// The signal received, if any.
pub fn signalled() -> Option<i32> {
    match SIGNALLED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// A new pseudo-terminal: the master as a `File`, and the slave's path. The
/// slave is set raw, and one slave descriptor is kept open for the life of the
/// process so the master reads block (instead of failing) while nobody is
/// attached, as QEMU's pty backend behaves.
pub fn open_pty() -> io::Result<(File, PathBuf)> {
    // SAFETY: plain libc calls on a descriptor we own; ptsname_r writes at
    // most buf.len() bytes including the NUL.
    unsafe {
        let fd = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let master = File::from_raw_fd(fd);
        if libc::grantpt(fd) != 0 || libc::unlockpt(fd) != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut buf = [0 as libc::c_char; 128];
        if libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()) != 0 {
            return Err(io::Error::last_os_error());
        }
        let cpath = std::ffi::CStr::from_ptr(buf.as_ptr());
        let path = PathBuf::from(cpath.to_string_lossy().into_owned());
        let slave = libc::open(
            cpath.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        if slave >= 0 {
            let mut t: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(slave, &mut t) == 0 {
                libc::cfmakeraw(&mut t);
                libc::tcsetattr(slave, libc::TCSANOW, &t);
            }
            // Deliberately kept open (see above).
        }
        Ok((master, path))
    }
}

/// Seconds east of UTC of the host's local time zone now (for -rtc base=localtime).
pub fn local_utc_offset(now_unix: i64) -> i64 {
    let t = now_unix as libc::time_t;
    // SAFETY: tm is plain data; localtime_r fills it from a valid time_t.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        tm.tm_gmtoff
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_mode_is_a_noop_without_a_tty() {
        // Test runners give no tty on stdin; the guard must not touch anything.
        if !stdin_is_tty() {
            let g = RawGuard::enter().unwrap();
            assert!(!g.is_raw());
        }
    }

    #[test]
    fn pty_slave_exists() {
        let (_m, p) = open_pty().unwrap();
        assert!(p.exists(), "{}", p.display());
    }

    #[test]
    fn local_offset_is_within_a_day() {
        assert!(local_utc_offset(1_700_000_000).abs() <= 14 * 3600);
    }
}
