//! Finding the cross toolchain and qemu-ppc, and building guest programs
//! into a cache keyed by a hash of their sources and flags.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::{env, fs, io};

use thiserror::Error;

/// The guest sources, next to this crate's Cargo.toml.
pub const GUEST_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/guest");

/// Flags every guest program is built with: freestanding, static, no PIE,
/// only instructions the 750 has.
pub const CFLAGS: &[&str] = &[
    "-static",
    "-nostdlib",
    "-ffreestanding",
    "-O1",
    "-mcpu=750",
    "-fno-pie",
    "-no-pie",
    "-fno-stack-protector",
    "-fno-asynchronous-unwind-tables",
    "-Wl,--build-id=none",
    "-Wall",
    "-Wextra",
];

/// Extra flags for particular guest programs.
const PROGRAM_FLAGS: &[(&str, &[&str])] = &[
    // Self-modifying code needs writable text: one RWX segment.
    ("smc", &["-Wl,-N", "-Wl,--no-warn-rwx-segments"]),
];

const GCC: &str = "powerpc-linux-gnu-gcc";
const AS: &str = "powerpc-linux-gnu-as";
const OBJDUMP: &str = "powerpc-linux-gnu-objdump";
const QEMU: &str = "qemu-ppc";

#[derive(Debug, Error)]
pub enum ToolError {
    #[error(
        "{tool} not found in PATH: run scripts/setup (it installs gcc-powerpc-linux-gnu, \
         binutils-powerpc-linux-gnu and qemu-user), or set BEIGE_SKIP_DIFFERENTIAL=1 \
         to skip the differential tests outside CI"
    )]
    Missing { tool: &'static str },
    #[error("building {name} failed ({cmd}):\n{stderr}")]
    Build {
        name: String,
        cmd: String,
        stderr: String,
    },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ToolError + '_ {
    move |source| ToolError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The external programs the differential tests need.
#[derive(Debug, Clone)]
pub struct Toolchain {
    pub gcc: PathBuf,
    pub as_: PathBuf,
    pub objdump: PathBuf,
    pub qemu: PathBuf,
    /// Where built guest binaries are kept.
    pub cache_dir: PathBuf,
}

fn which(tool: &'static str) -> Result<PathBuf, ToolError> {
    let path = env::var_os("PATH").unwrap_or_default();
    env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
        .ok_or(ToolError::Missing { tool })
}

/// `$CARGO_TARGET_DIR/beige-guest`, or `target/beige-guest` in the workspace.
pub fn default_cache_dir() -> PathBuf {
    let target = env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("beige-guest")
}

/// FNV-1a, 64-bit: a stable content hash for the build cache.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    pub fn bytes(&mut self, data: &[u8]) -> &mut Self {
        for &b in data {
            self.0 ^= b as u64;
            self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        }
        // A separator, so ("ab","c") and ("a","bc") hash differently.
        self.0 ^= data.len() as u64;
        self.0 = self.0.wrapping_mul(0x100_0000_01b3);
        self
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Toolchain {
    /// Look the tools up in PATH.
    pub fn detect(cache_dir: PathBuf) -> Result<Toolchain, ToolError> {
        Ok(Toolchain {
            gcc: which(GCC)?,
            as_: which(AS)?,
            objdump: which(OBJDUMP)?,
            qemu: which(QEMU)?,
            cache_dir,
        })
    }

    /// The toolchain, or `None` when the tests should be skipped: tools
    /// missing and `BEIGE_SKIP_DIFFERENTIAL=1` outside CI. Any other missing
    /// tool is a hard failure with a message saying how to install it.
    pub fn for_tests() -> Option<Toolchain> {
        match Toolchain::detect(default_cache_dir()) {
            Ok(t) => Some(t),
            Err(e) => {
                let ci = env::var("CI").is_ok_and(|v| v == "true");
                let skip = env::var("BEIGE_SKIP_DIFFERENTIAL").is_ok_and(|v| v == "1");
                if skip && !ci {
                    eprintln!("skipping differential test: {e}");
                    None
                } else {
                    panic!("{e}");
                }
            }
        }
    }

    /// The runtime every guest program links with.
    pub fn runtime_sources() -> Vec<PathBuf> {
        let rt = Path::new(GUEST_DIR).join("cpu/rt");
        vec![rt.join("start.S"), rt.join("rt.c"), rt.join("rt.h")]
    }

    /// Build `sources` (C, `.S` or `.s`; headers are hashed only) plus the
    /// runtime into one static executable. Returns the cached binary when
    /// the sources and flags are unchanged.
    pub fn build(
        &self,
        name: &str,
        sources: &[PathBuf],
        extra: &[&str],
    ) -> Result<PathBuf, ToolError> {
        let mut all = Self::runtime_sources();
        all.extend(sources.iter().cloned());
        let mut h = Fnv::default();
        for f in CFLAGS.iter().chain(extra) {
            h.bytes(f.as_bytes());
        }
        for src in &all {
            h.bytes(src.file_name().map_or(&[][..], |n| n.as_encoded_bytes()));
            h.bytes(&fs::read(src).map_err(io_err(src))?);
        }
        let out = self.cache_dir.join(format!("{name}-{:016x}", h.finish()));
        if out.is_file() {
            return Ok(out);
        }
        fs::create_dir_all(&self.cache_dir).map_err(io_err(&self.cache_dir))?;
        // Build under a private name, then rename: parallel tests may race.
        let tmp = self.cache_dir.join(format!(
            ".{name}-{}-{:?}.tmp",
            std::process::id(),
            std::thread::current().id()
        ));
        let mut cmd = Command::new(&self.gcc);
        cmd.args(CFLAGS)
            .args(extra)
            .arg("-I")
            .arg(Path::new(GUEST_DIR).join("cpu/rt"))
            .arg("-o")
            .arg(&tmp)
            .args(
                all.iter()
                    .filter(|p| p.extension().is_none_or(|e| e != "h")),
            )
            .arg("-lgcc");
        run_tool(name, &mut cmd)?;
        fs::rename(&tmp, &out).map_err(io_err(&out))?;
        Ok(out)
    }

    /// Build the guest program `guest/cpu/<name>.c` (or `.S`).
    pub fn build_cpu_program(&self, name: &str) -> Result<PathBuf, ToolError> {
        let dir = Path::new(GUEST_DIR).join("cpu");
        let c = dir.join(format!("{name}.c"));
        let src = if c.is_file() {
            c
        } else {
            dir.join(format!("{name}.S"))
        };
        let extra = PROGRAM_FLAGS
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(&[][..], |(_, f)| f);
        self.build(name, &[src], extra)
    }

    /// Disassemble an object or executable (for failure reports).
    pub fn disassemble(&self, path: &Path) -> String {
        match Command::new(&self.objdump).arg("-d").arg(path).output() {
            Ok(o) => String::from_utf8_lossy(&o.stdout).into_owned(),
            Err(e) => format!("objdump failed: {e}"),
        }
    }
}

/// Run a build command, turning a failure into an error carrying its stderr.
pub fn run_tool(name: &str, cmd: &mut Command) -> Result<(), ToolError> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|source| ToolError::Io {
        path: PathBuf::from(cmd.get_program()),
        source,
    })?;
    if !out.status.success() {
        return Err(ToolError::Build {
            name: name.to_string(),
            cmd: shown,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_separates_field_boundaries() {
        let ab_c = Fnv::default().bytes(b"ab").bytes(b"c").finish();
        let a_bc = Fnv::default().bytes(b"a").bytes(b"bc").finish();

        assert_ne!(ab_c, a_bc);
    }

    #[test]
    fn fnv_is_stable_across_runs() {
        // The cache key must not change between builds of the test binary.
        assert_eq!(Fnv::default().bytes(b"").finish(), 0xaf63_bd4c_8601_b7df);
    }

    #[test]
    fn missing_tool_error_says_to_run_setup() {
        let msg = ToolError::Missing { tool: "qemu-ppc" }.to_string();

        assert!(msg.contains("scripts/setup"), "{msg}");
        assert!(msg.contains("BEIGE_SKIP_DIFFERENTIAL=1"), "{msg}");
    }
}
