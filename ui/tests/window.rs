//! The desktop window against the real machine under Xvfb: OpenBIOS's screen
//! in the window (captured with xwd and compared with the monitor's
//! `screendump`), Forth typed with xdotool through winit, the ADB keymap and
//! CUDA, Linux's text console on the framebuffer reading the ADB keyboard,
//! the `-g` modes (resolution, 8 bpp palette, 16 bpp as QEMU does it), and
//! the headless fallback when there is no display server.
//!
//! Text is checked without knowing the font: lines are bands of rows with
//! ink, characters are 8-pixel cells, and a computed character must look
//! exactly like the same character typed elsewhere on the screen.
//!
//! Needs Xvfb, xdotool and xwd (scripts/setup), OpenBIOS, and for Linux the
//! kernel from `$BEIGE_TEST_KERNEL` or `../shared/guests/linux-pmac32/vmlinux`.
//! A missing one skips with the reason (and fails under CI).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const OPENBIOS: &str = "/usr/share/qemu/openbios-ppc";
const MINUTE: Duration = Duration::from_secs(60);
/// OpenBIOS's and Linux's console fonts are 8 pixels wide.
const CELL_W: u32 = 8;

/// One guest at a time: the host has few cores and boot times matter here.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn missing(what: &str, how: &str) {
    let msg = format!("{what} is missing; {how}");
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("skipping: {msg}");
}

/// The X tools and OpenBIOS are there (else says why and returns false).
fn prerequisites() -> bool {
    for (tool, arg) in [("Xvfb", "-help"), ("xdotool", "version"), ("xwd", "-help")] {
        let ran = Command::new(tool)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if ran.is_err() {
            missing(tool, "run scripts/setup (xvfb, xdotool, x11-apps)");
            return false;
        }
    }
    if !Path::new(OPENBIOS).exists() {
        missing(OPENBIOS, "run scripts/setup (qemu-system-data)");
        return false;
    }
    true
}

/// A private X server; killed (SIGTERM, so it removes its lock) when dropped.
struct Xvfb {
    child: Child,
    display: String,
}

impl Xvfb {
    fn start() -> Xvfb {
        // -displayfd: Xvfb picks a free display and prints its number once
        // it accepts connections, so no guessing and no readiness race.
        let child = Command::new("Xvfb")
            .args(["-displayfd", "1", "-screen", "0", "1280x1024x24"])
            .args(["-nolisten", "tcp"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb starts");
        let mut x = Xvfb {
            child,
            display: String::new(),
        };
        let mut line = String::new();
        let out = x.child.stdout.take().expect("Xvfb stdout");
        BufReader::new(out)
            .read_line(&mut line)
            .expect("Xvfb display number");
        assert!(!line.trim().is_empty(), "Xvfb gave no display number");
        x.display = format!(":{}", line.trim());
        x
    }

    /// Runs an X client on this display; its stdout if it succeeded.
    fn tool(&self, tool: &str, args: &[&str]) -> Option<Vec<u8>> {
        let out = Command::new(tool)
            .args(args)
            .env("DISPLAY", &self.display)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status.success().then_some(out.stdout)
    }

    fn xdotool(&self, args: &[&str]) -> Option<String> {
        self.tool("xdotool", args)
            .map(|o| String::from_utf8_lossy(&o).trim().to_string())
    }

    /// The beige window's id, waiting for it to be mapped.
    fn beige_window(&self) -> String {
        let start = Instant::now();
        loop {
            if let Some(ids) = self.xdotool(&["search", "--onlyvisible", "--name", "^beige - "]) {
                if let Some(id) = ids.lines().next() {
                    return id.to_string();
                }
            }
            assert!(
                start.elapsed() < MINUTE,
                "no beige window on {}",
                self.display
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn window_size(&self, id: &str) -> (u32, u32) {
        let geo = self
            .xdotool(&["getwindowgeometry", "--shell", id])
            .unwrap_or_default();
        let field = |k: &str| {
            geo.lines()
                .find_map(|l| l.strip_prefix(k))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        (field("WIDTH="), field("HEIGHT="))
    }

    /// Polls the window title until it contains `needle`.
    fn wait_title(&self, id: &str, needle: &str) -> String {
        let start = Instant::now();
        loop {
            let name = self.xdotool(&["getwindowname", id]).unwrap_or_default();
            if name.contains(needle) {
                return name;
            }
            assert!(
                start.elapsed() < MINUTE,
                "title {name:?} never showed {needle:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Types `text` then Return into the focused window as X key events.
    fn type_line(&self, id: &str, text: &str) {
        assert!(
            self.xdotool(&["windowfocus", "--sync", id]).is_some(),
            "focus"
        );
        // A person's pace: the guest polls the ADB keyboard.
        assert!(
            self.xdotool(&["type", "--delay", "80", text]).is_some(),
            "type"
        );
        assert!(
            self.xdotool(&["key", "--delay", "80", "Return"]).is_some(),
            "Return"
        );
    }

    fn hotkey(&self, id: &str, keys: &str) {
        assert!(
            self.xdotool(&["windowfocus", "--sync", id]).is_some(),
            "focus"
        );
        assert!(self.xdotool(&["key", keys]).is_some(), "{keys}");
    }

    /// The window's pixels as X shows them.
    fn capture(&self, id: &str) -> Screen {
        let xwd = self
            .tool("xwd", &["-id", id, "-silent"])
            .expect("xwd captures the window");
        decode_xwd(&xwd).expect("xwd output decodes")
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// A `beige` with a window on an Xvfb display, the serial port in a file and
/// the monitor on a unix socket. Killed when dropped if still running.
struct Beige {
    child: Child,
    dir: PathBuf,
    monitor: UnixStream,
}

impl Beige {
    fn start(x: &Xvfb, label: &str, extra: &[&str]) -> Beige {
        let dir = std::env::temp_dir().join(format!("beige-window-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let sock = dir.join("monitor.sock");
        let child = Command::new(env!("CARGO_BIN_EXE_beige"))
            .args(["-m", "256", "-serial"])
            .arg(format!("file:{}", dir.join("serial.txt").display()))
            .arg("-monitor")
            .arg(format!("unix:{},server,nowait", sock.display()))
            .arg("-snapshot-dir")
            .arg(dir.join("snapshots"))
            .args(extra)
            .env("DISPLAY", &x.display)
            .env_remove("WAYLAND_DISPLAY")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("beige starts");
        let mut child = Some(child);
        let start = Instant::now();
        let monitor = loop {
            if let Ok(s) = UnixStream::connect(&sock) {
                break s;
            }
            let c = child.as_mut().unwrap();
            if start.elapsed() > MINUTE || c.try_wait().unwrap().is_some() {
                let _ = c.kill();
                panic!("beige's monitor socket never opened");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        monitor
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut b = Beige {
            child: child.take().unwrap(),
            dir,
            monitor,
        };
        b.read_to_prompt();
        b
    }

    /// Reads monitor output up to its `(beige) ` prompt.
    fn read_to_prompt(&mut self) -> String {
        let start = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !got.ends_with(b"(beige) ") {
            match self.monitor.read(&mut buf) {
                Ok(0) => panic!("monitor closed: {}", String::from_utf8_lossy(&got)),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(_) => assert!(
                    start.elapsed() < MINUTE,
                    "no monitor prompt: {}",
                    String::from_utf8_lossy(&got)
                ),
            }
        }
        String::from_utf8_lossy(&got).into_owned()
    }

    fn command(&mut self, line: &str) -> String {
        self.monitor
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
        self.read_to_prompt()
    }

    fn serial(&self) -> String {
        std::fs::read_to_string(self.dir.join("serial.txt")).unwrap_or_default()
    }

    /// The guest screen through the monitor's `screendump`; `Err` has the
    /// monitor's reply (before the firmware enables the VGA there is none).
    fn try_screendump(&mut self) -> Result<Screen, String> {
        let path = self.dir.join("screen.png");
        let _ = std::fs::remove_file(&path);
        let reply = self.command(&format!("screendump {}", path.display()));
        read_png(&path).ok_or(reply)
    }

    fn screendump(&mut self) -> Screen {
        self.try_screendump()
            .unwrap_or_else(|reply| panic!("screendump wrote no PNG: {reply}"))
    }

    /// Takes screendumps until `ready` holds for one.
    fn wait_screen(
        &mut self,
        what: &str,
        limit: Duration,
        ready: impl Fn(&Screen) -> bool,
    ) -> Screen {
        let start = Instant::now();
        loop {
            let shot = self.try_screendump();
            if let Ok(s) = &shot {
                if ready(s) {
                    return s.clone();
                }
            }
            if start.elapsed() > limit {
                let s = shot.unwrap_or_else(|reply| panic!("{what}: no screen: {reply}"));
                let kept = s.keep(&format!("{}-timeout.png", self.dir.display()));
                panic!(
                    "{what}: not on screen within {limit:?} ({} text lines; screen kept in {kept}); serial:\n{}",
                    s.text_lines().len(),
                    self.serial()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// `quit` through the monitor; the exit code.
    fn quit(&mut self) -> Option<i32> {
        let _ = self.monitor.write_all(b"quit\n");
        self.wait_exit()
    }

    fn wait_exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code();
            }
            assert!(start.elapsed() < MINUTE, "beige did not quit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Beige {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// An RGB picture, 0x00RRGGBB per pixel.
#[derive(Debug, Clone, PartialEq)]
struct Screen {
    w: u32,
    h: u32,
    px: Vec<u32>,
}

impl Screen {
    fn at(&self, x: u32, y: u32) -> u32 {
        self.px[(y * self.w + x) as usize]
    }

    /// The most common colour.
    fn background(&self) -> u32 {
        let mut n: HashMap<u32, usize> = HashMap::new();
        for &p in &self.px {
            *n.entry(p).or_default() += 1;
        }
        n.into_iter().max_by_key(|&(_, c)| c).map_or(0, |(p, _)| p)
    }

    /// Text lines: maximal runs of rows with any non-background pixel.
    fn text_lines(&self) -> Vec<(u32, u32)> {
        let bg = self.background();
        let mut lines = Vec::new();
        let mut top = None;
        for y in 0..=self.h {
            let ink = y < self.h && (0..self.w).any(|x| self.at(x, y) != bg);
            match (ink, top) {
                (true, None) => top = Some(y),
                (false, Some(t)) => {
                    lines.push((t, y));
                    top = None;
                }
                _ => {}
            }
        }
        lines
    }

    /// The ink of character cell `col` on `line`, cropped to its bounding
    /// box so that cells compare whatever the line's vertical extent.
    fn glyph(&self, line: (u32, u32), col: u32) -> Vec<(u32, u32)> {
        let bg = self.background();
        let x0 = col * CELL_W;
        let ink: Vec<(u32, u32)> = (line.0..line.1)
            .flat_map(|y| (x0..(x0 + CELL_W).min(self.w)).map(move |x| (x, y)))
            .filter(|&(x, y)| self.at(x, y) != bg)
            .collect();
        let (mx, my) = ink
            .iter()
            .fold((u32::MAX, u32::MAX), |(a, b), &(x, y)| (a.min(x), b.min(y)));
        ink.into_iter().map(|(x, y)| (x - mx, y - my)).collect()
    }

    /// Saves the picture as PNG for a failure message; the path.
    fn keep(&self, path: &str) -> String {
        let file = std::fs::File::create(path).unwrap();
        let mut enc = png::Encoder::new(std::io::BufWriter::new(file), self.w, self.h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let rgb: Vec<u8> = self
            .px
            .iter()
            .flat_map(|p| [(p >> 16) as u8, (p >> 8) as u8, *p as u8])
            .collect();
        enc.write_header().unwrap().write_image_data(&rgb).unwrap();
        path.to_string()
    }
}

fn read_png(path: &Path) -> Option<Screen> {
    let decoder = png::Decoder::new(BufReader::new(std::fs::File::open(path).ok()?));
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).ok()?;
    let channels = info.color_type.samples();
    let px = buf[..info.buffer_size()]
        .chunks(channels)
        .map(|p| u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]))
        .collect();
    Some(Screen {
        w: info.width,
        h: info.height,
        px,
    })
}

/// Decodes xwd's ZPixmap dump of a TrueColor window (32 bits per pixel).
fn decode_xwd(d: &[u8]) -> Option<Screen> {
    let field = |i: usize| -> Option<u32> {
        Some(u32::from_be_bytes(
            d.get(i * 4..i * 4 + 4)?.try_into().ok()?,
        ))
    };
    let (header, format, w, h) = (field(0)?, field(2)?, field(4)?, field(5)?);
    let (byte_order, bpp, line) = (field(7)?, field(11)?, field(12)?);
    let masks = [field(14)?, field(15)?, field(16)?];
    let ncolors = field(19)?;
    if format != 2 || bpp != 32 || masks.contains(&0) {
        return None;
    }
    let data = d.get(header as usize + ncolors as usize * 12..)?;
    let mut px = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let at = (y * line + x * 4) as usize;
            let b: [u8; 4] = data.get(at..at + 4)?.try_into().ok()?;
            let v = if byte_order == 0 {
                u32::from_le_bytes(b)
            } else {
                u32::from_be_bytes(b)
            };
            let ch = |m: u32| (v & m) >> m.trailing_zeros() & 0xFF;
            px.push(ch(masks[0]) << 16 | ch(masks[1]) << 8 | ch(masks[2]));
        }
    }
    Some(Screen { w, h, px })
}

/// Pixels that differ between two pictures of the same size.
fn differing(a: &Screen, b: &Screen) -> usize {
    assert_eq!((a.w, a.h), (b.w, b.h), "sizes differ");
    a.px.iter().zip(&b.px).filter(|(p, q)| p != q).count()
}

/// OpenBIOS's screen: five banner lines and the `0 >` prompt line.
fn openbios_prompt_drawn(s: &Screen) -> bool {
    s.text_lines().len() >= 6
}

/// Waits for the window to show what `screendump` shows (it redraws at most
/// once per refresh interval), then checks they match pixel for pixel.
fn window_matches_screendump(x: &Xvfb, vm: &mut Beige, id: &str) -> Screen {
    let start = Instant::now();
    loop {
        let guest = vm.screendump();
        if x.window_size(id) == (guest.w, guest.h) {
            let shown = x.capture(id);
            if (shown.w, shown.h) == (guest.w, guest.h) && differing(&shown, &guest) == 0 {
                return guest;
            }
            if start.elapsed() > MINUTE {
                let a = guest.keep(&format!("{}-guest.png", vm.dir.display()));
                let b = shown.keep(&format!("{}-window.png", vm.dir.display()));
                panic!(
                    "{} of {} window pixels differ from the screendump ({a} vs {b})",
                    differing(&shown, &guest),
                    guest.px.len()
                );
            }
        }
        assert!(
            start.elapsed() < MINUTE,
            "window stays {:?}, guest screen is {}x{}",
            x.window_size(id),
            guest.w,
            guest.h
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn openbios_shows_its_prompt_in_the_window_and_evaluates_forth_typed_there() {
    if !prerequisites() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let x = Xvfb::start();
    let mut vm = Beige::start(&x, "openbios", &[]);
    let id = x.beige_window();
    let screen = vm.wait_screen("OpenBIOS prompt", 3 * MINUTE, openbios_prompt_drawn);

    // The default mode, the banner at the top, and the window shows exactly it.
    assert_eq!((screen.w, screen.h), (800, 600));
    let lines = screen.text_lines();
    assert_eq!(lines[0].0, 0, "banner starts at the top: {lines:?}");
    assert!(lines.iter().all(|l| l.1 < 300), "stray ink: {lines:?}");
    window_matches_screendump(&x, &mut vm, &id);
    let title = x.wait_title(&id, "[running]");
    assert!(title.contains("g3beige"), "{title}");
    // OpenBIOS polls the keyboard at its prompt, so the guest keeps executing.
    let title = x.wait_title(&id, " MIPS ");
    let mips: f64 = title
        .split(" MIPS ")
        .next()
        .and_then(|t| t.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0.0);
    assert!(mips >= 1.0, "guest speed in the title: {title}");

    // Keys: X events -> winit -> ADB codes -> CUDA -> OpenBIOS's keyboard.
    // The sum must come out as the same glyph as the `5` typed first.
    let typed = "5 drop 2 3 + .";
    x.type_line(&id, typed);
    let n = lines.len();
    let after = vm.wait_screen("Forth's answer", MINUTE, |s| s.text_lines().len() > n);
    let lines = after.text_lines();
    let answer = lines[n - 1];
    // "0 > " then the typed text, a space, and the answer.
    let (five, two, three) = (4, 11, 13);
    let result = 4 + typed.len() as u32 + 1;
    let g = |col| after.glyph(answer, col);
    assert!(!g(five).is_empty(), "typed text not echoed");
    assert_ne!(g(two), g(three), "2 and 3 look the same: keys lost?");
    assert_eq!(g(result), g(five), "2 3 + . did not print 5");

    // Ctrl-Alt-S saves the snapshot `quick` (into -snapshot-dir); after more
    // typing, Ctrl-Alt-L brings back exactly the saved screen.
    x.hotkey(&id, "ctrl+alt+s");
    let start = Instant::now();
    while !vm.command("info snapshots").contains("quick") {
        assert!(
            start.elapsed() < MINUTE,
            "Ctrl-Alt-S saved no snapshot `quick`"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let saved = vm.screendump();
    x.type_line(&id, "7 8 + .");
    let n = saved.text_lines().len();
    vm.wait_screen("typing after the save", MINUTE, |s| {
        s.text_lines().len() > n
    });
    x.hotkey(&id, "ctrl+alt+l");
    vm.wait_screen("the saved screen after Ctrl-Alt-L", MINUTE, |s| {
        s.w == saved.w && s.px == saved.px
    });

    // Paused and running show in the title, from the monitor and from the
    // Ctrl-Alt-P hotkey; Ctrl-Alt-Q quits.
    vm.command("stop");
    x.wait_title(&id, "[paused]");
    vm.command("cont");
    x.wait_title(&id, "[running]");
    assert!(vm.command("info status").contains("running"));
    x.hotkey(&id, "ctrl+alt+p");
    x.wait_title(&id, "[paused]");
    assert!(vm.command("info status").contains("paused"));
    x.hotkey(&id, "ctrl+alt+p");
    x.wait_title(&id, "[running]");
    x.hotkey(&id, "ctrl+alt+q");
    assert_eq!(vm.wait_exit(), Some(0));
}

fn kernel() -> Option<PathBuf> {
    let p = std::env::var_os("BEIGE_TEST_KERNEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/guests/linux-pmac32/vmlinux")
        });
    if p.exists() {
        return Some(p);
    }
    missing(
        &p.display().to_string(),
        "set BEIGE_TEST_KERNEL (../shared/guests/linux-pmac32/build.sh builds it)",
    );
    None
}

/// Finds a line whose cells 0..3 look like cells 6..9 of the next line:
/// the tty's echo of `abc` then init's `ECHO: abc`.
fn echoed_line(s: &Screen) -> bool {
    let lines = s.text_lines();
    lines.windows(2).any(|p| {
        let typed: Vec<_> = (0..3).map(|c| s.glyph(p[0], c)).collect();
        let echoed: Vec<_> = (6..9).map(|c| s.glyph(p[1], c)).collect();
        typed.iter().all(|g| !g.is_empty())
            && typed[0] != typed[1]
            && typed[1] != typed[2]
            && typed == echoed
            && !s.glyph(p[1], 0).is_empty()
    })
}

#[test]
fn linux_prints_its_console_on_the_framebuffer_and_reads_the_adb_keyboard() {
    if !prerequisites() {
        return;
    }
    let Some(kernel) = kernel() else { return };
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let x = Xvfb::start();
    // tty0 last: it is /dev/console, so init talks to the screen and the
    // ADB keyboard; the kernel's log also goes to the serial port, which
    // tells when init runs.
    let kernel = kernel.display().to_string();
    let args = [
        "-kernel",
        &kernel,
        "-append",
        "console=ttyS0 console=tty0 -- echo",
    ];
    let mut vm = Beige::start(&x, "linux", &args);
    let id = x.beige_window();
    let start = Instant::now();
    while !vm.serial().contains("Run /init as init process") {
        assert!(
            start.elapsed() < 3 * MINUTE,
            "Linux did not reach init; serial:\n{}",
            vm.serial()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // offb on OpenBIOS's display node, fbcon on it: the screen fills with text.
    let screen = vm.wait_screen("kernel text", MINUTE, |s| s.text_lines().len() >= 25);
    assert_eq!((screen.w, screen.h), (800, 600));

    // Typed before init opens the console, a line is lost: type until seen.
    let mut tries = 0;
    let start = Instant::now();
    loop {
        x.type_line(&id, "abc");
        tries += 1;
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut seen = false;
        while Instant::now() < deadline && !seen {
            std::thread::sleep(Duration::from_millis(500));
            seen = echoed_line(&vm.screendump());
        }
        if seen {
            break;
        }
        if start.elapsed() > 2 * MINUTE {
            let kept = vm
                .screendump()
                .keep(&format!("{}-linux.png", vm.dir.display()));
            panic!("no `ECHO: abc` after {tries} tries (screen kept in {kept})");
        }
    }
    let _ = vm.quit();
}

#[test]
fn g_modes_set_the_screen_size_and_depths_draw_the_same_colours() {
    if !prerequisites() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let x = Xvfb::start();
    // 16 bpp is drawn at 15 as QEMU does; 8 bpp goes through the palette.
    for (mode, w, h) in [
        ("1024x768x32", 1024, 768),
        ("800x600x8", 800, 600),
        ("640x480x16", 640, 480),
    ] {
        let mut vm = Beige::start(&x, mode, &["-g", mode]);
        let id = x.beige_window();
        vm.wait_screen(mode, 3 * MINUTE, openbios_prompt_drawn);
        let screen = window_matches_screendump(&x, &mut vm, &id);
        assert_eq!((screen.w, screen.h), (w, h), "{mode}");
        // OpenBIOS's light yellow (0xffffcc) within the depth's precision.
        let bg = screen.background();
        let [r, g, b] = [bg >> 16, bg >> 8 & 0xFF, bg & 0xFF];
        assert!(
            r >= 0xF0 && g >= 0xF0 && (0xC0..=0xD8).contains(&b),
            "{mode}: background {bg:06x}"
        );
        assert_eq!(vm.quit(), Some(0), "{mode}");
        drop(vm);
        // The next beige must not find this one's window.
        let start = Instant::now();
        while x
            .xdotool(&["search", "--onlyvisible", "--name", "^beige - "])
            .is_some()
        {
            assert!(start.elapsed() < MINUTE, "{mode}: window stayed after quit");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn without_a_display_server_beige_says_so_and_runs_headless() {
    if !Path::new(OPENBIOS).exists() {
        return missing(OPENBIOS, "run scripts/setup (qemu-system-data)");
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_beige"))
        .args(["-m", "256", "-serial", "null", "-monitor", "stdio"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("beige starts");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"info status\nquit\n").unwrap();
    let out = child.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("no display available"), "{stderr}");
    assert!(stdout.contains("VM status: running"), "{stdout}");
}
