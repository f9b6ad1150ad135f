//! Finding the firmware (OpenBIOS) and checking it is a PowerPC ELF.
//!
//! Order, as QEMU's data-dir search: `-bios FILE` as a path; otherwise the
//! name (`-bios NAME` or `openbios-ppc`) in each `-L` dir, then
//! `$BEIGE_FIRMWARE_DIR`, then the system locations (`/usr/share/qemu`).

use std::path::{Path, PathBuf};

pub const DEFAULT_NAME: &str = "openbios-ppc";
pub const SYSTEM_DIRS: &[&str] = &["/usr/share/qemu", "/usr/share/openbios"];

const EM_PPC: u16 = 20;

#[derive(Debug, Clone, Default)]
pub struct Search {
    pub bios: Option<PathBuf>,
    pub dirs: Vec<PathBuf>,
    pub env_dir: Option<PathBuf>,
    /// System directories searched last.
    pub system: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FirmwareError {
    #[error(
        "firmware '{name}' not found (searched: {searched}).\n\
         Install it with `apt-get install qemu-system-data` (it provides \
         /usr/share/qemu/openbios-ppc), or pass the file with `-bios FILE`, \
         a directory with `-L DIR`, or set BEIGE_FIRMWARE_DIR=DIR."
    )]
    NotFound { name: String, searched: String },
    #[error("firmware {path}: {why}")]
    Unreadable { path: String, why: String },
    #[error(
        "firmware {path} is not a big-endian 32-bit PowerPC ELF ({why}); \
         g3beige needs OpenBIOS for PowerPC (openbios-ppc)"
    )]
    NotPpcElf { path: String, why: String },
}

/// Find the firmware and check it; returns its path.
pub fn find(s: &Search) -> Result<PathBuf, FirmwareError> {
    let name = match &s.bios {
        Some(b) if b.components().count() > 1 || b.is_file() => {
            if !b.is_file() {
                return Err(FirmwareError::NotFound {
                    name: b.display().to_string(),
                    searched: b.display().to_string(),
                });
            }
            check_elf(b)?;
            return Ok(b.clone());
        }
        Some(b) => b.display().to_string(),
        None => DEFAULT_NAME.to_string(),
    };
    let dirs: Vec<&Path> = s
        .dirs
        .iter()
        .chain(s.env_dir.iter())
        .chain(s.system.iter())
        .map(PathBuf::as_path)
        .collect();
    for d in &dirs {
        let p = d.join(&name);
        if p.is_file() {
            check_elf(&p)?;
            return Ok(p);
        }
    }
    Err(FirmwareError::NotFound {
        name,
        searched: if dirs.is_empty() {
            "no directories".into()
        } else {
            dirs.iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        },
    })
}

/// The system directories as paths.
pub fn system_dirs() -> Vec<PathBuf> {
    SYSTEM_DIRS.iter().map(PathBuf::from).collect()
}

/// Check the ELF header: magic, ELFCLASS32, ELFDATA2MSB, EM_PPC.
pub fn check_elf(path: &Path) -> Result<(), FirmwareError> {
    let bytes = std::fs::read(path).map_err(|e| FirmwareError::Unreadable {
        path: path.display().to_string(),
        why: e.to_string(),
    })?;
    check_elf_bytes(&bytes).map_err(|why| FirmwareError::NotPpcElf {
        path: path.display().to_string(),
        why: why.into(),
    })
}

fn check_elf_bytes(b: &[u8]) -> Result<(), &'static str> {
    if b.len() < 52 || &b[..4] != b"\x7fELF" {
        return Err("no ELF header");
    }
    if b[4] != 1 {
        return Err("not 32-bit");
    }
    if b[5] != 2 {
        return Err("not big-endian");
    }
    if u16::from_be_bytes([b[18], b[19]]) != EM_PPC {
        return Err("machine is not PowerPC");
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::testutil::TempDir;

    /// The smallest header `check_elf` accepts: ELF32, big-endian, EM_PPC.
    pub(crate) fn tiny_ppc_elf() -> Vec<u8> {
        let mut b = vec![0u8; 52];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 1;
        b[5] = 2;
        b[6] = 1;
        b[18..20].copy_from_slice(&EM_PPC.to_be_bytes());
        b
    }

    fn dir_with(name: &str, contents: &[u8]) -> TempDir {
        let d = TempDir::new("fw");
        std::fs::write(d.path().join(name), contents).unwrap();
        d
    }

    #[test]
    fn bios_path_wins_over_directories() {
        let a = dir_with("mybios", &tiny_ppc_elf());
        let b = dir_with(DEFAULT_NAME, &tiny_ppc_elf());
        let s = Search {
            bios: Some(a.path().join("mybios")),
            dirs: vec![b.path().into()],
            ..Default::default()
        };
        assert_eq!(find(&s).unwrap(), a.path().join("mybios"));
    }

    #[test]
    fn search_order_is_l_dirs_then_env_then_system() {
        let l = dir_with(DEFAULT_NAME, &tiny_ppc_elf());
        let env = dir_with(DEFAULT_NAME, &tiny_ppc_elf());
        let sys = dir_with(DEFAULT_NAME, &tiny_ppc_elf());
        let empty = TempDir::new("fw-empty");
        let mut s = Search {
            bios: None,
            dirs: vec![empty.path().into(), l.path().into()],
            env_dir: Some(env.path().into()),
            system: vec![sys.path().into()],
        };
        assert_eq!(find(&s).unwrap(), l.path().join(DEFAULT_NAME));
        s.dirs.clear();
        assert_eq!(find(&s).unwrap(), env.path().join(DEFAULT_NAME));
        s.env_dir = None;
        assert_eq!(find(&s).unwrap(), sys.path().join(DEFAULT_NAME));
    }

    #[test]
    fn bios_bare_name_is_searched_in_dirs() {
        let l = dir_with("other-bios", &tiny_ppc_elf());
        let s = Search {
            bios: Some("other-bios".into()),
            dirs: vec![l.path().into()],
            ..Default::default()
        };
        assert_eq!(find(&s).unwrap(), l.path().join("other-bios"));
    }

    #[test]
    fn missing_firmware_says_how_to_get_it() {
        let empty = TempDir::new("fw-none");
        let s = Search {
            dirs: vec![empty.path().into()],
            ..Default::default()
        };
        let msg = find(&s).unwrap_err().to_string();
        assert!(msg.contains("apt-get install qemu-system-data"), "{msg}");
        assert!(
            msg.contains("-bios FILE") && msg.contains("-L DIR"),
            "{msg}"
        );
        assert!(msg.contains(&empty.path().display().to_string()), "{msg}");
    }

    #[test]
    fn missing_bios_path_is_not_found() {
        let s = Search {
            bios: Some("/nonexistent/openbios".into()),
            ..Default::default()
        };
        assert!(matches!(find(&s), Err(FirmwareError::NotFound { .. })));
    }

    #[test]
    fn non_ppc_elf_is_refused() {
        let mut x86 = tiny_ppc_elf();
        x86[5] = 1; // little-endian
        x86[18..20].copy_from_slice(&62u16.to_be_bytes());
        let d = dir_with(DEFAULT_NAME, &x86);
        let s = Search {
            dirs: vec![d.path().into()],
            ..Default::default()
        };
        let msg = find(&s).unwrap_err().to_string();
        assert!(msg.contains("not big-endian"), "{msg}");
        let d2 = dir_with(DEFAULT_NAME, b"#!/bin/sh\n");
        let s2 = Search {
            dirs: vec![d2.path().into()],
            ..Default::default()
        };
        assert!(matches!(find(&s2), Err(FirmwareError::NotPpcElf { .. })));
    }

    #[test]
    fn installed_openbios_passes_the_elf_check_when_present() {
        let p = Path::new("/usr/share/qemu/openbios-ppc");
        if p.is_file() {
            assert_eq!(check_elf(p), Ok(()));
        }
    }
}
