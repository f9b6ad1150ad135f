//! `-d` log categories and `-D` file, on top of tracing.
//!
//! Each category is a tracing target of the same name: a device logs an
//! unimplemented register with `tracing::debug!(target: "unimp", ...)`, the CPU
//! logs each translated block with `target: "in_asm"` and each exception with
//! `target: "int"`. `-d unimp,int` turns those targets on at every level. A
//! category not chosen stays silent at every level, as QEMU's log masks do (a
//! device may report at `warn`); everything else shows warnings only.
//! `RUST_LOG` adds its own directives on top.

use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::cli::CliError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogCategory {
    InAsm,
    Int,
    Unimp,
    GuestErrors,
    Mmu,
}

impl LogCategory {
    pub const ALL: [LogCategory; 5] = [
        LogCategory::InAsm,
        LogCategory::Int,
        LogCategory::Unimp,
        LogCategory::GuestErrors,
        LogCategory::Mmu,
    ];

    /// The `-d` name, which is also the tracing target.
    pub fn target(self) -> &'static str {
        match self {
            LogCategory::InAsm => "in_asm",
            LogCategory::Int => "int",
            LogCategory::Unimp => "unimp",
            LogCategory::GuestErrors => "guest_errors",
            LogCategory::Mmu => "mmu",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            LogCategory::InAsm => "show target assembly code for each compiled TB",
            LogCategory::Int => "show interrupts/exceptions in short format",
            LogCategory::Unimp => "log unimplemented functionality",
            LogCategory::GuestErrors => {
                "log when the guest OS does something invalid (eg accessing a non-existent register)"
            }
            LogCategory::Mmu => "log MMU-related activities",
        }
    }
}

pub fn help_text() -> String {
    let mut s = String::from("Log items (comma separated):\n");
    for c in LogCategory::ALL {
        s += &format!("{:<13} {}\n", c.target(), c.describe());
    }
    s
}

pub fn parse_items(text: &str) -> Result<Vec<LogCategory>, CliError> {
    let mut out = Vec::new();
    for item in text.split(',').filter(|s| !s.is_empty()) {
        let c = LogCategory::ALL
            .into_iter()
            .find(|c| c.target() == item)
            .ok_or_else(|| {
                CliError::Invalid(format!(
                    "-d: unknown log item '{item}' (beige -d help lists them)"
                ))
            })?;
        if !out.contains(&c) {
            out.push(c);
        }
    }
    Ok(out)
}

/// The filter directives for the chosen categories.
pub fn filter_directives(cats: &[LogCategory]) -> String {
    // Windowing libraries warn about harmless host quirks (Xvfb's 0 mm
    // screen); only their errors are worth a user's attention.
    let mut d = String::from("warn,winit=error,sctk_adwaita=error,smithay_client_toolkit=error");
    for c in LogCategory::ALL {
        let level = if cats.contains(&c) { "trace" } else { "off" };
        d += &format!(",{}={level}", c.target());
    }
    d
}

/// Install the global subscriber. Logging to a file that cannot be created is
/// an error the user sees before the machine starts.
pub fn init(cats: &[LogCategory], file: Option<&Path>) -> Result<(), String> {
    let mut filter = EnvFilter::new(filter_directives(cats));
    if let Ok(extra) = std::env::var("RUST_LOG") {
        for d in extra.split(',').filter(|s| !s.is_empty()) {
            if let Ok(d) = d.parse() {
                filter = filter.add_directive(d);
            }
        }
    }
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .without_time()
        .with_ansi(false);
    let res = match file {
        Some(p) => {
            let f = File::create(p).map_err(|e| format!("-D {}: {e}", p.display()))?;
            builder.with_writer(Mutex::new(f)).try_init()
        }
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    // A second init (tests) keeps the first subscriber; that is fine.
    let _ = res;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_parse_in_order_without_duplicates() {
        assert_eq!(
            parse_items("mmu,int,mmu").unwrap(),
            [LogCategory::Mmu, LogCategory::Int]
        );
    }

    #[test]
    fn unknown_item_names_itself() {
        let e = parse_items("int,exec").unwrap_err().to_string();
        assert!(e.contains("'exec'"), "{e}");
    }

    #[test]
    fn directives_enable_each_target() {
        assert_eq!(
            filter_directives(&[LogCategory::InAsm, LogCategory::GuestErrors]),
            "warn,winit=error,sctk_adwaita=error,smithay_client_toolkit=error,\
             in_asm=trace,int=off,unimp=off,guest_errors=trace,mmu=off"
        );
        assert!(filter_directives(&[]).parse::<EnvFilter>().is_ok());
    }

    #[test]
    fn help_lists_every_category() {
        let h = help_text();
        for c in LogCategory::ALL {
            assert!(h.contains(c.target()));
        }
    }

    #[test]
    fn log_file_receives_category_events() {
        let d = crate::testutil::TempDir::new("log");
        let p = d.path().join("log.txt");
        let f = File::create(&p).unwrap();
        let sub = tracing_subscriber::fmt()
            .with_env_filter(EnvFilter::new(filter_directives(&[LogCategory::Unimp])))
            .with_writer(Mutex::new(f))
            .with_ansi(false)
            .finish();
        tracing::subscriber::with_default(sub, || {
            tracing::debug!(target: "unimp", "reg 0x38 read");
            tracing::debug!(target: "mmu", "hidden");
            // Devices report some unimplemented features at warn: still off
            // unless chosen.
            tracing::warn!(target: "guest_errors", "also hidden");
            tracing::warn!(target: "beige", "a plain warning");
        });
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("reg 0x38 read"), "{text}");
        assert!(!text.contains("hidden"), "{text}");
        assert!(text.contains("a plain warning"), "{text}");
    }
}
