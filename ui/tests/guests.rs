//! End to end with real guests through the `beige` binary: OpenBIOS's Forth prompt,
//! Linux with QEMU's own command line, the echo guest across savevm/loadvm in a fresh
//! process, and the interrupt-state regression replayed on both machine types.
//!
//! Assets: OpenBIOS from qemu-system-data, the kernel from `$BEIGE_TEST_KERNEL` or
//! `../shared/guests/linux-pmac32/vmlinux`, the bare-metal guest built from
//! `tests/guest/board` with powerpc-linux-gnu-gcc. Under CI a missing asset fails.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const OPENBIOS: &str = "/usr/share/qemu/openbios-ppc";

fn missing(what: &str, how: &str) {
    let msg = format!("{what} is missing; {how}");
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("skipping: {msg}");
}

/// Whether the firmware is installed; says how to get it if not.
fn have_openbios() -> bool {
    let found = Path::new(OPENBIOS).exists();
    if !found {
        missing(
            OPENBIOS,
            "run scripts/setup (apt-get install qemu-system-data)",
        );
    }
    found
}

fn kernel() -> Option<PathBuf> {
    let p = std::env::var_os("BEIGE_TEST_KERNEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/guests/linux-pmac32/vmlinux")
        });
    if p.exists() && Path::new(OPENBIOS).exists() {
        return Some(p);
    }
    missing(
        &format!("{} or {OPENBIOS}", p.display()),
        "set BEIGE_TEST_KERNEL (../shared/guests/linux-pmac32/build.sh builds it) and run scripts/setup",
    );
    None
}

fn temp_dir(label: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("beige-guest-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    std::fs::create_dir_all(&p).unwrap();
    p
}

/// A running `beige` whose console we read and type into.
struct Vm {
    child: Child,
    stdin: ChildStdin,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Vm {
    fn start(args: &[&str]) -> Vm {
        let mut child = Command::new(env!("CARGO_BIN_EXE_beige"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let out = Arc::new(Mutex::new(Vec::new()));
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Vm { child, stdin, out }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Waits until `needle` appears after byte `from` of the output; returns where it ends.
    fn expect_from(&mut self, from: usize, needle: &str, limit: Duration) -> usize {
        let start = Instant::now();
        loop {
            let t = self.text();
            if let Some(i) = t.get(from..).and_then(|s| s.find(needle)) {
                return from + i + needle.len();
            }
            if start.elapsed() > limit || self.child.try_wait().unwrap().is_some() {
                let _ = self.child.kill();
                panic!("no {needle:?} within {limit:?}; output:\n{t}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn expect(&mut self, needle: &str, limit: Duration) -> usize {
        self.expect_from(0, needle, limit)
    }

    /// Types like a person: a byte at a time, so the guest's 3-byte FIFO keeps up.
    fn send(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.stdin.write_all(&[*b]).unwrap();
            self.stdin.flush().unwrap();
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn wait(mut self, limit: Duration) -> (Option<i32>, String) {
        let start = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if start.elapsed() > limit {
                let _ = self.child.kill();
                panic!(
                    "beige did not exit within {limit:?}; output:\n{}",
                    self.text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let code = self.child.wait().unwrap().code();
        std::thread::sleep(Duration::from_millis(50));
        (code, self.text())
    }
}

const MINUTE: Duration = Duration::from_secs(60);

#[test]
fn openbios_prompt_evaluates_forth_and_banner_matches_qemu() {
    if !have_openbios() {
        return;
    }
    let mut vm = Vm::start(&["-nographic", "-m", "256"]);
    let at = vm.expect("0 > ", 2 * MINUTE);
    vm.send(b"1 2 + .\r");
    vm.expect_from(at, "3  ok", MINUTE);
    vm.send(b"\x01x");
    let (code, out) = vm.wait(MINUTE);
    assert_eq!(code, Some(0), "{out}");

    // The banner OpenBIOS prints from what the board tells it, against QEMU's.
    let banner = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with(">> "))
            .map(|l| l.trim_end().to_owned())
            .collect()
    };
    let ours = banner(&out);
    assert!(ours.iter().any(|l| l == ">> Memory: 256M"), "{ours:?}");
    assert!(
        ours.iter().any(|l| l == ">> CPU type PowerPC,750"),
        "{ours:?}"
    );
    if let Ok(mut q) = Command::new("qemu-system-ppc")
        .args([
            "-M",
            "g3beige",
            "-m",
            "256",
            "-nographic",
            "-monitor",
            "none",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        std::thread::sleep(Duration::from_secs(8));
        let _ = q.kill();
        let mut s = String::new();
        q.stdout.take().unwrap().read_to_string(&mut s).unwrap();
        assert_eq!(ours, banner(&s), "banner differs from QEMU's");
    }
}

#[test]
fn minus_d_in_asm_and_int_log_blocks_and_exceptions_to_the_file() {
    if !have_openbios() {
        return;
    }
    let dir = temp_dir("log");
    let log = dir.join("beige.log");
    let mut vm = Vm::start(&[
        "-nographic",
        "-d",
        "in_asm,int",
        "-D",
        log.to_str().unwrap(),
    ]);
    vm.expect("0 > ", 2 * MINUTE);
    vm.send(b"\x01x");
    let (code, out) = vm.wait(MINUTE);
    assert_eq!(code, Some(0), "{out}");
    let text = std::fs::read_to_string(&log).unwrap();
    // The reset vector's block, disassembled by capstone, at its address.
    let first = text.find("IN:").expect("no block logged");
    assert!(
        text[first..].starts_with("IN:\n0xfff00100:  b 0xfff"),
        "{}",
        &text[first..first + 80.min(text.len() - first)]
    );
    assert!(text.contains(":  lis r"), "no disassembly");
    // OpenBIOS takes its page faults in its own handlers.
    let raised: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("Raise exception at "))
        .collect();
    assert!(
        raised.iter().any(|l| l.contains("=> 00000300 (Dsi")),
        "{raised:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn linux_with_qemus_command_line_runs_its_checks_and_powers_off() {
    let Some(k) = kernel() else { return };
    let k = k.to_str().unwrap();
    let vm = Vm::start(&[
        "-M",
        "g3beige",
        "-m",
        "256",
        "-kernel",
        k,
        "-nographic",
        "-append",
        "console=ttyS0",
    ]);
    let (code, out) = vm.wait(4 * MINUTE);
    assert_eq!(code, Some(0), "{out}");
    for want in [
        "INIT: crc32=4091419d (expect 4091419d)",
        "INIT: zeta2=1.644924066898 (expect 1.644924066898)",
        "INIT: powering off",
    ] {
        assert!(out.contains(want), "missing {want:?}:\n{out}");
    }
}

#[test]
fn linux_echoes_typed_lines_until_quit() {
    let Some(k) = kernel() else { return };
    let mut vm = Vm::start(&[
        "-m",
        "256",
        "-kernel",
        k.to_str().unwrap(),
        "-nographic",
        "-append",
        "console=ttyS0 -- echo",
    ]);
    let at = vm.expect("INIT: echo ready", 4 * MINUTE);
    vm.send(b"hello beige\r");
    let at = vm.expect_from(at, "ECHO: hello beige", MINUTE);
    vm.send(b"second line\r");
    vm.expect_from(at, "ECHO: second line", MINUTE);
    vm.send(b"quit\r");
    let (code, out) = vm.wait(MINUTE);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("INIT: done"), "{out}");
}

/// Boots the echo guest, saves it while it waits for input, and loads the snapshot
/// in a fresh process that must still echo.
fn echo_across_processes(machine: &str) {
    let Some(k) = kernel() else { return };
    let dir = temp_dir(machine);
    let common = [
        "-M",
        machine,
        "-m",
        "256",
        "-kernel",
        k.to_str().unwrap(),
        "-nographic",
        "-append",
        "console=ttyS0 -- echo",
        "-snapshot-dir",
        dir.to_str().unwrap(),
    ];
    let mut vm = Vm::start(&common);
    vm.expect("INIT: echo ready", 4 * MINUTE);
    vm.send(b"\x01csavevm echo\nquit\n");
    let (code, out) = vm.wait(MINUTE);
    assert_eq!(code, Some(0), "{out}");
    assert!(dir.join("echo.zst").exists(), "no snapshot file:\n{out}");

    let mut args = common.to_vec();
    args.extend(["-loadvm", "echo"]);
    let mut vm = Vm::start(&args);
    std::thread::sleep(Duration::from_millis(500));
    vm.send(b"after loadvm\r");
    vm.expect("ECHO: after loadvm", MINUTE);
    vm.send(b"quit\r");
    let (code, out) = vm.wait(MINUTE);
    assert_eq!(code, Some(0), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn linux_echo_continues_after_loadvm_in_a_fresh_process_on_1_1() {
    echo_across_processes("g3beige-1.1");
}

#[test]
fn linux_echo_continues_after_loadvm_in_a_fresh_process_on_1_0() {
    echo_across_processes("g3beige-1.0");
}

/// Builds the irq-replay guest (tests/guest/board) with the cross toolchain.
fn irq_guest() -> Option<PathBuf> {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/guest/board");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("irq_replay_ui.elf");
    let ok = Command::new("powerpc-linux-gnu-gcc")
        .args([
            "-nostdlib",
            "-static",
            "-Wa,-mregnames",
            "-Wl,--build-id=none",
            "-Wl,-T",
        ])
        .arg(src.join("rom.ld"))
        .arg("-o")
        .arg(&out)
        .arg(src.join("irq_replay.S"))
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(out);
    }
    missing("powerpc-linux-gnu-gcc", "run scripts/setup");
    None
}

/// Snapshots the irq-replay guest while its interrupt is pending, then loads it in a
/// fresh process and returns what the guest reports.
fn irq_replay_across_processes(machine: &str) -> String {
    let Some(guest) = irq_guest() else {
        return String::new();
    };
    let dir = temp_dir(&format!("irq-{machine}"));
    let common = [
        "-M",
        machine,
        "-bios",
        guest.to_str().unwrap(),
        "-nographic",
        "-snapshot-dir",
        dir.to_str().unwrap(),
    ];
    let mut vm = Vm::start(&common);
    vm.expect("irq-replay: pending", MINUTE);
    // Within the guest's one-second window: stop first, then save.
    vm.send(b"\x01cstop\nsavevm irq\nquit\n");
    let (code, out) = vm.wait(MINUTE);
    assert_eq!(code, Some(0), "{out}");
    assert!(!out.contains("handler ran"), "saved too late:\n{out}");

    let mut args = common.to_vec();
    args.extend(["-loadvm", "irq"]);
    let mut vm = Vm::start(&args);
    let at = vm.expect("irq-replay: done", MINUTE);
    let report = vm.text()[..at].to_owned();
    vm.send(b"\x01x");
    let (code, out) = vm.wait(MINUTE);
    assert_eq!(code, Some(0), "{out}");
    let _ = std::fs::remove_dir_all(dir);
    report
}

#[test]
fn pending_interrupt_is_lost_across_processes_on_1_0() {
    let out = irq_replay_across_processes("g3beige-1.0");
    if !out.is_empty() {
        assert!(out.contains("irq-replay: interrupt lost"), "{out}");
    }
}

#[test]
fn pending_interrupt_survives_across_processes_on_1_1() {
    let out = irq_replay_across_processes("g3beige-1.1");
    if !out.is_empty() {
        assert!(out.contains("irq-replay: handler ran"), "{out}");
    }
}

/// Decodes a screendump: (width, height, RGB bytes).
fn read_png(path: &Path) -> Option<(u32, u32, Vec<u8>)> {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).ok()?));
    let mut reader = decoder.read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).ok()?;
    let channels = info.color_type.samples();
    let rgb = buf[..info.buffer_size()]
        .chunks(channels)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    Some((info.width, info.height, rgb))
}

/// Dark pixels (text on OpenBIOS's light background) in rows `rows`.
fn dark_pixels(w: u32, rgb: &[u8], rows: std::ops::Range<u32>) -> usize {
    pixels(w, rgb, rows, |p| p.iter().all(|&c| c < 64))
}

/// Light pixels (OpenBIOS's background) in rows `rows`.
fn light_pixels(w: u32, rgb: &[u8], rows: std::ops::Range<u32>) -> usize {
    pixels(w, rgb, rows, |p| p.iter().all(|&c| c >= 192))
}

fn pixels(w: u32, rgb: &[u8], rows: std::ops::Range<u32>, f: impl Fn(&[u8]) -> bool) -> usize {
    rows.flat_map(|y| (0..w).map(move |x| ((y * w + x) * 3) as usize))
        .filter(|&i| f(&rgb[i..i + 3]))
        .count()
}

#[test]
fn openbios_draws_its_prompt_on_the_vga_screen() {
    if !have_openbios() {
        return;
    }
    let dir = temp_dir("screen");
    let png_path = dir.join("screen.png");
    let mut vm = Vm::start(&[
        "-display", "none", "-monitor", "stdio", "-serial", "null", "-m", "256",
    ]);
    vm.expect("(beige)", MINUTE);
    let start = Instant::now();
    // Poll the screen until the prompt line (the sixth text row) has been drawn:
    // text on the cleared background. Freshly set VRAM is black, so dark pixels
    // alone can be a screen OpenBIOS has not cleared yet.
    let (w, h, rgb) = loop {
        let _ = std::fs::remove_file(&png_path);
        vm.send(format!("screendump {}\n", png_path.display()).as_bytes());
        std::thread::sleep(Duration::from_millis(1000));
        if let Some((w, h, rgb)) = read_png(&png_path) {
            if dark_pixels(w, &rgb, 56..72) > 0 && light_pixels(w, &rgb, 56..72) > 0 {
                break (w, h, rgb);
            }
        }
        assert!(
            start.elapsed() < 3 * MINUTE,
            "no prompt on screen:\n{}",
            vm.text()
        );
    };
    vm.send(b"quit\n");
    let (code, out) = vm.wait(MINUTE);
    assert_eq!(code, Some(0), "{out}");
    // OpenBIOS's default mode from fw_cfg, its banner at the top, nothing below.
    assert_eq!((w, h), (800, 600));
    assert!(dark_pixels(w, &rgb, 0..48) > 500, "no banner text");
    assert_eq!(
        dark_pixels(w, &rgb, 300..600),
        0,
        "stray pixels in the lower half"
    );
    let _ = std::fs::remove_dir_all(dir);
}
