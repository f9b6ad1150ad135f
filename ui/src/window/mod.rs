//! The desktop window: the guest screen in a winit window drawn with
//! softbuffer, keyboard to the ADB keyboard.
//!
//! winit owns the main thread; the VM keeps its own thread and publishes a
//! new frame (only when the screen changed, at most once per refresh
//! interval) through `DisplayLink`, waking the event loop with a user event.
//! The window never blocks the VM: it only reads the latest frame. With no
//! display server, `run` says so and continues headless.
//!
//! Keys: the host key's physical position maps to the ADB code (US layout).
//! Mouse: clicking the window grabs the pointer (relative motion and one
//! button to the ADB mouse); Ctrl-Alt-G or losing focus releases it.
//! Hotkeys: Ctrl-Alt-Q quits, Ctrl-Alt-P pauses/resumes, Ctrl-Alt-F toggles
//! fullscreen, Ctrl-Alt-S saves the snapshot `quick`, Ctrl-Alt-L loads it.

pub mod keymap;
pub mod scale;

use std::num::NonZeroU32;
use std::rc::Rc;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};

use winit::application::ApplicationHandler;
use winit::dpi::PhysicalSize;
use winit::event::{DeviceEvent, DeviceId, ElementState, MouseButton, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{KeyCode, ModifiersState, PhysicalKey};
use winit::window::{CursorGrabMode, Fullscreen, Window, WindowId};

use crate::monitor::VmHost;
use crate::session::{self, Ctl, DisplayLink, DisplayState, ExitReason, Options, StdIo};
use crate::vm::Frame;

#[derive(Debug, Clone, Copy)]
pub enum UserEvent {
    /// The VM thread published a frame or a state change.
    Refresh,
    /// The session ended.
    Exit,
}

/// Build the event loop; `Err` means no usable display server.
pub fn event_loop(any_thread: bool) -> Result<EventLoop<UserEvent>, String> {
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        return Err("neither DISPLAY nor WAYLAND_DISPLAY is set".into());
    }
    let mut b = EventLoop::<UserEvent>::with_user_event();
    if any_thread {
        use winit::platform::wayland::EventLoopBuilderExtWayland;
        use winit::platform::x11::EventLoopBuilderExtX11;
        EventLoopBuilderExtX11::with_any_thread(&mut b, true);
        EventLoopBuilderExtWayland::with_any_thread(&mut b, true);
    }
    b.build().map_err(|e| e.to_string())
}

/// Run the session with a window if a display server is there, else headless.
pub fn run(host: VmHost, opts: Options, io: StdIo) -> Result<ExitReason, String> {
    match event_loop(false) {
        Ok(el) => run_on(el, host, opts, io, None),
        Err(why) => {
            eprintln!("beige: no display available ({why}); continuing headless");
            session::run(host, opts, io)
        }
    }
}

/// Run the session with a window on an existing event loop. `ctl_out`, if
/// given, receives a sender to the VM thread once it runs (tests drive it).
pub fn run_on(
    el: EventLoop<UserEvent>,
    host: VmHost,
    mut opts: Options,
    io: StdIo,
    ctl_out: Option<Sender<Sender<Ctl>>>,
) -> Result<ExitReason, String> {
    let state = Arc::new(Mutex::new(DisplayState {
        machine: host.vm.machine_type().to_string(),
        running: host.running,
        ..Default::default()
    }));
    let proxy = el.create_proxy();
    let proxy = Mutex::new(proxy);
    opts.display = Some(DisplayLink {
        state: state.clone(),
        wake: Arc::new(move || {
            let p = proxy.lock().unwrap_or_else(|p| p.into_inner());
            let _ = p.send_event(UserEvent::Refresh);
        }),
    });
    let running = session::start(host, opts, io)?;
    let ctl = running.ctl();
    if let Some(out) = ctl_out {
        let _ = out.send(ctl.clone());
    }
    let exit_proxy = el.create_proxy();
    let (reason_tx, reason_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("session-wait".into())
        .spawn(move || {
            let r = running.wait();
            let _ = reason_tx.send(r);
            let _ = exit_proxy.send_event(UserEvent::Exit);
        })
        .map_err(|e| e.to_string())?;
    let mut app = App::new(state, ctl.clone());
    el.run_app(&mut app).map_err(|e| e.to_string())?;
    if let Some(why) = &app.failed {
        eprintln!("beige: {why}");
    }
    // The window closed first: ask the VM to quit, then wait for it.
    let _ = ctl.send(Ctl::Quit { notice: None });
    reason_rx
        .recv()
        .map_err(|_| "the session ended without a status".to_string())?
}

struct Gfx {
    window: Rc<Window>,
    surface: softbuffer::Surface<Rc<Window>, Rc<Window>>,
}

struct App {
    state: Arc<Mutex<DisplayState>>,
    ctl: Sender<Ctl>,
    gfx: Option<Gfx>,
    frame: Option<Arc<Frame>>,
    shown_size: (u32, u32),
    mods: ModifiersState,
    /// Where hotkey command messages go.
    errors: crate::chardev::Port,
    /// The pointer is grabbed: motion goes to the ADB mouse.
    grabbed: bool,
    button: bool,
    running: bool,
    failed: Option<String>,
}

impl App {
    fn new(state: Arc<Mutex<DisplayState>>, ctl: Sender<Ctl>) -> App {
        App {
            state,
            ctl,
            gfx: None,
            frame: None,
            shown_size: (0, 0),
            mods: ModifiersState::empty(),
            grabbed: false,
            button: false,
            errors: crate::chardev::spawn_writer("hotkeys", Box::new(std::io::stderr())),
            running: true,
            failed: None,
        }
    }

    fn title(st: &DisplayState, grabbed: bool) -> String {
        let mips = st.mips.map(|m| format!(" {m:.0} MIPS")).unwrap_or_default();
        format!(
            "beige - {} [{}]{mips} {:.0}% speed - {}",
            st.machine,
            if st.running { "running" } else { "paused" },
            st.speed * 100.0,
            if grabbed {
                "Ctrl-Alt-G releases the mouse"
            } else {
                "click to grab the mouse, Ctrl-Alt-Q quit, Ctrl-Alt-P pause"
            }
        )
    }

    fn set_grab(&mut self, on: bool) {
        let Some(g) = &self.gfx else { return };
        if on {
            let ok = g
                .window
                .set_cursor_grab(CursorGrabMode::Locked)
                .or_else(|_| g.window.set_cursor_grab(CursorGrabMode::Confined))
                .is_ok();
            if !ok {
                return;
            }
        } else {
            let _ = g.window.set_cursor_grab(CursorGrabMode::None);
        }
        g.window.set_cursor_visible(!on);
        self.grabbed = on;
        self.refresh();
    }

    fn refresh(&mut self) {
        let (frame, title, running) = {
            let st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            (st.frame.clone(), Self::title(&st, self.grabbed), st.running)
        };
        self.running = running;
        let Some(g) = &self.gfx else { return };
        g.window.set_title(&title);
        if let Some(f) = &frame {
            // A new guest mode: resize the window to it (the user may resize after).
            if (f.width, f.height) != self.shown_size && f.width > 0 && f.height > 0 {
                self.shown_size = (f.width, f.height);
                let _ = g
                    .window
                    .request_inner_size(PhysicalSize::new(f.width, f.height));
            }
        }
        self.frame = frame;
        g.window.request_redraw();
    }

    fn draw(&mut self) {
        let Some(g) = &mut self.gfx else { return };
        let size = g.window.inner_size();
        let (Some(w), Some(h)) = (NonZeroU32::new(size.width), NonZeroU32::new(size.height)) else {
            return;
        };
        if let Err(e) = g.surface.resize(w, h) {
            self.failed = Some(format!("window surface: {e}"));
            return;
        }
        let Ok(mut buf) = g.surface.buffer_mut() else {
            return;
        };
        match &self.frame {
            Some(f) => scale::blit(f, &mut buf, w.get(), h.get()),
            None => buf.fill(0),
        }
        let _ = buf.present();
    }

    fn key(&mut self, el: &ActiveEventLoop, code: KeyCode, down: bool) {
        let hot = self.mods.control_key() && self.mods.alt_key();
        if hot && down {
            match code {
                KeyCode::KeyQ => {
                    let _ = self.ctl.send(Ctl::Quit { notice: None });
                    el.exit();
                    return;
                }
                KeyCode::KeyP | KeyCode::KeyS | KeyCode::KeyL => {
                    let cmd = match code {
                        KeyCode::KeyS => "savevm quick",
                        KeyCode::KeyL => "loadvm quick",
                        _ if self.running => "stop",
                        _ => "cont",
                    };
                    // Errors (e.g. no `quick` snapshot yet) go to stderr.
                    let _ = self.ctl.send(Ctl::Monitor {
                        line: cmd.into(),
                        out: self.errors.clone(),
                        prompt: false,
                    });
                    return;
                }
                KeyCode::KeyG => {
                    self.set_grab(false);
                    return;
                }
                KeyCode::KeyF => {
                    if let Some(g) = &self.gfx {
                        let fs = g.window.fullscreen().is_none();
                        g.window
                            .set_fullscreen(fs.then_some(Fullscreen::Borderless(None)));
                    }
                    return;
                }
                _ => {}
            }
        }
        if let Some(adb) = keymap::adb_from_keycode(code) {
            let _ = self.ctl.send(Ctl::Key { code: adb, down });
        }
    }
}

impl ApplicationHandler<UserEvent> for App {
    fn device_event(&mut self, _el: &ActiveEventLoop, _id: DeviceId, ev: DeviceEvent) {
        if let DeviceEvent::MouseMotion { delta: (dx, dy) } = ev {
            if self.grabbed {
                let _ = self.ctl.send(Ctl::Mouse {
                    dx: dx.round() as i32,
                    dy: dy.round() as i32,
                    button: self.button,
                });
            }
        }
    }

    fn resumed(&mut self, el: &ActiveEventLoop) {
        if self.gfx.is_some() {
            return;
        }
        let title = Self::title(&self.state.lock().unwrap_or_else(|p| p.into_inner()), false);
        let attrs = Window::default_attributes()
            .with_title(title)
            .with_inner_size(PhysicalSize::new(800u32, 600u32));
        let made = el
            .create_window(attrs)
            .map_err(|e| e.to_string())
            .and_then(|w| {
                let w = Rc::new(w);
                let ctx = softbuffer::Context::new(w.clone()).map_err(|e| e.to_string())?;
                let surface =
                    softbuffer::Surface::new(&ctx, w.clone()).map_err(|e| e.to_string())?;
                Ok(Gfx { window: w, surface })
            });
        match made {
            Ok(g) => {
                self.gfx = Some(g);
                self.refresh();
            }
            Err(e) => {
                self.failed = Some(format!("cannot open the window: {e}"));
                el.exit();
            }
        }
    }

    fn user_event(&mut self, el: &ActiveEventLoop, ev: UserEvent) {
        match ev {
            UserEvent::Refresh => self.refresh(),
            UserEvent::Exit => el.exit(),
        }
    }

    fn window_event(&mut self, el: &ActiveEventLoop, _id: WindowId, ev: WindowEvent) {
        match ev {
            WindowEvent::CloseRequested => {
                let _ = self.ctl.send(Ctl::Quit { notice: None });
                el.exit();
            }
            WindowEvent::RedrawRequested => self.draw(),
            WindowEvent::Resized(_) => {
                if let Some(g) = &self.gfx {
                    g.window.request_redraw();
                }
            }
            WindowEvent::ModifiersChanged(m) => self.mods = m.state(),
            WindowEvent::MouseInput { state, button, .. } => {
                let down = state == ElementState::Pressed;
                if !self.grabbed {
                    if down && button == MouseButton::Left {
                        self.set_grab(true);
                    }
                    return;
                }
                // One ADB button: any host button presses it.
                self.button = down;
                let _ = self.ctl.send(Ctl::Mouse {
                    dx: 0,
                    dy: 0,
                    button: down,
                });
            }
            WindowEvent::Focused(false) if self.grabbed => self.set_grab(false),
            WindowEvent::KeyboardInput { event, .. } => {
                if let PhysicalKey::Code(code) = event.physical_key {
                    if !event.repeat {
                        self.key(el, code, event.state == ElementState::Pressed);
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chardev::ChardevSpec;

    #[test]
    fn title_shows_machine_state_and_guest_speed() {
        let st = DisplayState {
            running: true,
            machine: "g3beige".into(),
            speed: 1.25,
            mips: Some(212.4),
            ..DisplayState::default()
        };
        let t = App::title(&st, false);
        assert!(
            t.starts_with("beige - g3beige [running] 212 MIPS 125% speed"),
            "{t}"
        );
        let paused = DisplayState {
            running: false,
            mips: None,
            ..st
        };
        assert!(App::title(&paused, true).contains("[paused] 125% speed"));
    }
    use crate::session::SharedBuf;
    use crate::snapshot::SnapshotDir;
    use crate::testutil::TempDir;
    use crate::vm::fake::FakeVm;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    struct Xvfb(Child);
    impl Drop for Xvfb {
        fn drop(&mut self) {
            // SIGTERM lets Xvfb remove its socket and lock file.
            let _ = Command::new("kill").arg(self.0.id().to_string()).status();
            let _ = self.0.wait();
        }
    }

    fn xdotool(args: &[&str]) -> Option<String> {
        let out = Command::new("xdotool").args(args).output().ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// One test only: winit allows one event loop per process.
    #[test]
    fn window_shows_the_guest_mode_title_and_forwards_keys_under_xvfb() {
        if Command::new("Xvfb").arg("-help").output().is_err() {
            eprintln!("SKIP: Xvfb not installed (scripts/setup installs it)");
            return;
        }
        // -displayfd: Xvfb picks a free display and prints its number once
        // it accepts connections, so no guessing and no readiness race.
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1024x768x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut line,
        )
        .unwrap();
        let _x = Xvfb(child);
        let disp = format!(":{}", line.trim());
        assert!(disp.len() > 1, "Xvfb gave no display number");
        std::env::set_var("DISPLAY", &disp);
        std::env::remove_var("WAYLAND_DISPLAY");

        let d = TempDir::new("win");
        let mut vm = FakeVm::new();
        vm.idle_deadline = Some(None); // an idle guest: no CPU use while waiting
        vm.screen = Some(Frame {
            width: 640,
            height: 480,
            pixels: (0..640 * 480u32).map(|i| (i % 256) * 0x010101).collect(),
        });
        let keys = vm.keys.clone();
        let mouse = vm.mouse.clone();
        let host = VmHost::new(Box::new(vm), SnapshotDir::new(d.path()));
        let opts = Options {
            serial: vec![ChardevSpec::Null],
            monitor: ChardevSpec::None,
            pacing: false,
            no_reboot: false,
            display: None,
        };
        let io = StdIo {
            stdin: Box::new(std::io::empty()),
            stdout: Box::new(SharedBuf::default()),
            echo: false,
        };
        let el = event_loop(true).expect("event loop on Xvfb");
        let (ctl_tx, ctl_rx) = mpsc::channel();
        let checker = std::thread::spawn(move || {
            let ctl: Sender<Ctl> = ctl_rx.recv().unwrap();
            let t0 = Instant::now();
            let mut found = None;
            while t0.elapsed() < Duration::from_secs(20) {
                if let Some(id) = xdotool(&["search", "--name", "^beige - "]) {
                    let id = id.lines().next().unwrap_or("").to_string();
                    let geo = xdotool(&["getwindowgeometry", &id]).unwrap_or_default();
                    if geo.contains("640x480") {
                        found = Some((id, geo));
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let result = found.map(|(id, geo)| {
                let name = xdotool(&["getwindowname", &id]).unwrap_or_default();
                let _ = xdotool(&["windowfocus", "--sync", &id]);
                let _ = xdotool(&["key", "a"]);
                // Click grabs the pointer; then motion and a press go to the mouse.
                let _ = xdotool(&["mousemove", "--window", &id, "100", "100"]);
                let _ = xdotool(&["click", "1"]);
                std::thread::sleep(Duration::from_millis(200));
                let _ = xdotool(&["mousemove_relative", "--", "10", "5"]);
                let _ = xdotool(&["mousedown", "1"]);
                let _ = xdotool(&["mouseup", "1"]);
                (geo, name)
            });
            std::thread::sleep(Duration::from_millis(300));
            let _ = ctl.send(Ctl::Quit { notice: None });
            result
        });
        let reason = run_on(el, host, opts, io, Some(ctl_tx)).unwrap();
        let (geo, name) = checker
            .join()
            .unwrap()
            .expect("window with the guest's 640x480 mode");
        assert_eq!(reason, ExitReason::Quit);
        assert!(geo.contains("640x480"), "{geo}");
        assert!(
            name.contains("fake-1.0") && name.contains("running"),
            "{name}"
        );
        let k = keys.lock().unwrap().clone();
        assert!(
            k.contains(&(0x00, true)) && k.contains(&(0x00, false)),
            "keys: {k:?}"
        );
        let m = mouse.lock().unwrap().clone();
        assert!(m.contains(&(10, 5, false)), "motion not seen: {m:?}");
        assert!(m.contains(&(0, 0, true)), "button press not seen: {m:?}");
    }
}
