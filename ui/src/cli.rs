//! The command line: QEMU's spellings, parsed with clap.
//!
//! QEMU's long options take one dash (`-machine`, `-nographic`). clap wants two,
//! so `normalize_args` rewrites every single-dash word of two or more letters in
//! an option position to the double-dash form before clap sees it; values (the
//! word after an option that takes one) are left alone, so `-append -v` works.
//! QEMU options beige does not implement yet are refused by name, never ignored.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::Parser;

use crate::chardev::ChardevSpec;
use crate::logging::LogCategory;

pub const DEFAULT_RAM_MIB: u64 = 128;

/// What the user asked for, as clap parses it (before validation).
#[derive(Debug, Parser)]
#[command(
    name = "beige",
    version,
    about = "beige: a Power Macintosh G3 (Beige) emulator with QEMU's command line",
    long_about = None,
    after_help = "Every long option works with one dash (QEMU style) or two.\n\
                  Serial and monitor share stdio (Ctrl-A h lists the escapes); the window,\n\
                  when a display server is there and not -nographic/-display none, shows the screen.\n\
                  Snapshots live in -snapshot-dir (default $XDG_DATA_HOME/beige/snapshots,\n\
                  else ~/.local/share/beige/snapshots).\n\
                  Pacing: an idle guest waits in real time; -icount sleep=off disables it."
)]
pub struct Args {
    /// Machine type and options: NAME[,graphics=on|off][,accel=tcg]. `-M help` lists types.
    #[arg(short = 'M', long = "machine", value_name = "TYPE[,OPT=VAL...]")]
    pub machine: Option<String>,
    /// RAM size: N (MiB) or N with a K/M/G suffix, or size=N. Default 128 MiB.
    #[arg(short = 'm', value_name = "SIZE")]
    pub memory: Option<String>,
    /// Firmware file (default: openbios-ppc from -L, $BEIGE_FIRMWARE_DIR, /usr/share/qemu).
    #[arg(long = "bios", value_name = "FILE")]
    pub bios: Option<PathBuf>,
    /// Directory to search for firmware (may repeat).
    #[arg(short = 'L', value_name = "DIR")]
    pub firmware_dirs: Vec<PathBuf>,
    /// Linux kernel ELF to load, as QEMU does.
    #[arg(long, value_name = "FILE")]
    pub kernel: Option<PathBuf>,
    /// Initial ramdisk (needs -kernel).
    #[arg(long, value_name = "FILE")]
    pub initrd: Option<PathBuf>,
    /// Kernel command line (needs -kernel).
    #[arg(long, value_name = "CMDLINE", allow_hyphen_values = true)]
    pub append: Option<String>,
    /// Hard disk image on IDE0 master.
    #[arg(long, value_name = "FILE")]
    pub hda: Option<PathBuf>,
    /// CD-ROM image.
    #[arg(long, value_name = "FILE")]
    pub cdrom: Option<PathBuf>,
    /// Boot device: c (disk), d (CD-ROM) or order=X.
    #[arg(long, value_name = "DEV")]
    pub boot: Option<String>,
    /// Serial port backend (first for ESCC-A, second for ESCC-B):
    /// stdio | mon:stdio | null | none | file:PATH | unix:PATH,server[,nowait] | pty
    #[arg(long, value_name = "DEV")]
    pub serial: Vec<String>,
    /// Monitor backend: stdio | none | unix:PATH,server[,nowait] | pty | file:PATH
    #[arg(long, value_name = "DEV")]
    pub monitor: Option<String>,
    /// No window: serial and monitor multiplexed on stdio (Ctrl-A escapes).
    #[arg(long)]
    pub nographic: bool,
    /// Display: none | default
    #[arg(long, value_name = "TYPE")]
    pub display: Option<String>,
    /// File that keeps the NVRAM across runs.
    #[arg(long, value_name = "FILE")]
    pub nvram: Option<PathBuf>,
    /// Device property: DRIVER.PROP=VALUE (may repeat), e.g. cpu.migrate-irq-state=off.
    #[arg(long, value_name = "DRIVER.PROP=VALUE")]
    pub global: Vec<String>,
    /// Exit instead of rebooting when the guest resets.
    #[arg(long = "no-reboot")]
    pub no_reboot: bool,
    /// Log categories, comma separated (`-d help` lists them).
    #[arg(short = 'd', value_name = "ITEM,...")]
    pub log: Option<String>,
    /// Log to FILE instead of stderr.
    #[arg(short = 'D', value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Start with the CPU stopped (`cont` in the monitor starts it).
    #[arg(short = 'S')]
    pub start_stopped: bool,
    /// Real-time clock start: base=utc|localtime|YYYY-MM-DDTHH:MM:SS|UNIX-SECONDS
    #[arg(long, value_name = "base=...")]
    pub rtc: Option<String>,
    /// Start from the snapshot TAG.
    #[arg(long, value_name = "TAG")]
    pub loadvm: Option<String>,
    /// Directory holding snapshots (one zstd file per tag).
    #[arg(long = "snapshot-dir", value_name = "DIR")]
    pub snapshot_dir: Option<PathBuf>,
    /// Initial display mode WxH[xDEPTH], e.g. 1024x768x32.
    #[arg(short = 'g', value_name = "WxHxD")]
    pub geometry: Option<String>,
    /// Write the JSON description of the machine's saved state to FILE and exit.
    #[arg(long = "dump-vmstate", value_name = "FILE")]
    pub dump_vmstate: Option<PathBuf>,
    /// Virtual clock: [shift=N][,sleep=on|off]. sleep=off runs an idle guest as
    /// fast as possible instead of waiting in real time.
    #[arg(long, value_name = "shift=N,sleep=on|off")]
    pub icount: Option<String>,
}

/// QEMU options that are recognised but not implemented: refused with a message.
/// Each entry says whether the option takes a value (to keep argv positions right).
const REFUSED: &[(&str, bool)] = &[
    ("smp", true),
    ("cpu", true),
    ("enable-kvm", false),
    ("accel", true),
    ("net", true),
    ("netdev", true),
    ("nic", true),
    ("device", true),
    ("drive", true),
    ("blockdev", true),
    ("usb", false),
    ("usbdevice", true),
    ("vga", true),
    ("prom-env", true),
    ("s", false),
    ("gdb", true),
    ("snapshot", false),
    ("k", true),
    ("full-screen", false),
    ("name", true),
    ("daemonize", false),
    ("qmp", true),
    ("chardev", true),
    ("mon", true),
    ("audiodev", true),
    ("soundhw", true),
    ("incoming", true),
    ("fda", true),
    ("fdb", true),
    ("hdb", true),
    ("hdc", true),
    ("hdd", true),
    ("sd", true),
    ("pflash", true),
    ("object", true),
    ("trace", true),
    ("parallel", true),
    ("virtfs", true),
    ("vnc", true),
    ("spice", true),
    ("no-shutdown", false),
    ("watchdog", true),
    ("option-rom", true),
    ("fw_cfg", true),
    ("pidfile", true),
    ("runas", true),
    ("sandbox", true),
    ("overcommit", true),
    ("mem-path", true),
    ("mem-prealloc", false),
    ("semihosting", false),
    ("plugin", true),
    ("readconfig", true),
    ("writeconfig", true),
    ("nodefaults", false),
    ("no-user-config", false),
];

/// Options of ours that take a value, by every spelling the user may type.
const TAKES_VALUE: &[&str] = &[
    "M",
    "machine",
    "m",
    "bios",
    "L",
    "kernel",
    "initrd",
    "append",
    "hda",
    "cdrom",
    "boot",
    "serial",
    "monitor",
    "display",
    "nvram",
    "global",
    "d",
    "D",
    "rtc",
    "loadvm",
    "snapshot-dir",
    "g",
    "dump-vmstate",
    "icount",
];

/// A command-line problem, as one line for the user.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CliError {
    #[error("option -{0} is not supported by beige yet")]
    Unsupported(String),
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> CliError {
    CliError::Invalid(msg.into())
}

/// Rewrite QEMU-style single-dash long options to clap's double-dash form and
/// refuse known-but-unimplemented QEMU options. `args[0]` is the program name.
pub fn normalize_args(args: &[OsString]) -> Result<Vec<OsString>, CliError> {
    let mut out = Vec::with_capacity(args.len());
    let mut iter = args.iter();
    if let Some(prog) = iter.next() {
        out.push(prog.clone());
    }
    let mut value_next = false;
    let mut rest_positional = false;
    for arg in iter {
        if value_next || rest_positional {
            value_next = false;
            out.push(arg.clone());
            continue;
        }
        let Some(s) = arg.to_str() else {
            out.push(arg.clone());
            continue;
        };
        if s == "--" {
            rest_positional = true;
            out.push(arg.clone());
            continue;
        }
        let body = if let Some(b) = s.strip_prefix("--") {
            b
        } else if let Some(b) = s.strip_prefix('-') {
            b
        } else {
            out.push(arg.clone());
            continue;
        };
        let (name, has_inline_value) = match body.split_once('=') {
            Some((n, _)) => (n, true),
            None => (body, false),
        };
        if let Some((_, takes)) = REFUSED.iter().find(|(n, _)| *n == name) {
            let _ = takes;
            return Err(CliError::Unsupported(name.to_string()));
        }
        if !has_inline_value && TAKES_VALUE.contains(&name) {
            value_next = true;
        }
        if !s.starts_with("--") && body.len() >= 2 {
            out.push(OsString::from(format!("--{body}")));
        } else {
            out.push(arg.clone());
        }
    }
    Ok(out)
}

/// Memory size as QEMU reads `-m`: a bare number is MiB; K/M/G/T suffixes.
pub fn parse_mem_size(text: &str) -> Result<u64, CliError> {
    let t = text.strip_prefix("size=").unwrap_or(text).trim();
    let bad = || {
        invalid(format!(
            "invalid -m value '{text}': use a size in MiB like 256, or 256M, 1G"
        ))
    };
    if t.is_empty() {
        return Err(bad());
    }
    let (digits, mult) = match t.chars().last() {
        Some(c) if c.is_ascii_digit() => (t, 1u64 << 20),
        Some(c) => {
            let mult = match c.to_ascii_uppercase() {
                'B' => 1,
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(bad()),
            };
            (&t[..t.len() - 1], mult)
        }
        None => return Err(bad()),
    };
    let n: u64 = digits.parse().map_err(|_| bad())?;
    let bytes = n.checked_mul(mult).ok_or_else(bad)?;
    if bytes < (1 << 20) || bytes % (1 << 20) != 0 {
        return Err(invalid(format!(
            "invalid -m value '{text}': RAM size must be a whole number of MiB, at least 1 MiB"
        )));
    }
    if bytes >= 1 << 32 {
        return Err(invalid(format!(
            "invalid -m value '{text}': a 32-bit G3 addresses at most 4 GiB (g3beige allows 2047 MiB)"
        )));
    }
    Ok(bytes)
}

/// `-M name[,opt=val...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineSpec {
    /// As typed (`g3beige`, `g3beige-1.0`); `help` lists the types.
    pub name: String,
    /// `graphics=on|off`; `None` = not given.
    pub graphics: Option<bool>,
}

pub fn parse_on_off(key: &str, v: &str) -> Result<bool, CliError> {
    match v {
        "on" | "yes" | "true" => Ok(true),
        "off" | "no" | "false" => Ok(false),
        _ => Err(invalid(format!("{key}: expected on or off, got '{v}'"))),
    }
}

pub fn parse_machine(text: &str) -> Result<MachineSpec, CliError> {
    let mut spec = MachineSpec {
        name: String::new(),
        graphics: None,
    };
    for (i, part) in text.split(',').enumerate() {
        match part.split_once('=') {
            None if i == 0 => spec.name = part.to_string(),
            Some(("type", v)) => spec.name = v.to_string(),
            Some(("graphics", v)) => spec.graphics = Some(parse_on_off("graphics", v)?),
            Some(("accel", "tcg")) => {}
            Some(("accel", v)) => {
                return Err(invalid(format!(
                    "-machine accel={v}: beige only has its own interpreter (accel=tcg)"
                )))
            }
            _ => {
                let key = part.split('=').next().unwrap_or(part);
                return Err(invalid(format!(
                    "-machine: unknown option '{key}' (known: type, graphics, accel)"
                )));
            }
        }
    }
    if spec.name.is_empty() {
        spec.name = "g3beige".into();
    }
    Ok(spec)
}

/// `-rtc base=...`: the guest's clock at virtual time zero, in Unix seconds.
pub fn parse_rtc(text: &str, now_unix: i64, local_offset_s: i64) -> Result<i64, CliError> {
    let mut base = now_unix;
    for part in text.split(',') {
        match part.split_once('=') {
            Some(("base", "utc")) => base = now_unix,
            Some(("base", "localtime")) => base = now_unix + local_offset_s,
            Some(("base", v)) => base = parse_datetime(v)?,
            Some(("clock", "vm")) => {}
            Some(("clock", v)) => {
                return Err(invalid(format!(
                    "-rtc clock={v}: beige's RTC always follows the virtual clock (clock=vm)"
                )))
            }
            Some(("driftfix", "none")) => {}
            _ => {
                return Err(invalid(format!(
                    "-rtc: cannot parse '{part}' (use base=utc, base=localtime, \
                     base=2006-06-17T16:01:21 or base=<unix seconds>)"
                )))
            }
        }
    }
    Ok(base)
}

/// `YYYY-MM-DD[THH:MM:SS]` (UTC) or Unix seconds.
fn parse_datetime(v: &str) -> Result<i64, CliError> {
    let bad = || {
        invalid(format!(
            "-rtc base={v}: expected utc, localtime, YYYY-MM-DDTHH:MM:SS or Unix seconds"
        ))
    };
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse().map_err(|_| bad());
    }
    let (date, time) = match v.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (v, None),
    };
    let nums = |s: &str, sep: char, n: usize| -> Option<Vec<i64>> {
        let parts: Vec<i64> = s
            .split(sep)
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        (parts.len() == n).then_some(parts)
    };
    let d = nums(date, '-', 3).ok_or_else(bad)?;
    let t = match time {
        Some(t) => nums(t, ':', 3).ok_or_else(bad)?,
        None => vec![0, 0, 0],
    };
    let (y, mo, da) = (d[0], d[1], d[2]);
    if !(1..=12).contains(&mo)
        || !(1..=31).contains(&da)
        || !(0..24).contains(&t[0])
        || !(0..60).contains(&t[1])
        || !(0..61).contains(&t[2])
    {
        return Err(bad());
    }
    Ok(days_from_civil(y, mo, da) * 86400 + t[0] * 3600 + t[1] * 60 + t[2])
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The inverse of `days_from_civil`: (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn format_utc(unix: i64) -> String {
    let (y, m, d) = civil_from_days(unix.div_euclid(86400));
    let s = unix.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// `-g WxH[xD]`.
pub fn parse_geometry(text: &str) -> Result<(u32, u32, u32), CliError> {
    let bad = || {
        invalid(format!(
            "-g {text}: expected WIDTHxHEIGHT[xDEPTH], e.g. 1024x768x32"
        ))
    };
    let parts: Vec<u32> = text
        .split('x')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()
        .ok_or_else(bad)?;
    let (w, h, d) = match parts[..] {
        [w, h] => (w, h, 32),
        [w, h, d] => (w, h, d),
        _ => return Err(bad()),
    };
    if !(320..=4096).contains(&w) || !(200..=4096).contains(&h) {
        return Err(invalid(format!(
            "-g {text}: width must be 320..4096 and height 200..4096"
        )));
    }
    if ![8, 15, 16, 24, 32].contains(&d) {
        return Err(invalid(format!(
            "-g {text}: depth must be 8, 15, 16, 24 or 32"
        )));
    }
    Ok((w, h, d))
}

/// `-boot c|d|order=X[,...]`: the first boot device letter.
pub fn parse_boot(text: &str) -> Result<char, CliError> {
    let mut dev = None;
    for part in text.split(',') {
        let order = match part.split_once('=') {
            Some(("order", v)) | Some(("once", v)) => v,
            Some((k, _)) => {
                return Err(invalid(format!(
                    "-boot: option '{k}' is not supported (use -boot c, d or order=X)"
                )))
            }
            None => part,
        };
        let c = order
            .chars()
            .next()
            .ok_or_else(|| invalid("-boot: empty device"))?;
        if !matches!(c, 'c' | 'd' | 'm') {
            return Err(invalid(format!(
                "-boot {text}: boot device must be c (hard disk), d (CD-ROM) or m"
            )));
        }
        dev.get_or_insert(c);
    }
    dev.ok_or_else(|| invalid("-boot: empty device"))
}

/// `-global driver.prop=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobalProp {
    pub driver: String,
    pub prop: String,
    pub value: String,
}

pub fn parse_global(text: &str) -> Result<GlobalProp, CliError> {
    let bad = || {
        invalid(format!(
            "-global {text}: expected DRIVER.PROP=VALUE, e.g. cpu.migrate-irq-state=off"
        ))
    };
    let (lhs, value) = text.split_once('=').ok_or_else(bad)?;
    let (driver, prop) = lhs.split_once('.').ok_or_else(bad)?;
    if driver.is_empty() || prop.is_empty() {
        return Err(bad());
    }
    Ok(GlobalProp {
        driver: driver.into(),
        prop: prop.into(),
        value: value.into(),
    })
}

/// `-icount [shift=N][,sleep=on|off]` → (shift, pacing).
pub fn parse_icount(text: &str) -> Result<(Option<u32>, bool), CliError> {
    let mut shift = None;
    let mut sleep = true;
    for part in text.split(',') {
        let (key, v) = part.split_once('=').unwrap_or(("shift", part));
        match key {
            "shift" if v == "auto" => {
                return Err(invalid(
                    "-icount shift=auto: beige's clock is always exact; give shift=N",
                ))
            }
            "shift" => {
                let n: u32 = v
                    .parse()
                    .map_err(|_| invalid(format!("-icount: bad shift '{v}'")))?;
                if n > 10 {
                    return Err(invalid("-icount: shift must be 0..10"));
                }
                shift = Some(n);
            }
            "sleep" => sleep = parse_on_off("-icount sleep", v)?,
            _ => {
                return Err(invalid(format!(
                    "-icount: unknown option '{part}' (known: shift=N, sleep=on|off)"
                )))
            }
        }
    }
    Ok((shift, sleep))
}

/// How the screen is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisplayKind {
    /// A window when a display server is there.
    Window,
    None,
}

/// The validated configuration the rest of beige works from.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub machine: MachineSpec,
    pub ram_size: u64,
    /// Resolved firmware ELF (see `firmware.rs`); empty only for `-M none`,
    /// which never reaches `glue`.
    pub firmware: PathBuf,
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub append: Option<String>,
    pub hda: Option<PathBuf>,
    pub cdrom: Option<PathBuf>,
    pub boot_device: Option<char>,
    /// Index 0 is ESCC-A (the OpenBIOS and Linux console), 1 is ESCC-B.
    pub serial: Vec<ChardevSpec>,
    pub monitor: ChardevSpec,
    pub nographic: bool,
    pub display: DisplayKind,
    pub nvram: Option<PathBuf>,
    pub globals: Vec<GlobalProp>,
    pub no_reboot: bool,
    pub log: Vec<LogCategory>,
    pub log_file: Option<PathBuf>,
    pub start_stopped: bool,
    /// Guest RTC at virtual time zero, Unix seconds.
    pub rtc_base_unix: i64,
    pub loadvm: Option<String>,
    pub snapshot_dir: PathBuf,
    /// `-g`: (width, height, depth); None = the machine's default (800x600x32).
    pub geometry: Option<(u32, u32, u32)>,
    pub dump_vmstate: Option<PathBuf>,
    /// Sleep in real time while the guest idles ahead of the host clock.
    pub pacing: bool,
    /// `-icount shift=N`: 2^N ns per instruction; None = the machine's default.
    pub icount_shift: Option<u32>,
}

/// Host facts the configuration depends on, passed in so tests control them.
#[derive(Debug, Clone)]
pub struct HostEnv {
    pub now_unix: i64,
    pub local_offset_s: i64,
    pub firmware_env_dir: Option<PathBuf>,
    pub system_firmware: Vec<PathBuf>,
    pub xdg_data_home: Option<PathBuf>,
    pub home: Option<PathBuf>,
}

/// What `main` should do once arguments are parsed.
#[derive(Debug)]
pub enum Action {
    Run(Box<Config>),
    /// Print this text to stdout and exit 0 (`-M help`, `-d help`).
    Print(String),
}

/// The default snapshot directory: `$XDG_DATA_HOME/beige/snapshots`, else
/// `~/.local/share/beige/snapshots`, else `./beige-snapshots`.
pub fn default_snapshot_dir(env: &HostEnv) -> PathBuf {
    if let Some(x) = env.xdg_data_home.as_ref().filter(|p| p.is_absolute()) {
        return x.join("beige/snapshots");
    }
    if let Some(h) = &env.home {
        return h.join(".local/share/beige/snapshots");
    }
    PathBuf::from("beige-snapshots")
}

/// Validate parsed args into a `Config` (firmware is searched here too).
pub fn build_config(args: Args, env: &HostEnv) -> Result<Action, CliError> {
    let machine = parse_machine(args.machine.as_deref().unwrap_or("g3beige"))?;
    if machine.name == "help" || machine.name == "?" {
        let mut help = crate::glue::machine_help();
        help += &format!(
            "{:<20} empty machine (no CPU; monitor and snapshots only)\n",
            "none"
        );
        return Ok(Action::Print(help));
    }
    let is_none = machine.name == crate::none_machine::NAME;
    let types = crate::glue::machine_types();
    let mtype = types.iter().find(|t| t.name == machine.name);
    if mtype.is_none() && !is_none {
        return Err(invalid(format!(
            "unknown machine type '{}' (beige -M help lists them)",
            machine.name
        )));
    }
    let max_ram_mib = mtype.map_or(2047, |t| t.max_ram_mib);
    let log = match args.log.as_deref() {
        Some("help") | Some("?") => return Ok(Action::Print(crate::logging::help_text())),
        Some(items) => crate::logging::parse_items(items)?,
        None => Vec::new(),
    };
    let ram_size = match &args.memory {
        Some(m) => parse_mem_size(m)?,
        None => DEFAULT_RAM_MIB << 20,
    };
    if ram_size > max_ram_mib << 20 {
        return Err(invalid(format!(
            "Too much memory for this machine: {} MB, maximum {} MB",
            ram_size >> 20,
            max_ram_mib
        )));
    }
    if args.initrd.is_some() && args.kernel.is_none() {
        return Err(invalid("-initrd needs -kernel"));
    }
    if args.append.is_some() && args.kernel.is_none() {
        return Err(invalid("-append needs -kernel"));
    }
    for (flag, path) in [
        ("-kernel", &args.kernel),
        ("-initrd", &args.initrd),
        ("-hda", &args.hda),
        ("-cdrom", &args.cdrom),
    ] {
        if let Some(p) = path {
            if let Err(e) = std::fs::metadata(p) {
                return Err(invalid(format!("{flag} {}: {e}", p.display())));
            }
        }
    }
    let display = match args.display.as_deref() {
        None | Some("default") | Some("gtk") | Some("sdl") => DisplayKind::Window,
        Some("none") => DisplayKind::None,
        Some(other) => {
            return Err(invalid(format!(
                "-display {other}: beige knows 'none' and 'default' (its own window)"
            )))
        }
    };
    // The window has no text console (QEMU's "vc"), so serial and monitor
    // default to the stdio mux in every mode, as with -nographic.
    let display = if args.nographic {
        DisplayKind::None
    } else {
        display
    };
    let headless = true;
    let mut serial = args
        .serial
        .iter()
        .map(|s| ChardevSpec::parse(s, "-serial"))
        .collect::<Result<Vec<_>, _>>()?;
    if serial.len() > 2 {
        return Err(invalid(
            "g3beige has two serial ports (ESCC-A and ESCC-B): give -serial at most twice",
        ));
    }
    if serial.is_empty() && (args.nographic || headless) {
        serial.push(ChardevSpec::MonStdio);
    }
    let monitor = match &args.monitor {
        Some(m) => ChardevSpec::parse(m, "-monitor")?,
        None if serial.iter().any(|s| s.uses_stdio()) => ChardevSpec::MonStdio,
        None => ChardevSpec::Stdio,
    };
    if monitor == ChardevSpec::MonStdio && args.monitor.is_some() {
        return Err(invalid("-monitor mon:stdio: write -monitor stdio"));
    }
    let rtc_base_unix = match &args.rtc {
        Some(r) => parse_rtc(r, env.now_unix, env.local_offset_s)?,
        None => env.now_unix,
    };
    let geometry = args.geometry.as_deref().map(parse_geometry).transpose()?;
    let boot_device = args.boot.as_deref().map(parse_boot).transpose()?;
    let globals = args
        .global
        .iter()
        .map(|g| parse_global(g))
        .collect::<Result<Vec<_>, _>>()?;
    let (icount_shift, pacing) = match &args.icount {
        Some(i) => parse_icount(i)?,
        None => (None, true),
    };
    if let Some(tag) = &args.loadvm {
        crate::snapshot::check_tag(tag).map_err(|e| invalid(format!("-loadvm: {e}")))?;
    }
    let firmware = if is_none {
        PathBuf::new()
    } else {
        crate::firmware::find(&crate::firmware::Search {
            bios: args.bios.clone(),
            dirs: args.firmware_dirs.clone(),
            env_dir: env.firmware_env_dir.clone(),
            system: env.system_firmware.clone(),
        })
        .map_err(|e| invalid(e.to_string()))?
    };
    let snapshot_dir = args
        .snapshot_dir
        .clone()
        .unwrap_or_else(|| default_snapshot_dir(env));
    Ok(Action::Run(Box::new(Config {
        machine,
        ram_size,
        firmware,
        kernel: args.kernel,
        initrd: args.initrd,
        append: args.append,
        hda: args.hda,
        cdrom: args.cdrom,
        boot_device,
        serial,
        monitor,
        nographic: args.nographic,
        display,
        nvram: args.nvram,
        globals,
        no_reboot: args.no_reboot,
        log,
        log_file: args.log_file,
        start_stopped: args.start_stopped,
        rtc_base_unix,
        loadvm: args.loadvm,
        snapshot_dir,
        geometry,
        dump_vmstate: args.dump_vmstate,
        pacing,
        icount_shift,
    })))
}

/// Parse a full argv (program name first) into an action; clap's own errors
/// (including --help and --version) come back as `clap::Error` to print.
pub fn parse(args: &[OsString], env: &HostEnv) -> Result<Action, ParseError> {
    let norm = normalize_args(args)?;
    let parsed = Args::try_parse_from(norm).map_err(ParseError::Clap)?;
    Ok(build_config(parsed, env)?)
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("{0}")]
    Cli(#[from] CliError),
    #[error("{0}")]
    Clap(clap::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn strs(v: Vec<OsString>) -> Vec<String> {
        v.into_iter().map(|s| s.into_string().unwrap()).collect()
    }

    /// A host with a firmware file in a temp dir.
    fn env_with_firmware() -> (HostEnv, crate::testutil::TempDir) {
        let dir = crate::testutil::TempDir::new("cli");
        let fw = dir.path().join("openbios-ppc");
        std::fs::write(&fw, crate::firmware::tests::tiny_ppc_elf()).unwrap();
        let env = HostEnv {
            now_unix: 1_700_000_000,
            local_offset_s: 3600,
            firmware_env_dir: Some(dir.path().to_path_buf()),
            system_firmware: vec![],
            xdg_data_home: Some("/xdg".into()),
            home: Some("/home/u".into()),
        };
        (env, dir)
    }

    fn run_cfg(argv: &[&str]) -> Result<Config, String> {
        let (env, _dir) = env_with_firmware();
        let mut full = vec!["beige"];
        full.extend_from_slice(argv);
        match parse(&os(&full), &env) {
            Ok(Action::Run(c)) => Ok(*c),
            Ok(Action::Print(t)) => Err(format!("print: {t}")),
            Err(e) => Err(e.to_string()),
        }
    }

    #[test]
    fn single_dash_long_options_become_double_dash() {
        let out = normalize_args(&os(&[
            "beige",
            "-nographic",
            "-machine",
            "g3beige",
            "-m",
            "256",
        ]));
        assert_eq!(
            strs(out.unwrap()),
            ["beige", "--nographic", "--machine", "g3beige", "-m", "256"]
        );
    }

    #[test]
    fn values_after_options_are_not_rewritten() {
        let out = normalize_args(&os(&["beige", "-append", "-quiet", "--kernel", "-k"])).unwrap();
        assert_eq!(strs(out), ["beige", "--append", "-quiet", "--kernel", "-k"]);
    }

    #[test]
    fn one_and_two_dashes_give_the_same_config() {
        let one = run_cfg(&[
            "-nographic",
            "-no-reboot",
            "-machine",
            "g3beige",
            "-rtc",
            "base=0",
        ]);
        let two = run_cfg(&[
            "--nographic",
            "--no-reboot",
            "--machine",
            "g3beige",
            "--rtc",
            "base=0",
        ]);
        let (one, mut two) = (one.unwrap(), two.unwrap());
        two.firmware = one.firmware.clone(); // each run makes its own temp dir
        assert_eq!(one, two);
    }

    #[test]
    fn unimplemented_qemu_option_is_refused_by_name() {
        let err = normalize_args(&os(&["beige", "-smp", "2"])).unwrap_err();
        assert_eq!(err.to_string(), "option -smp is not supported by beige yet");
        let err = run_cfg(&["--enable-kvm"]).unwrap_err();
        assert!(err.contains("-enable-kvm is not supported"), "{err}");
    }

    #[test]
    fn unknown_flag_is_a_clap_error() {
        let err = run_cfg(&["-frobnicate"]).unwrap_err();
        assert!(err.contains("--frobnicate"), "{err}");
    }

    #[test]
    fn memory_sizes_accept_qemu_forms() {
        assert_eq!(parse_mem_size("256"), Ok(256 << 20));
        assert_eq!(parse_mem_size("256M"), Ok(256 << 20));
        assert_eq!(parse_mem_size("1G"), Ok(1 << 30));
        assert_eq!(parse_mem_size("size=512m"), Ok(512 << 20));
        assert_eq!(parse_mem_size("2048k"), Ok(2 << 20));
    }

    #[test]
    fn memory_sizes_reject_nonsense() {
        for bad in ["", "abc", "12Q", "0", "1000K", "4G", "99999999999999999G"] {
            assert!(parse_mem_size(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn memory_above_the_machine_limit_is_refused_as_qemu_does() {
        let err = run_cfg(&["-m", "2G"]).unwrap_err();
        assert_eq!(
            err,
            "Too much memory for this machine: 2048 MB, maximum 2047 MB"
        );
        assert_eq!(run_cfg(&["-m", "2047"]).unwrap().ram_size, 2047 << 20);
    }

    #[test]
    fn default_memory_is_128_mib() {
        assert_eq!(run_cfg(&[]).unwrap().ram_size, 128 << 20);
    }

    #[test]
    fn machine_options_parse_and_unknown_ones_are_refused() {
        let m = parse_machine("g3beige,graphics=off,accel=tcg").unwrap();
        assert_eq!(m.name, "g3beige");
        assert_eq!(m.graphics, Some(false));
        assert_eq!(
            parse_machine("type=g3beige-1.0").unwrap().name,
            "g3beige-1.0"
        );
        let err = parse_machine("g3beige,foo=bar").unwrap_err().to_string();
        assert!(err.contains("unknown option 'foo'"), "{err}");
    }

    #[test]
    fn none_machine_needs_no_firmware() {
        let mut full = vec!["beige", "-M", "none", "-bios", "/nonexistent"];
        let env = HostEnv {
            now_unix: 0,
            local_offset_s: 0,
            firmware_env_dir: None,
            system_firmware: vec![],
            xdg_data_home: None,
            home: None,
        };
        let Ok(Action::Run(c)) = parse(&os(&full), &env) else {
            panic!("-M none refused")
        };
        assert_eq!(c.firmware, PathBuf::new());
        full[2] = "g3beige";
        assert!(parse(&os(&full), &env).is_err());
    }

    #[test]
    fn unknown_machine_type_is_refused() {
        let err = run_cfg(&["-M", "pmac99"]).unwrap_err();
        assert!(err.contains("unknown machine type 'pmac99'"), "{err}");
    }

    #[test]
    fn machine_help_lists_types() {
        let out = run_cfg(&["-M", "help"]).unwrap_err();
        assert!(out.starts_with("print: "), "{out}");
        assert!(
            out.contains("g3beige-1.0") && out.contains("g3beige-1.1"),
            "{out}"
        );
    }

    #[test]
    fn rtc_base_forms() {
        assert_eq!(parse_rtc("base=utc", 1000, 7200), Ok(1000));
        assert_eq!(parse_rtc("base=localtime", 1000, 7200), Ok(8200));
        assert_eq!(
            parse_rtc("base=2006-06-17T16:01:21", 0, 0),
            Ok(1_150_560_081)
        );
        assert_eq!(parse_rtc("base=2006-06-17", 0, 0), Ok(1_150_502_400));
        assert_eq!(parse_rtc("base=1150560081", 0, 0), Ok(1_150_560_081));
        assert!(parse_rtc("base=2006-13-01", 0, 0).is_err());
        assert!(parse_rtc("clock=host", 0, 0).is_err());
        assert!(parse_rtc("bogus", 0, 0).is_err());
    }

    #[test]
    fn civil_date_round_trips() {
        for days in [-1000, 0, 13316, 20000, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_utc(1_150_560_081), "2006-06-17 16:01:21");
    }

    #[test]
    fn nographic_puts_serial_and_monitor_on_the_stdio_mux() {
        let c = run_cfg(&["-nographic"]).unwrap();
        assert_eq!(c.serial, vec![ChardevSpec::MonStdio]);
        assert_eq!(c.monitor, ChardevSpec::MonStdio);
        assert_eq!(c.display, DisplayKind::None);
    }

    #[test]
    fn explicit_serial_and_monitor_are_kept() {
        let c = run_cfg(&["-serial", "null", "-serial", "pty", "-monitor", "none"]).unwrap();
        assert_eq!(c.serial, vec![ChardevSpec::Null, ChardevSpec::Pty]);
        assert_eq!(c.monitor, ChardevSpec::None);
    }

    #[test]
    fn three_serial_ports_are_refused() {
        let err = run_cfg(&["-serial", "null", "-serial", "null", "-serial", "null"]).unwrap_err();
        assert!(err.contains("two serial ports"), "{err}");
    }

    #[test]
    fn geometry_boot_global_icount_parse() {
        assert_eq!(parse_geometry("1024x768x8"), Ok((1024, 768, 8)));
        assert_eq!(parse_geometry("800x600"), Ok((800, 600, 32)));
        assert!(parse_geometry("800x600x12").is_err());
        assert!(parse_geometry("wide").is_err());
        assert_eq!(parse_boot("d"), Ok('d'));
        assert_eq!(parse_boot("order=cd"), Ok('c'));
        assert!(parse_boot("menu=on").is_err());
        let g = parse_global("cpu.migrate-irq-state=off").unwrap();
        assert_eq!(
            (g.driver.as_str(), g.prop.as_str(), g.value.as_str()),
            ("cpu", "migrate-irq-state", "off")
        );
        assert!(parse_global("nodot=1").is_err());
        assert_eq!(parse_icount("sleep=off"), Ok((None, false)));
        assert_eq!(parse_icount("shift=3,sleep=on"), Ok((Some(3), true)));
        assert_eq!(parse_icount("4"), Ok((Some(4), true)));
        assert!(parse_icount("shift=auto").is_err());
        assert!(parse_icount("align=on").is_err());
    }

    #[test]
    fn initrd_without_kernel_is_refused() {
        let err = run_cfg(&["-initrd", "/etc/hostname"]).unwrap_err();
        assert!(err.contains("-initrd needs -kernel"), "{err}");
    }

    #[test]
    fn missing_kernel_file_names_the_flag() {
        let err = run_cfg(&["-kernel", "/nonexistent/vmlinux"]).unwrap_err();
        assert!(err.starts_with("-kernel /nonexistent/vmlinux:"), "{err}");
    }

    #[test]
    fn snapshot_dir_defaults_follow_xdg() {
        let (mut env, _d) = env_with_firmware();
        assert_eq!(
            default_snapshot_dir(&env),
            Path::new("/xdg/beige/snapshots")
        );
        env.xdg_data_home = None;
        assert_eq!(
            default_snapshot_dir(&env),
            Path::new("/home/u/.local/share/beige/snapshots")
        );
    }

    #[test]
    fn log_help_and_bad_category() {
        let out = run_cfg(&["-d", "help"]).unwrap_err();
        assert!(out.contains("in_asm"), "{out}");
        let err = run_cfg(&["-d", "int,bogus"]).unwrap_err();
        assert!(err.contains("bogus"), "{err}");
        let c = run_cfg(&["-d", "int,unimp", "-D", "/tmp/x.log"]).unwrap();
        assert_eq!(c.log, vec![LogCategory::Int, LogCategory::Unimp]);
    }

    #[test]
    fn icount_sleep_off_disables_pacing() {
        assert!(run_cfg(&[]).unwrap().pacing);
        assert!(!run_cfg(&["-icount", "sleep=off"]).unwrap().pacing);
    }
}
