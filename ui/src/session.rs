//! A running session: the VM thread, the host I/O threads, and how they talk.
//!
//! The VM thread owns the machine (`VmHost`) and runs it in slices of virtual
//! time. Between slices it takes messages from one channel: serial input,
//! monitor lines, quit. Host input threads (stdin with the Ctrl-A mux, pty,
//! unix sockets) only send messages, and all output goes through writer
//! threads (`Port`), so host I/O never blocks the CPU. Monitor commands run on
//! the VM thread, so they always see a machine between two slices.
//!
//! Pacing: when the guest idles, the VM thread waits in real time until the
//! guest's next deadline, but only while virtual time is ahead of real time;
//! a guest that fell behind is re-anchored instead of racing to catch up.
//! `-icount sleep=off` skips the wait (tests and benchmarks).

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use crate::chardev::{self, ChardevSpec, Port};
use crate::monitor::{VmHost, BANNER, PROMPT};
use crate::mux::{self, Focus, LineEditor, Mux, MuxEvent};
use crate::vm::{Frame, VmEvent};

/// Virtual time per slice: short enough that monitor commands and input are
/// handled within about a millisecond of host time.
pub const SLICE_NS: u64 = 1_000_000;
/// A guest further behind real time than this is re-anchored, not caught up.
const MAX_LAG_NS: u64 = 100_000_000;
/// How much a stalled serial FIFO may buffer on the host side.
const MAX_PENDING: usize = 1 << 20;

/// Messages to the VM thread.
#[derive(Debug)]
pub enum Ctl {
    Input {
        chan: usize,
        bytes: Vec<u8>,
    },
    /// A monitor line; the answer (and, with `prompt`, a new prompt) goes to `out`.
    Monitor {
        line: String,
        out: Port,
        prompt: bool,
    },
    /// Ctrl-A x: quit, printing a notice on `notice` after the last output.
    Quit {
        notice: Option<Port>,
    },
    /// From the window: an ADB key code went down or up.
    Key {
        code: u8,
        down: bool,
    },
    /// From the window: relative mouse motion and button state.
    Mouse {
        dx: i32,
        dy: i32,
        button: bool,
    },
}

/// How often the VM thread looks for a changed screen (about the refresh rate).
pub const FRAME_INTERVAL: Duration = Duration::from_millis(16);

/// What the window shows, published by the VM thread.
#[derive(Debug, Clone, Default)]
pub struct DisplayState {
    pub frame: Option<Arc<Frame>>,
    /// Bumped on each new frame.
    pub generation: u64,
    pub running: bool,
    pub machine: String,
    /// Virtual time per real time over the last second (1.0 = real time).
    pub speed: f64,
    /// Guest instructions per real microsecond over the last second, if counted.
    pub mips: Option<f64>,
}

/// The VM thread's link to a window: shared state plus a wake-up call.
#[derive(Clone)]
pub struct DisplayLink {
    pub state: Arc<Mutex<DisplayState>>,
    pub wake: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for DisplayLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DisplayLink")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitReason {
    PowerOff,
    Quit,
    /// The guest reset with `-no-reboot`.
    Reset,
    Signal(i32),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub serial: Vec<ChardevSpec>,
    pub monitor: ChardevSpec,
    pub pacing: bool,
    pub no_reboot: bool,
    /// Set when a window shows the screen.
    pub display: Option<DisplayLink>,
}

/// The process's stdio, abstracted so tests drive a session in-process.
pub struct StdIo {
    pub stdin: Box<dyn Read + Send>,
    pub stdout: Box<dyn Write + Send>,
    /// Echo monitor input (the terminal is raw and does not).
    pub echo: bool,
}

impl std::fmt::Debug for StdIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StdIo").field("echo", &self.echo).finish()
    }
}

/// Real-time anchor for pacing: (host instant, virtual ns) taken together.
#[derive(Debug, Clone, Copy)]
struct Anchor {
    real: Instant,
    virt: u64,
}

impl Anchor {
    fn new(virt: u64) -> Anchor {
        Anchor {
            real: Instant::now(),
            virt,
        }
    }
    fn real_for(&self, v: u64) -> Instant {
        self.real + Duration::from_nanos(v.saturating_sub(self.virt))
    }
    fn virt_now(&self) -> u64 {
        self.virt + self.real.elapsed().as_nanos() as u64
    }
}

struct VmThread {
    host: VmHost,
    rx: Receiver<Ctl>,
    ports: Vec<Option<Port>>,
    pending: Vec<VecDeque<u8>>,
    opts: Options,
    anchor: Anchor,
    epoch: u64,
    quit_notice: Option<Port>,
    screen: Screen,
}

/// The VM thread's side of the display.
struct Screen {
    link: Option<DisplayLink>,
    frame: Frame,
    last_poll: Instant,
    /// When speed was last measured: host time, virtual time, instructions.
    speed_since: (Instant, u64, Option<u64>),
    shown_running: Option<bool>,
}

impl Screen {
    fn new(link: Option<DisplayLink>) -> Screen {
        Screen {
            link,
            frame: Frame::default(),
            last_poll: Instant::now(),
            speed_since: (Instant::now(), 0, None),
            shown_running: None,
        }
    }
}

impl VmThread {
    fn handle(&mut self, msg: Ctl) {
        match msg {
            Ctl::Input { chan, bytes } => {
                if let Some(q) = self.pending.get_mut(chan) {
                    if q.len() + bytes.len() <= MAX_PENDING {
                        q.extend(bytes);
                    }
                }
            }
            Ctl::Monitor { line, out, prompt } => {
                let text = self.host.execute_line(&line);
                out.write(text.as_bytes());
                if prompt && !self.host.quit {
                    out.write(PROMPT.as_bytes());
                }
            }
            Ctl::Quit { notice } => {
                self.host.quit = true;
                self.quit_notice = notice;
            }
            Ctl::Key { code, down } => self.host.vm.key_event(code, down),
            Ctl::Mouse { dx, dy, button } => self.host.vm.mouse_event(dx, dy, button),
        }
    }

    fn drain_ctl(&mut self) {
        while let Ok(m) = self.rx.try_recv() {
            self.handle(m);
        }
    }

    fn feed_input(&mut self) {
        for (chan, q) in self.pending.iter_mut().enumerate() {
            while !q.is_empty() {
                let (a, _) = q.as_slices();
                let n = self.host.vm.serial_input(chan, a).min(a.len());
                if n == 0 {
                    break;
                }
                q.drain(..n);
            }
        }
    }

    fn flush_output(&mut self) {
        for (chan, port) in self.ports.iter().enumerate() {
            let out = self.host.vm.serial_output(chan);
            if let Some(p) = port {
                p.write(&out);
            }
        }
    }

    fn reanchor_if_needed(&mut self) {
        if self.host.epoch != self.epoch {
            self.epoch = self.host.epoch;
            self.anchor = Anchor::new(self.host.vm.now_ns());
        }
    }

    /// The guest is halted until `until` (virtual). Wait for it or for a host
    /// message, then move virtual time forward.
    fn idle(&mut self, until: Option<u64>) {
        let now_v = self.host.vm.now_ns();
        if !self.opts.pacing {
            match until {
                Some(t) => self.host.vm.idle_until(t),
                None => self.wait_forever(),
            }
            return;
        }
        if self.anchor.virt_now() > now_v + MAX_LAG_NS {
            self.anchor = Anchor::new(now_v);
        }
        let got = match until {
            Some(t) => {
                let deadline = self.anchor.real_for(t);
                self.recv_until(Some(deadline))
            }
            None => self.recv_until(None),
        };
        match got {
            Ok(msg) => {
                self.handle(msg);
                // Woken early: time moves to "now", never past the deadline.
                let mut v = self.anchor.virt_now().max(now_v);
                if let Some(t) = until {
                    v = v.min(t);
                }
                self.host.vm.idle_until(v);
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some(t) = until {
                    self.host.vm.idle_until(t);
                }
            }
            Err(RecvTimeoutError::Disconnected) => match until {
                Some(t) => self.host.vm.idle_until(t),
                None => thread::sleep(Duration::from_millis(100)),
            },
        }
    }

    /// Wait for a message until `deadline` (None = forever). With a window,
    /// the wait is cut into refresh intervals to publish screen changes.
    fn recv_until(&mut self, deadline: Option<Instant>) -> Result<Ctl, RecvTimeoutError> {
        loop {
            let now = Instant::now();
            let left = deadline.map(|d| d.saturating_duration_since(now));
            if left == Some(Duration::ZERO) {
                return Err(RecvTimeoutError::Timeout);
            }
            if self.screen.link.is_none() {
                return match left {
                    Some(l) => self.rx.recv_timeout(l),
                    None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
            }
            let step = left.map_or(FRAME_INTERVAL, |l| l.min(FRAME_INTERVAL));
            match self.rx.recv_timeout(step) {
                Err(RecvTimeoutError::Timeout) => self.poll_display(),
                other => return other,
            }
        }
    }

    /// Publish a changed screen or run state to the window, at most once per
    /// refresh interval.
    fn poll_display(&mut self) {
        let Some(link) = self.screen.link.clone() else {
            return;
        };
        let now = Instant::now();
        if now.duration_since(self.screen.last_poll) < FRAME_INTERVAL {
            return;
        }
        self.screen.last_poll = now;
        let changed = self.host.vm.update_frame(&mut self.screen.frame);
        let mut notify = changed || self.screen.shown_running != Some(self.host.running);
        let (t0, v0, i0) = self.screen.speed_since;
        let real = now.duration_since(t0);
        let mut speed = None;
        if real >= Duration::from_secs(1) {
            let (v1, i1) = (self.host.vm.now_ns(), self.host.vm.instructions());
            let mips = i0
                .zip(i1)
                .map(|(a, b)| b.saturating_sub(a) as f64 / real.as_micros().max(1) as f64);
            speed = Some((v1.saturating_sub(v0) as f64 / real.as_nanos() as f64, mips));
            self.screen.speed_since = (now, v1, i1);
            notify = true;
        }
        if !notify {
            return;
        }
        self.screen.shown_running = Some(self.host.running);
        {
            let mut st = link.state.lock().unwrap_or_else(|p| p.into_inner());
            if changed {
                st.frame = Some(Arc::new(self.screen.frame.clone()));
                st.generation += 1;
            }
            st.running = self.host.running;
            st.machine = self.host.vm.machine_type().to_string();
            if let Some((s, mips)) = speed {
                st.speed = s;
                st.mips = mips;
            }
        }
        (link.wake)();
    }

    /// Nothing but the host can wake the guest (or the VM is stopped).
    fn wait_forever(&mut self) {
        match self.recv_until(None) {
            Ok(m) => self.handle(m),
            // No input source is left: only a signal can end this now.
            Err(_) => thread::sleep(Duration::from_millis(100)),
        }
    }

    fn run(mut self) -> ExitReason {
        loop {
            self.drain_ctl();
            self.feed_input();
            if self.host.quit {
                self.flush_output();
                if let Some(p) = self.quit_notice.take() {
                    p.write(b"beige: terminated\r\n");
                }
                return ExitReason::Quit;
            }
            self.reanchor_if_needed();
            if !self.host.running {
                self.flush_output();
                self.poll_display();
                self.wait_forever();
                continue;
            }
            let ev = self.host.vm.run_slice(SLICE_NS);
            self.flush_output();
            self.poll_display();
            match ev {
                VmEvent::Ran => {}
                VmEvent::Idle { until_ns } => self.idle(until_ns),
                VmEvent::PowerOff => return ExitReason::PowerOff,
                VmEvent::Reset if self.opts.no_reboot => return ExitReason::Reset,
                // The machine has reset itself; only the pacing anchor moves.
                VmEvent::Reset => self.host.epoch += 1,
            }
        }
    }
}

/// Where monitor input lines go: an editor plus the port answers go to.
struct MonitorInput {
    editor: LineEditor,
    out: Arc<OnceLock<Port>>,
    echo: bool,
    ctl: Sender<Ctl>,
}

impl MonitorInput {
    fn feed(&mut self, b: u8) {
        let (line, echo) = self.editor.feed(b);
        // A client can type before `start` has stored the port that `open`
        // created (the reader runs from inside `open`): wait for it briefly.
        let t0 = Instant::now();
        while self.out.get().is_none() && t0.elapsed() < Duration::from_secs(5) {
            thread::sleep(Duration::from_millis(1));
        }
        if let Some(out) = self.out.get() {
            if self.echo {
                out.write(&echo);
            }
            if let Some(line) = line {
                let _ = self.ctl.send(Ctl::Monitor {
                    line,
                    out: out.clone(),
                    prompt: true,
                });
            }
        }
    }
}

/// Run a session to its end. Ports are flushed before returning.
pub fn run(host: VmHost, opts: Options, io: StdIo) -> Result<ExitReason, String> {
    start(host, opts, io)?.wait()
}

/// A started session.
#[derive(Debug)]
pub struct Running {
    done_rx: Receiver<ExitReason>,
    ports: Vec<Port>,
    ctl: Sender<Ctl>,
}

impl Running {
    /// A sender to the VM thread (the window sends keys and quit).
    pub fn ctl(&self) -> Sender<Ctl> {
        self.ctl.clone()
    }

    /// Wait for the VM thread to end (or a signal), then flush every port.
    pub fn wait(self) -> Result<ExitReason, String> {
        let reason = loop {
            match self.done_rx.recv_timeout(Duration::from_millis(50)) {
                Ok(r) => break r,
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(sig) = crate::term::signalled() {
                        break ExitReason::Signal(sig);
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err("the VM thread panicked (see the message above)".into())
                }
            }
        };
        for p in &self.ports {
            p.flush(Duration::from_secs(1));
        }
        Ok(reason)
    }
}

/// Start the VM thread and the host I/O threads.
pub fn start(host: VmHost, opts: Options, io: StdIo) -> Result<Running, String> {
    let (ctl_tx, ctl_rx) = mpsc::channel::<Ctl>();
    let stdio_used = opts.serial.iter().any(ChardevSpec::uses_stdio) || opts.monitor.uses_stdio();
    let stdout = stdio_used.then(|| chardev::spawn_writer("stdio", io.stdout));
    let mut all_ports: Vec<Port> = stdout.iter().cloned().collect();

    // Serial ports (2 channels on the ESCC; absent ones are null).
    let mut ports: Vec<Option<Port>> = Vec::new();
    let mut stdio_serial: Option<usize> = None;
    for (chan, spec) in opts.serial.iter().enumerate() {
        if spec.uses_stdio() {
            if stdio_serial.is_some() {
                return Err("only one serial port can use stdio".into());
            }
            stdio_serial = Some(chan);
            ports.push(stdout.clone());
            continue;
        }
        let tx = ctl_tx.clone();
        let opened = chardev::open(
            spec,
            &format!("serial{chan}"),
            Box::new(move |b| {
                let _ = tx.send(Ctl::Input {
                    chan,
                    bytes: b.to_vec(),
                });
            }),
            None,
        )
        .map_err(|e| format!("-serial: {e}"))?;
        if let Some(p) = &opened.pty_path {
            eprintln!(
                "char device redirected to {} (label serial{chan})",
                p.display()
            );
        }
        all_ports.extend(opened.port.iter().cloned());
        ports.push(opened.port);
    }
    while ports.len() < 2 {
        ports.push(None);
    }

    // The monitor, when it is not on stdio.
    if !opts.monitor.uses_stdio() && opts.monitor != ChardevSpec::None {
        let cell: Arc<OnceLock<Port>> = Arc::new(OnceLock::new());
        let mut input = MonitorInput {
            editor: LineEditor::default(),
            out: cell.clone(),
            echo: false,
            ctl: ctl_tx.clone(),
        };
        let greet = |p: &Port| {
            p.write(BANNER.as_bytes());
            p.write(PROMPT.as_bytes());
        };
        let opened = chardev::open(
            &opts.monitor,
            "monitor",
            Box::new(move |b| b.iter().for_each(|&c| input.feed(c))),
            Some(Box::new(greet)),
        )
        .map_err(|e| format!("-monitor: {e}"))?;
        if let Some(p) = &opened.pty_path {
            eprintln!("char device redirected to {} (label monitor)", p.display());
        }
        if let Some(p) = opened.port {
            if matches!(opts.monitor, ChardevSpec::Pty | ChardevSpec::File(_)) {
                greet(&p);
            }
            let _ = cell.set(p.clone());
            all_ports.push(p);
        }
    }

    // stdin: serial, monitor, or both through the Ctrl-A mux.
    if let Some(out) = stdout.clone() {
        let monitor_on_stdio = opts.monitor.uses_stdio();
        let cell = Arc::new(OnceLock::new());
        let _ = cell.set(out.clone());
        let mut mon = MonitorInput {
            editor: LineEditor::default(),
            out: cell,
            echo: io.echo,
            ctl: ctl_tx.clone(),
        };
        let both = monitor_on_stdio && stdio_serial.is_some();
        let mut mux = Mux::new();
        if !both && monitor_on_stdio {
            out.write(BANNER.as_bytes());
            out.write(PROMPT.as_bytes());
        }
        let mut greeted = false;
        let tx = ctl_tx.clone();
        chardev::spawn_reader(
            "stdin",
            io.stdin,
            Box::new(move |bytes| {
                let mut serial = Vec::new();
                for &b in bytes {
                    let ev = if both {
                        mux.feed(b)
                    } else if monitor_on_stdio {
                        Some(MuxEvent::Monitor(b))
                    } else {
                        Some(MuxEvent::Serial(b))
                    };
                    let ev = match ev {
                        None => continue,
                        Some(MuxEvent::Serial(b)) => {
                            serial.push(b);
                            continue;
                        }
                        Some(ev) => ev,
                    };
                    // Keep order: serial bytes typed before an escape go first.
                    flush_serial(&tx, stdio_serial, &mut serial);
                    match ev {
                        MuxEvent::Serial(_) => {}
                        MuxEvent::Monitor(b) => mon.feed(b),
                        MuxEvent::Quit => {
                            let _ = tx.send(Ctl::Quit {
                                notice: Some(out.clone()),
                            });
                        }
                        MuxEvent::Help => out.write(mux::HELP.as_bytes()),
                        MuxEvent::Switched(Focus::Monitor) => {
                            if !greeted {
                                out.write(BANNER.as_bytes());
                                greeted = true;
                            }
                            out.write(PROMPT.as_bytes());
                        }
                        MuxEvent::Switched(Focus::Serial) => {}
                    }
                }
                flush_serial(&tx, stdio_serial, &mut serial);
            }),
        );
    }
    let vm_thread = VmThread {
        anchor: Anchor::new(host.vm.now_ns()),
        epoch: host.epoch,
        quit_notice: None,
        screen: Screen::new(opts.display.clone()),
        host,
        rx: ctl_rx,
        ports,
        pending: vec![VecDeque::new(), VecDeque::new()],
        opts,
    };
    let (done_tx, done_rx) = mpsc::channel();
    thread::Builder::new()
        .name("vm".into())
        .spawn(move || {
            let r = vm_thread.run();
            let _ = done_tx.send(r);
        })
        .map_err(|e| format!("cannot start the VM thread: {e}"))?;
    Ok(Running {
        done_rx,
        ports: all_ports,
        ctl: ctl_tx,
    })
}

fn flush_serial(tx: &Sender<Ctl>, chan: Option<usize>, buf: &mut Vec<u8>) {
    if let (Some(chan), false) = (chan, buf.is_empty()) {
        let _ = tx.send(Ctl::Input {
            chan,
            bytes: std::mem::take(buf),
        });
    }
    buf.clear();
}

/// A `Write` into shared memory (tests read what a session printed).
#[derive(Debug, Clone, Default)]
pub struct SharedBuf(pub Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl Write for SharedBuf {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::SnapshotDir;
    use crate::testutil::TempDir;
    use crate::vm::fake::FakeVm;

    fn opts() -> Options {
        Options {
            serial: vec![ChardevSpec::MonStdio],
            monitor: ChardevSpec::MonStdio,
            pacing: false,
            no_reboot: false,
            display: None,
        }
    }

    /// A VM thread with no window and two unconnected serial ports.
    fn test_thread(host: VmHost, rx: mpsc::Receiver<Ctl>, opts: Options) -> VmThread {
        VmThread {
            anchor: Anchor::new(0),
            epoch: 0,
            quit_notice: None,
            screen: Screen::new(None),
            host,
            rx,
            ports: vec![None, None],
            pending: vec![VecDeque::new(), VecDeque::new()],
            opts,
        }
    }

    fn run_with(vm: FakeVm, dir: &TempDir, input: &[u8], o: Options) -> (ExitReason, String) {
        let host = VmHost::new(Box::new(vm), SnapshotDir::new(dir.path()));
        let out = SharedBuf::default();
        let io = StdIo {
            stdin: Box::new(std::io::Cursor::new(input.to_vec())),
            stdout: Box::new(out.clone()),
            echo: false,
        };
        let r = run(host, o, io).unwrap();
        (r, out.text())
    }

    #[test]
    fn serial_bytes_reach_the_guest_and_its_output_reaches_stdout() {
        let d = TempDir::new("sess");
        let (r, out) = run_with(FakeVm::new(), &d, b"hello\x01x", opts());
        assert_eq!(r, ExitReason::Quit);
        assert!(out.starts_with("HELLO"), "{out:?}");
        assert!(out.ends_with("beige: terminated\r\n"), "{out:?}");
    }

    #[test]
    fn ctrl_a_c_reaches_the_monitor_and_quit_ends_the_session() {
        let d = TempDir::new("sess");
        let (r, out) = run_with(
            FakeVm::new(),
            &d,
            b"\x01cinfo status\nstop\ninfo status\nquit\n",
            opts(),
        );
        assert_eq!(r, ExitReason::Quit);
        assert!(out.contains(BANNER), "{out:?}");
        assert!(out.contains("VM status: running"), "{out:?}");
        assert!(out.contains("VM status: paused"), "{out:?}");
    }

    #[test]
    fn ctrl_a_h_prints_help() {
        let d = TempDir::new("sess");
        let (_, out) = run_with(FakeVm::new(), &d, b"\x01h\x01x", opts());
        assert!(out.contains("C-a x    exit emulator"), "{out:?}");
    }

    #[test]
    fn guest_power_off_ends_the_session() {
        let d = TempDir::new("sess");
        let mut vm = FakeVm::new();
        vm.script = vec![VmEvent::Ran, VmEvent::PowerOff];
        let (r, _) = run_with(vm, &d, b"", opts());
        assert_eq!(r, ExitReason::PowerOff);
    }

    #[test]
    fn no_reboot_exits_on_guest_reset_and_otherwise_continues() {
        let d = TempDir::new("sess");
        let mut vm = FakeVm::new();
        vm.script = vec![VmEvent::Reset];
        let mut o = opts();
        o.no_reboot = true;
        let (r, _) = run_with(vm, &d, b"", o);
        assert_eq!(r, ExitReason::Reset);

        let mut vm = FakeVm::new();
        vm.script = vec![VmEvent::Reset, VmEvent::Reset, VmEvent::PowerOff];
        let host = VmHost::new(Box::new(vm), SnapshotDir::new(d.path()));
        let io = StdIo {
            stdin: Box::new(std::io::empty()),
            stdout: Box::new(SharedBuf::default()),
            echo: false,
        };
        assert_eq!(run(host, opts(), io).unwrap(), ExitReason::PowerOff);
    }

    #[test]
    fn stdin_eof_does_not_quit() {
        // EOF right away; the guest powers off later on its own.
        let d = TempDir::new("sess");
        let mut vm = FakeVm::new();
        vm.script = vec![VmEvent::Ran; 50];
        vm.script.push(VmEvent::PowerOff);
        let (r, _) = run_with(vm, &d, b"", opts());
        assert_eq!(r, ExitReason::PowerOff);
    }

    #[test]
    fn full_guest_fifo_keeps_input_for_later() {
        let d = TempDir::new("sess");
        let mut vm = FakeVm::new();
        vm.fifo = 1;
        let (_, out) = run_with(vm, &d, b"abcdef\x01x", opts());
        assert!(out.starts_with("ABCDEF"), "{out:?}");
    }

    #[test]
    fn idle_guest_without_pacing_jumps_to_its_deadline() {
        let d = TempDir::new("sess");
        let mut vm = FakeVm::new();
        vm.script = vec![VmEvent::Idle {
            until_ns: Some(5_000_000_000),
        }];
        vm.script.push(VmEvent::Ran);
        let host = VmHost::new(Box::new(vm), SnapshotDir::new(d.path()));
        let mut t = test_thread(host, mpsc::channel().1, opts());
        let ev = t.host.vm.run_slice(SLICE_NS);
        let VmEvent::Idle { until_ns } = ev else {
            panic!("{ev:?}")
        };
        let started = Instant::now();
        t.idle(until_ns);
        assert_eq!(t.host.vm.now_ns(), 5_000_000_000);
        assert!(started.elapsed() < Duration::from_secs(4), "must not sleep");
    }

    #[test]
    fn paced_idle_waits_until_real_time_catches_up_with_virtual_time() {
        let d = TempDir::new("sess");
        let host = VmHost::new(Box::new(FakeVm::new()), SnapshotDir::new(d.path()));
        let (_tx, rx) = mpsc::channel();
        let mut o = opts();
        o.pacing = true;
        let mut t = test_thread(host, rx, o);
        let started = Instant::now();
        t.idle(Some(50_000_000)); // 50 ms of virtual time ahead of the host
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(t.host.vm.now_ns(), 50_000_000);
    }

    #[test]
    fn paced_idle_wakes_early_on_input_and_stops_short_of_the_deadline() {
        let d = TempDir::new("sess");
        let host = VmHost::new(Box::new(FakeVm::new()), SnapshotDir::new(d.path()));
        let (tx, rx) = mpsc::channel();
        let mut o = opts();
        o.pacing = true;
        let mut t = test_thread(host, rx, o);
        tx.send(Ctl::Input {
            chan: 0,
            bytes: b"x".to_vec(),
        })
        .unwrap();
        t.idle(Some(3_600_000_000_000)); // an hour away
        let now = t.host.vm.now_ns();
        assert!(now < 3_600_000_000_000, "woke at {now}");
        assert_eq!(t.pending[0].len(), 1);
    }

    #[test]
    fn savevm_from_the_mux_monitor_writes_a_snapshot() {
        let d = TempDir::new("sess");
        let (_, out) = run_with(
            FakeVm::new(),
            &d,
            b"\x01csavevm t1\ninfo snapshots\n\x01x",
            opts(),
        );
        assert!(out.contains("t1"), "{out:?}");
        assert!(d.path().join("t1.zst").exists());
    }

    #[test]
    fn monitor_on_unix_socket_answers_commands() {
        use std::io::BufRead;
        let d = TempDir::new("sess");
        let sock = d.path().join("mon.sock");
        let host = VmHost::new(Box::new(FakeVm::new()), SnapshotDir::new(d.path()));
        let o = Options {
            serial: vec![ChardevSpec::Null],
            monitor: ChardevSpec::UnixServer {
                path: sock.clone(),
                wait: false,
            },
            pacing: false,
            no_reboot: false,
            display: None,
        };
        let io = StdIo {
            stdin: Box::new(std::io::empty()),
            stdout: Box::new(SharedBuf::default()),
            echo: false,
        };
        let h = thread::spawn(move || run(host, o, io));
        let mut c = None;
        for _ in 0..100 {
            if let Ok(s) = std::os::unix::net::UnixStream::connect(&sock) {
                c = Some(s);
                break;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let mut c = c.expect("monitor socket");
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"info status\nquit\n").unwrap();
        let mut lines = std::io::BufReader::new(c.try_clone().unwrap()).lines();
        let mut seen = String::new();
        while let Some(Ok(l)) = lines.next() {
            seen += &l;
            if l.contains("VM status") {
                break;
            }
        }
        assert!(seen.contains("VM status: running"), "{seen}");
        assert_eq!(h.join().unwrap().unwrap(), ExitReason::Quit);
    }
}
