//! Snapshot files: one per tag in the snapshot directory.
//!
//! A file is a zstd skippable frame holding a small text header (tag, machine
//! type, RAM size, guest clock, date, payload size), then the payload exactly
//! as `Vm::save` wrote it. For g3beige that is the savevm crate's file: one
//! zstd frame (with content checksum) over QEMU's migration stream, so `zstd
//! -d` skips our header and `zstd -dc TAG.zst | analyze-migration.py` works.
//! The UI never compresses or parses the payload; the machine owns it.
//!
//! Saving writes `.TAG.zst.tmp.PID`, fsyncs it, renames it over `TAG.zst` and
//! fsyncs the directory: a kill at any moment leaves either the old snapshot or
//! the new one under the tag, never half of one. Loading streams the file into
//! `Vm::load`, which validates everything before it replaces the machine.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::vm::{Vm, VmError};

/// zstd skippable frame magic (0x184D2A50..=0x184D2A5F), little-endian on disk.
const SKIPPABLE_MAGIC: u32 = 0x184D_2A5B;
/// Fixed header payload size, so it can be rewritten in place once the stream
/// size is known.
const HEADER_LEN: usize = 512;
const HEADER_ID: &str = "beige-snapshot 1";
const EXT: &str = "zst";

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("invalid tag '{0}': use 1-64 letters, digits or . _ - + @ : (not starting with '.')")]
    BadTag(String),
    #[error("snapshot '{0}' does not exist (info snapshots lists them)")]
    NoSuchTag(String),
    #[error(
        "snapshot '{tag}' was saved by machine type {saved}; this VM is {running} \
         (start beige with -M {saved} to load it)"
    )]
    MachineMismatch {
        tag: String,
        saved: String,
        running: String,
    },
    #[error("snapshot '{tag}' is damaged: {why}")]
    Corrupt { tag: String, why: String },
    #[error("snapshot '{tag}': {err}")]
    Vm { tag: String, err: VmError },
    #[error("snapshot directory {dir}: {err}")]
    Io { dir: String, err: io::Error },
}

/// What `info snapshots` shows, read from a file's header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub tag: String,
    pub machine: String,
    pub ram_size: u64,
    pub vm_clock_ns: u64,
    pub date_unix: i64,
    /// Size of the machine's payload (as `Vm::save` wrote it).
    pub vm_size: u64,
    /// Size of the file on disk.
    pub file_size: u64,
}

pub fn check_tag(tag: &str) -> Result<(), SnapshotError> {
    let ok = !tag.is_empty()
        && tag.len() <= 64
        && !tag.starts_with('.')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-+@:".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(SnapshotError::BadTag(tag.to_string()))
    }
}

/// QEMU's tag for a bare `savevm`: `vm-YYYYMMDDHHMMSS` (here in UTC).
pub fn default_tag(now_unix: i64) -> String {
    let s = crate::cli::format_utc(now_unix);
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    format!("vm-{digits}")
}

/// Counts bytes on their way to a writer.
struct Counting<W> {
    inner: W,
    n: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Debug, Clone)]
pub struct SnapshotDir {
    dir: PathBuf,
}

impl SnapshotDir {
    pub fn new(dir: impl Into<PathBuf>) -> SnapshotDir {
        SnapshotDir { dir: dir.into() }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn file(&self, tag: &str) -> PathBuf {
        self.dir.join(format!("{tag}.{EXT}"))
    }

    fn io_err(&self, err: io::Error) -> SnapshotError {
        SnapshotError::Io {
            dir: self.dir.display().to_string(),
            err,
        }
    }

    /// Save the machine under `tag`, replacing any snapshot with that tag.
    pub fn save(
        &self,
        tag: &str,
        vm: &mut dyn Vm,
        now_unix: i64,
    ) -> Result<SnapshotInfo, SnapshotError> {
        check_tag(tag)?;
        fs::create_dir_all(&self.dir).map_err(|e| self.io_err(e))?;
        self.remove_stale_temps(tag);
        let tmp = self
            .dir
            .join(format!(".{tag}.{EXT}.tmp.{}", std::process::id()));
        let result = self.write_file(&tmp, tag, vm, now_unix);
        match result {
            Ok(mut info) => {
                fs::rename(&tmp, self.file(tag)).map_err(|e| {
                    let _ = fs::remove_file(&tmp);
                    self.io_err(e)
                })?;
                // Make the rename itself durable.
                if let Ok(d) = File::open(&self.dir) {
                    let _ = d.sync_all();
                }
                info.file_size = fs::metadata(self.file(tag)).map(|m| m.len()).unwrap_or(0);
                Ok(info)
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                Err(e)
            }
        }
    }

    fn write_file(
        &self,
        tmp: &Path,
        tag: &str,
        vm: &mut dyn Vm,
        now_unix: i64,
    ) -> Result<SnapshotInfo, SnapshotError> {
        let mut info = SnapshotInfo {
            tag: tag.to_string(),
            machine: vm.machine_type().to_string(),
            ram_size: vm.ram_size(),
            vm_clock_ns: vm.now_ns(),
            date_unix: now_unix,
            vm_size: 0,
            file_size: 0,
        };
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(tmp)
            .map_err(|e| self.io_err(e))?;
        let mut w = BufWriter::new(file);
        write_header(&mut w, &info).map_err(|e| self.io_err(e))?;
        let mut counting = Counting { inner: w, n: 0 };
        vm.save(&mut counting).map_err(|err| SnapshotError::Vm {
            tag: tag.to_string(),
            err,
        })?;
        info.vm_size = counting.n;
        let mut file = counting
            .inner
            .into_inner()
            .map_err(|e| self.io_err(e.into_error()))?;
        file.seek(SeekFrom::Start(0)).map_err(|e| self.io_err(e))?;
        write_header(&mut file, &info).map_err(|e| self.io_err(e))?;
        file.sync_all().map_err(|e| self.io_err(e))?;
        Ok(info)
    }

    /// Temp files left by a save that was killed.
    fn remove_stale_temps(&self, tag: &str) {
        let prefix = format!(".{tag}.{EXT}.tmp.");
        if let Ok(rd) = fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }

    /// Header of one snapshot.
    pub fn info(&self, tag: &str) -> Result<SnapshotInfo, SnapshotError> {
        check_tag(tag)?;
        let path = self.file(tag);
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(SnapshotError::NoSuchTag(tag.to_string()))
            }
            Err(e) => return Err(self.io_err(e)),
        };
        let mut info = read_header(&mut f).map_err(|why| SnapshotError::Corrupt {
            tag: tag.to_string(),
            why,
        })?;
        info.file_size = f.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(info)
    }

    /// Load `tag` into `vm`. On any error the VM is unchanged (the machine
    /// validates the whole stream before replacing its state).
    pub fn load(&self, tag: &str, vm: &mut dyn Vm) -> Result<SnapshotInfo, SnapshotError> {
        let info = self.info(tag)?;
        if info.machine != vm.machine_type() {
            return Err(SnapshotError::MachineMismatch {
                tag: tag.to_string(),
                saved: info.machine,
                running: vm.machine_type().to_string(),
            });
        }
        let mut f = File::open(self.file(tag)).map_err(|e| self.io_err(e))?;
        f.seek(SeekFrom::Start(8 + HEADER_LEN as u64))
            .map_err(|e| self.io_err(e))?;
        // A short or padded file is refused before the machine sees a byte;
        // the machine checks the payload itself (zstd checksum, sections) and
        // stays unchanged if it fails.
        let expect = 8 + HEADER_LEN as u64 + info.vm_size;
        if info.file_size != expect {
            return Err(SnapshotError::Corrupt {
                tag: tag.to_string(),
                why: format!(
                    "file is {} bytes, its header says {expect} (truncated or overwritten)",
                    info.file_size
                ),
            });
        }
        let mut r = BufReader::with_capacity(1 << 17, f);
        vm.load(&mut r).map_err(|err| SnapshotError::Vm {
            tag: tag.to_string(),
            err,
        })?;
        Ok(info)
    }

    pub fn delete(&self, tag: &str) -> Result<(), SnapshotError> {
        check_tag(tag)?;
        match fs::remove_file(self.file(tag)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                Err(SnapshotError::NoSuchTag(tag.to_string()))
            }
            Err(e) => Err(self.io_err(e)),
        }
    }

    /// Every readable snapshot, sorted by date then tag. Temp files and
    /// unreadable files are skipped.
    pub fn list(&self) -> Result<Vec<SnapshotInfo>, SnapshotError> {
        let rd = match fs::read_dir(&self.dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io_err(e)),
        };
        let mut out = Vec::new();
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(tag) = name.strip_suffix(&format!(".{EXT}")) else {
                continue;
            };
            if check_tag(tag).is_err() {
                continue;
            }
            if let Ok(info) = self.info(tag) {
                out.push(info);
            }
        }
        out.sort_by(|a, b| (a.date_unix, &a.tag).cmp(&(b.date_unix, &b.tag)));
        Ok(out)
    }
}

fn write_header(w: &mut dyn Write, info: &SnapshotInfo) -> io::Result<()> {
    let mut text = format!(
        "{HEADER_ID}\ntag={}\nmachine={}\nram_size={}\nvm_clock_ns={}\ndate_unix={}\nvm_size={}\n",
        info.tag, info.machine, info.ram_size, info.vm_clock_ns, info.date_unix, info.vm_size
    )
    .into_bytes();
    if text.len() > HEADER_LEN {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "snapshot header too long",
        ));
    }
    text.resize(HEADER_LEN, b'\n');
    w.write_all(&SKIPPABLE_MAGIC.to_le_bytes())?;
    w.write_all(&(HEADER_LEN as u32).to_le_bytes())?;
    w.write_all(&text)
}

fn read_header(r: &mut dyn Read) -> Result<SnapshotInfo, String> {
    let mut head = [0u8; 8 + HEADER_LEN];
    r.read_exact(&mut head)
        .map_err(|_| "file shorter than its header".to_string())?;
    let magic = u32::from_le_bytes([head[0], head[1], head[2], head[3]]);
    let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if magic != SKIPPABLE_MAGIC || len as usize != HEADER_LEN {
        return Err("not a beige snapshot (bad header)".into());
    }
    let text = std::str::from_utf8(&head[8..]).map_err(|_| "header is not text".to_string())?;
    let mut lines = text.lines();
    if lines.next() != Some(HEADER_ID) {
        return Err("unknown snapshot header version".into());
    }
    let mut info = SnapshotInfo {
        tag: String::new(),
        machine: String::new(),
        ram_size: 0,
        vm_clock_ns: 0,
        date_unix: 0,
        vm_size: 0,
        file_size: 0,
    };
    for line in lines.filter(|l| !l.is_empty()) {
        let (k, v) = line.split_once('=').ok_or("malformed header line")?;
        let num = || {
            v.parse::<u64>()
                .map_err(|_| format!("bad header value {k}={v}"))
        };
        match k {
            "tag" => info.tag = v.into(),
            "machine" => info.machine = v.into(),
            "ram_size" => info.ram_size = num()?,
            "vm_clock_ns" => info.vm_clock_ns = num()?,
            "date_unix" => {
                info.date_unix = v.parse().map_err(|_| format!("bad header value {k}={v}"))?
            }
            "vm_size" => info.vm_size = num()?,
            _ => {} // newer writers may add keys
        }
    }
    if info.machine.is_empty() {
        return Err("header has no machine type".into());
    }
    Ok(info)
}

/// `1.2 MiB` style sizes, as QEMU's `info snapshots`.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.3} {}", UNITS[u])
    }
}

/// `HH:MM:SS.mmm` of a guest clock.
pub fn clock_str(ns: u64) -> String {
    let ms = ns / 1_000_000;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

/// The table of `info snapshots`.
pub fn format_list(list: &[SnapshotInfo]) -> String {
    if list.is_empty() {
        return "There is no snapshot available.\n".into();
    }
    let mut s = format!(
        "{:<24} {:>12} {:>12} {:<19} {:>16}  {}\n",
        "TAG", "VM SIZE", "FILE SIZE", "DATE (UTC)", "VM CLOCK", "MACHINE"
    );
    for i in list {
        s += &format!(
            "{:<24} {:>12} {:>12} {:<19} {:>16}  {}\n",
            i.tag,
            human_size(i.vm_size),
            human_size(i.file_size),
            crate::cli::format_utc(i.date_unix),
            clock_str(i.vm_clock_ns),
            i.machine
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::TempDir;
    use crate::vm::fake::FakeVm;

    fn vm_at(counter: u64) -> FakeVm {
        let mut vm = FakeVm::new();
        vm.state.counter = counter;
        vm.state.now_ns = counter * 1000;
        vm
    }

    #[test]
    fn save_then_load_restores_state() {
        let d = TempDir::new("snap");
        let dir = SnapshotDir::new(d.path());
        let mut vm = vm_at(42);
        dir.save("t1", &mut vm, 1_700_000_000).unwrap();
        let mut other = vm_at(7);
        let info = dir.load("t1", &mut other).unwrap();
        assert_eq!(other.state, vm.state);
        assert_eq!(info.machine, "fake-1.0");
        assert_eq!(info.vm_clock_ns, 42_000);
    }

    #[test]
    fn file_is_a_skippable_header_then_the_vm_payload() {
        let d = TempDir::new("snap");
        let dir = SnapshotDir::new(d.path());
        let mut vm = vm_at(3);
        dir.save("z", &mut vm, 0).unwrap();
        let bytes = fs::read(d.path().join("z.zst")).unwrap();
        let mut expect = Vec::new();
        vm.save(&mut expect).unwrap();
        assert_eq!(&bytes[8 + HEADER_LEN..], &expect[..]);
    }

    #[test]
    fn zstd_tools_skip_the_header_of_a_zstd_payload() {
        // The real machine's payload is a zstd frame; `zstd -d` must see only it.
        let mut payload = Vec::new();
        let mut enc = zstd::stream::Encoder::new(&mut payload, 1).unwrap();
        enc.write_all(b"QEVM stream").unwrap();
        enc.finish().unwrap();
        let info = SnapshotInfo {
            tag: "t".into(),
            machine: "m".into(),
            ram_size: 0,
            vm_clock_ns: 0,
            date_unix: 0,
            vm_size: payload.len() as u64,
            file_size: 0,
        };
        let mut file = Vec::new();
        write_header(&mut file, &info).unwrap();
        file.extend_from_slice(&payload);
        assert_eq!(zstd::stream::decode_all(&file[..]).unwrap(), b"QEVM stream");
    }

    #[test]
    fn info_and_list_report_metadata() {
        let d = TempDir::new("snap");
        let dir = SnapshotDir::new(d.path());
        dir.save("b", &mut vm_at(2), 200).unwrap();
        dir.save("a", &mut vm_at(1), 100).unwrap();
        let list = dir.list().unwrap();
        let tags: Vec<_> = list.iter().map(|i| i.tag.as_str()).collect();
        assert_eq!(tags, ["a", "b"]);
        assert_eq!(list[0].vm_size, 29);
        assert_eq!(list[0].ram_size, 1 << 20);
        assert!(list[0].file_size > 8 + HEADER_LEN as u64);
        let table = format_list(&list);
        assert!(
            table.contains("fake-1.0") && table.contains("1970-01-01 00:01:40"),
            "{table}"
        );
    }

    #[test]
    fn failed_save_keeps_the_old_snapshot_and_leaves_no_temp() {
        struct FailingVm(FakeVm);
        impl Vm for FailingVm {
            fn run_slice(&mut self, b: u64) -> crate::vm::VmEvent {
                self.0.run_slice(b)
            }
            fn idle_until(&mut self, ns: u64) {
                self.0.idle_until(ns)
            }
            fn now_ns(&self) -> u64 {
                self.0.now_ns()
            }
            fn serial_output(&mut self, c: usize) -> Vec<u8> {
                self.0.serial_output(c)
            }
            fn serial_input(&mut self, c: usize, b: &[u8]) -> usize {
                self.0.serial_input(c, b)
            }
            fn save(&mut self, w: &mut dyn Write) -> Result<(), VmError> {
                w.write_all(&[0xAA; 100_000])?;
                Err(VmError::Msg("device refused".into()))
            }
            fn load(&mut self, r: &mut dyn Read) -> Result<(), VmError> {
                self.0.load(r)
            }
            fn info_registers(&self) -> String {
                String::new()
            }
            fn system_reset(&mut self) {}
            fn machine_type(&self) -> &str {
                self.0.machine_type()
            }
            fn ram_size(&self) -> u64 {
                self.0.ram_size()
            }
            fn dump_vmstate(&self, _: &mut dyn Write) -> Result<(), VmError> {
                Ok(())
            }
        }
        let d = TempDir::new("snap");
        let dir = SnapshotDir::new(d.path());
        dir.save("keep", &mut vm_at(5), 0).unwrap();
        let before = fs::read(d.path().join("keep.zst")).unwrap();
        let err = dir.save("keep", &mut FailingVm(vm_at(9)), 0).unwrap_err();
        assert!(err.to_string().contains("device refused"), "{err}");
        assert_eq!(fs::read(d.path().join("keep.zst")).unwrap(), before);
        let names: Vec<_> = fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["keep.zst"]);
    }

    #[test]
    fn leftover_temp_from_a_killed_save_is_invisible_and_cleaned() {
        let d = TempDir::new("snap");
        let dir = SnapshotDir::new(d.path());
        fs::write(d.path().join(".t.zst.tmp.999"), b"half written").unwrap();
        assert!(dir.list().unwrap().is_empty());
        assert!(matches!(dir.info("t"), Err(SnapshotError::NoSuchTag(_))));
        dir.save("t", &mut vm_at(1), 0).unwrap();
        assert!(!d.path().join(".t.zst.tmp.999").exists());
    }

    #[test]
    fn truncated_snapshot_is_refused_and_vm_unchanged() {
        let d = TempDir::new("snap");
        let dir = SnapshotDir::new(d.path());
        dir.save("t", &mut vm_at(77), 0).unwrap();
        let p = d.path().join("t.zst");
        let bytes = fs::read(&p).unwrap();
        fs::write(&p, &bytes[..bytes.len() - 6]).unwrap();
        let mut vm = vm_at(1);
        let before = vm.state.clone();
        let err = dir.load("t", &mut vm).unwrap_err();
        assert!(
            matches!(
                err,
                SnapshotError::Corrupt { .. } | SnapshotError::Vm { .. }
            ),
            "{err}"
        );
        assert_eq!(vm.state, before);
    }

    #[test]
    fn flipped_byte_is_refused_by_the_vm_and_it_stays_unchanged() {
        let d = TempDir::new("snap");
        let dir = SnapshotDir::new(d.path());
        dir.save("t", &mut vm_at(77), 0).unwrap();
        let p = d.path().join("t.zst");
        let mut bytes = fs::read(&p).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xFF; // the fake's checksum byte
        fs::write(&p, &bytes).unwrap();
        let mut vm = vm_at(1);
        let before = vm.state.clone();
        assert!(dir.load("t", &mut vm).is_err());
        assert_eq!(vm.state, before);
    }

    #[test]
    fn other_machine_type_is_refused_naming_both() {
        let d = TempDir::new("snap");
        let dir = SnapshotDir::new(d.path());
        let mut old = vm_at(1);
        old.machine = "g3beige-1.0".into();
        dir.save("old", &mut old, 0).unwrap();
        let mut new = vm_at(2);
        new.machine = "g3beige-1.1".into();
        let err = dir.load("old", &mut new).unwrap_err().to_string();
        assert!(
            err.contains("g3beige-1.0") && err.contains("g3beige-1.1"),
            "{err}"
        );
        assert_eq!(new.state.counter, 2);
    }

    #[test]
    fn delete_removes_and_reports_missing() {
        let d = TempDir::new("snap");
        let dir = SnapshotDir::new(d.path());
        dir.save("x", &mut vm_at(1), 0).unwrap();
        dir.delete("x").unwrap();
        assert!(matches!(dir.delete("x"), Err(SnapshotError::NoSuchTag(_))));
    }

    #[test]
    fn tags_that_could_escape_the_directory_are_refused() {
        for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
            assert!(check_tag(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_tag("vm-20240101120000").is_ok());
    }

    #[test]
    fn default_tag_is_qemu_style_timestamp() {
        assert_eq!(default_tag(1_150_560_081), "vm-20060617160121");
    }

    #[test]
    fn sizes_and_clocks_format() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(3 << 20), "3.000 MiB");
        assert_eq!(clock_str(3_723_004_000_000), "01:02:03.004");
    }
}
