//! The machine-level stream: QEMU's migration format version 3 (see FORMAT.md).
//!
//! ```text
//! QEVM 00000003
//! 07 configuration (be32 len, machine type)          no footer, as in QEMU
//! 04 FULL  "beige-config" (RAM size, device list)     7e footer
//! 01 START "ram" v4: MEM_SIZE block list, EOS         7e footer
//! 03 END   "ram":    PAGE / ZERO records, EOS         7e footer
//! 04 FULL  each device section, in list order         7e footer
//! 00 EOF
//! 06 be32 len, VMDESCRIPTION JSON
//! ```

use std::io::{self, Read, Write};
use std::sync::LazyLock;

use crate::error::{LoadError, SaveError};
use crate::json::J;
use crate::vmsd::{Describe, SubHeader, VmState, Vmsd, DROPPABLE};
use crate::wire::{put_short_str, Reader};

pub const MAGIC: u32 = 0x5145_564d; // "QEVM"
pub const FILE_VERSION: u32 = 3;

pub const SECTION_EOF: u8 = 0x00;
pub const SECTION_START: u8 = 0x01;
pub const SECTION_PART: u8 = 0x02;
pub const SECTION_END: u8 = 0x03;
pub const SECTION_FULL: u8 = 0x04;
pub const SECTION_VMDESCRIPTION: u8 = 0x06;
pub const SECTION_CONFIGURATION: u8 = 0x07;
pub const SECTION_FOOTER: u8 = 0x7e;

/// QEMU's target page size for ppc (TARGET_PAGE_BITS = 12).
pub const PAGE_SIZE: usize = 4096;
/// The version of QEMU's "ram" section that analyze-migration.py accepts.
pub const RAM_VERSION: u32 = 4;

// RAM record flags, in the low bits of the be64 page address (migration/ram.c).
pub const RAM_FLAG_ZERO: u64 = 0x02;
pub const RAM_FLAG_MEM_SIZE: u64 = 0x04;
pub const RAM_FLAG_PAGE: u64 = 0x08;
pub const RAM_FLAG_EOS: u64 = 0x10;
pub const RAM_FLAG_CONTINUE: u64 = 0x20;

/// The idstr of beige's own configuration section.
pub const BEIGE_CONFIG: &str = "beige-config";
/// The longest machine type name the configuration section accepts (QEMU's is a
/// short identifier; this bounds the allocation).
const MAX_MACHINE_NAME: usize = 256;
/// The longest VMDESCRIPTION trailer a loader skips (it is not needed to load).
const MAX_VMDESC: u64 = 64 << 20;
const MAX_DEVICE_LIST: usize = 64 << 10;

/// A saved-state section: anything with a description. Implemented for every
/// `T: VmState`; the board lists its devices as `&mut dyn Section`.
pub trait Section {
    fn vmsd_name(&self) -> &'static str;
    fn section_version(&self) -> u32;
    fn section_minimum_version(&self) -> u32;
    /// The description, for the schema dump.
    fn describe(&self) -> &'static dyn Describe;
    /// Appends the section body and, if asked, its VMDESCRIPTION entry's keys.
    fn save_section(&mut self, out: &mut Vec<u8>, desc: Option<&mut J>);
    /// Loads the section body written at `version`.
    fn load_section(&mut self, r: &mut Reader<'_>, version: u32) -> Result<(), LoadError>;
}

impl<T: VmState> Section for T {
    fn vmsd_name(&self) -> &'static str {
        T::vmsd().name()
    }

    fn section_version(&self) -> u32 {
        T::vmsd().version()
    }

    fn section_minimum_version(&self) -> u32 {
        T::vmsd().minimum_version()
    }

    fn describe(&self) -> &'static dyn Describe {
        T::vmsd()
    }

    fn save_section(&mut self, out: &mut Vec<u8>, desc: Option<&mut J>) {
        T::vmsd().save_state(self, out, desc);
    }

    fn load_section(&mut self, r: &mut Reader<'_>, version: u32) -> Result<(), LoadError> {
        match T::vmsd().load_state(self, r, version)? {
            None => Ok(()),
            Some(SubHeader { name, offset, .. }) => Err(LoadError::UnknownSubsection {
                section: r.section().to_owned(),
                name,
                offset,
            }),
        }
    }
}

/// One entry of the machine's section list.
pub struct SectionRef<'a> {
    /// QEMU's idstr: the section's identity in the stream. Wire format.
    pub idstr: &'static str,
    pub instance_id: u32,
    pub state: &'a mut dyn Section,
    /// Optional data (FORMAT.md, "Droppable data"): written with its length so an
    /// older loader skips it; a snapshot without it still loads.
    pub droppable: bool,
}

impl std::fmt::Debug for SectionRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SectionRef({} {} {})",
            self.idstr,
            self.instance_id,
            self.state.vmsd_name()
        )
    }
}

impl<'a> SectionRef<'a> {
    pub fn new(idstr: &'static str, instance_id: u32, state: &'a mut dyn Section) -> Self {
        SectionRef {
            idstr,
            instance_id,
            state,
            droppable: false,
        }
    }

    /// Marks the section droppable.
    pub fn droppable(mut self) -> Self {
        self.droppable = true;
        self
    }
}

/// A guest RAM block, as QEMU's RAMBlock: a name (wire format) and its bytes. The
/// length must be a multiple of the 4 KiB page size.
#[derive(Debug)]
pub struct RamBlock<'a> {
    pub name: &'static str,
    pub data: &'a [u8],
}

/// A guest RAM block to load into.
#[derive(Debug)]
pub struct RamBlockMut<'a> {
    pub name: &'static str,
    pub data: &'a mut [u8],
    /// The block is known to be all zeros (freshly allocated): ZERO records then cost
    /// nothing, not even a read that would fault the page in. About 55k of the 65k
    /// pages of a typical 256 MiB guest are zero.
    pub known_zero: bool,
}

impl<'a> RamBlockMut<'a> {
    /// A block with arbitrary contents: every page is written.
    pub fn new(name: &'static str, data: &'a mut [u8]) -> Self {
        RamBlockMut {
            name,
            data,
            known_zero: false,
        }
    }

    /// A freshly allocated, all-zero block (the fast path for loadvm into a new machine).
    pub fn fresh(name: &'static str, data: &'a mut [u8]) -> Self {
        RamBlockMut {
            name,
            data,
            known_zero: true,
        }
    }
}

/// QEMU's RAM block name for g3beige's main memory (mc->default_ram_id).
pub const G3BEIGE_RAM: &str = "ppc_heathrow.ram";

/// What a successful load noticed but did not fail on.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Skipped droppable data, one message each.
    pub warnings: Vec<String>,
}

/// QEMU's configuration section: the machine type, as `be32 len` + bytes.
#[derive(Debug, Default)]
struct Configuration {
    len: u32,
    name: Vec<u8>,
}

impl VmState for Configuration {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<Configuration>> = LazyLock::new(|| {
            Vmsd::<Configuration>::builder("configuration")
                .field("len", |s| &s.len, |s| &mut s.len)
                .vbuffer(
                    "name",
                    |s| s.len as usize,
                    MAX_MACHINE_NAME,
                    |s| &s.name,
                    |s| &mut s.name,
                )
                .build()
        });
        &V
    }
}

/// beige's own configuration: what the board must match before anything is loaded.
#[derive(Debug, Default)]
struct BeigeConfig {
    ram_size: u64,
    devices_len: u32,
    /// "idstr:instance" separated by spaces, for readers of the stream.
    devices: Vec<u8>,
}

impl VmState for BeigeConfig {
    fn vmsd() -> &'static Vmsd<Self> {
        static V: LazyLock<Vmsd<BeigeConfig>> = LazyLock::new(|| {
            Vmsd::<BeigeConfig>::builder(BEIGE_CONFIG)
                .field("ram_size", |s| &s.ram_size, |s| &mut s.ram_size)
                .field("devices_len", |s| &s.devices_len, |s| &mut s.devices_len)
                .vbuffer(
                    "devices",
                    |s| s.devices_len as usize,
                    MAX_DEVICE_LIST,
                    |s| &s.devices,
                    |s| &mut s.devices,
                )
                .build()
        });
        &V
    }
}

fn put_section_header(
    out: &mut Vec<u8>,
    kind: u8,
    id: u32,
    idstr: &str,
    instance: u32,
    version: u32,
) {
    out.push(kind);
    out.extend_from_slice(&id.to_be_bytes());
    if kind == SECTION_FULL || kind == SECTION_START {
        put_short_str(out, idstr);
        out.extend_from_slice(&instance.to_be_bytes());
        out.extend_from_slice(&version.to_be_bytes());
    }
}

fn put_footer(out: &mut Vec<u8>, id: u32) {
    out.push(SECTION_FOOTER);
    out.extend_from_slice(&id.to_be_bytes());
}

fn device_entry(idstr: &str, instance_id: u32) -> J {
    let mut d = J::obj();
    d.set("name", idstr.into());
    d.set("instance_id", instance_id.into());
    d
}

fn is_zero_page(page: &[u8]) -> bool {
    // OR-reduce in u64 lanes; the compiler vectorises this.
    let mut acc = 0u64;
    for c in page.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        acc |= u64::from_ne_bytes(w);
    }
    acc == 0
}

/// Writes RAM pages of every block: a PAGE record for each non-zero page and a 9-byte
/// ZERO record for each zero page, as QEMU does. Pages go straight from guest memory
/// to `w`: no copy of RAM is made.
fn write_ram_pages(w: &mut dyn Write, ram: &[RamBlock<'_>]) -> io::Result<()> {
    for block in ram {
        let mut first = true;
        for (i, page) in block.data.chunks_exact(PAGE_SIZE).enumerate() {
            let addr = (i * PAGE_SIZE) as u64;
            let zero = is_zero_page(page);
            let mut flags = if zero { RAM_FLAG_ZERO } else { RAM_FLAG_PAGE };
            if !first {
                flags |= RAM_FLAG_CONTINUE;
            }
            let mut hdr = [0u8; 8 + 1 + 255];
            hdr[..8].copy_from_slice(&(addr | flags).to_be_bytes());
            let mut n = 8;
            if first {
                let name = block.name.as_bytes();
                hdr[8] = name.len() as u8;
                hdr[9..9 + name.len()].copy_from_slice(name);
                n += 1 + name.len();
                first = false;
            }
            if zero {
                hdr[n] = 0; // fill byte
                w.write_all(&hdr[..n + 1])?;
            } else {
                w.write_all(&hdr[..n])?;
                w.write_all(page)?;
            }
        }
    }
    w.write_all(&RAM_FLAG_EOS.to_be_bytes())
}

/// Saves the whole machine to `w` as one QEMU version-3 stream. `sections` are
/// written in order; RAM pages stream from `ram` directly. `w` should be buffered
/// (the file layer's zstd encoder is).
///
/// # Panics
/// If a RAM block's length is not a multiple of 4 KiB or its name is longer than 255
/// bytes (board programming errors).
pub fn save_stream(
    w: &mut dyn Write,
    machine_type: &str,
    ram: &[RamBlock<'_>],
    sections: &mut [SectionRef<'_>],
) -> Result<(), SaveError> {
    for (i, a) in sections.iter().enumerate() {
        if sections[..i]
            .iter()
            .any(|b| b.idstr == a.idstr && b.instance_id == a.instance_id)
            || a.idstr == BEIGE_CONFIG
            || a.idstr == "ram"
        {
            return Err(SaveError::DuplicateSection {
                idstr: a.idstr.to_owned(),
                instance_id: a.instance_id,
            });
        }
    }
    for b in ram {
        assert!(
            b.data.len() % PAGE_SIZE == 0 && !b.name.is_empty() && b.name.len() <= 255,
            "savevm: RAM block '{}' must be whole 4 KiB pages with a 1..=255 byte name",
            b.name
        );
    }

    let mut out = Vec::with_capacity(4096);
    out.extend_from_slice(&MAGIC.to_be_bytes());
    out.extend_from_slice(&FILE_VERSION.to_be_bytes());

    // Configuration: the machine type. QEMU sends it without a footer.
    let mut vmdesc = J::obj();
    out.push(SECTION_CONFIGURATION);
    let name = machine_type.as_bytes();
    let mut config = Configuration {
        len: name.len().min(MAX_MACHINE_NAME) as u32,
        name: name.to_vec(),
    };
    let mut config_desc = J::obj();
    config.save_section(&mut out, Some(&mut config_desc));
    vmdesc.set("configuration", config_desc);
    vmdesc.set("page_size", PAGE_SIZE.into());
    let mut devices = Vec::with_capacity(sections.len() + 1);

    // beige-config, section 0.
    let list: Vec<String> = sections
        .iter()
        .map(|s| format!("{}:{}", s.idstr, s.instance_id))
        .collect();
    let list = list.join(" ").into_bytes();
    let mut bc = BeigeConfig {
        ram_size: ram.iter().map(|b| b.data.len() as u64).sum(),
        devices_len: list.len().min(MAX_DEVICE_LIST) as u32,
        devices: list,
    };
    put_section_header(&mut out, SECTION_FULL, 0, BEIGE_CONFIG, 0, 1);
    let mut d = device_entry(BEIGE_CONFIG, 0);
    bc.save_section(&mut out, Some(&mut d));
    devices.push(d);
    put_footer(&mut out, 0);

    // RAM, section 1: block list in START, pages in END (as QEMU's precopy completes).
    let ram_id = 1u32;
    put_section_header(&mut out, SECTION_START, ram_id, "ram", 0, RAM_VERSION);
    let total = ram.iter().map(|b| b.data.len() as u64).sum::<u64>();
    out.extend_from_slice(&(total | RAM_FLAG_MEM_SIZE).to_be_bytes());
    for b in ram {
        put_short_str(&mut out, b.name);
        out.extend_from_slice(&(b.data.len() as u64).to_be_bytes());
    }
    out.extend_from_slice(&RAM_FLAG_EOS.to_be_bytes());
    put_footer(&mut out, ram_id);
    put_section_header(&mut out, SECTION_END, ram_id, "", 0, 0);
    w.write_all(&out)?;
    out.clear();
    write_ram_pages(w, ram)?;
    put_footer(&mut out, ram_id);

    // Devices, sections 2...
    for (i, s) in sections.iter_mut().enumerate() {
        let id = 2 + i as u32;
        let mut version = s.state.section_version();
        if s.droppable {
            version |= DROPPABLE;
        }
        put_section_header(&mut out, SECTION_FULL, id, s.idstr, s.instance_id, version);
        let mut d = device_entry(s.idstr, s.instance_id);
        if s.droppable {
            let len_at = out.len();
            out.extend_from_slice(&[0; 4]);
            s.state.save_section(&mut out, Some(&mut d));
            let len = (out.len() - len_at - 4) as u32;
            out[len_at..len_at + 4].copy_from_slice(&len.to_be_bytes());
            prepend_len_field(&mut d);
        } else {
            s.state.save_section(&mut out, Some(&mut d));
        }
        devices.push(d);
        put_footer(&mut out, id);
        if out.len() >= 1 << 16 {
            w.write_all(&out)?;
            out.clear();
        }
    }
    out.push(SECTION_EOF);
    vmdesc.set("devices", J::Arr(devices));
    let json = vmdesc.to_json();
    out.push(SECTION_VMDESCRIPTION);
    out.extend_from_slice(&(json.len() as u32).to_be_bytes());
    out.extend_from_slice(json.as_bytes());
    w.write_all(&out)?;
    Ok(())
}

fn prepend_len_field(d: &mut J) {
    if let J::Obj(kv) = d {
        if let Some((_, J::Arr(fields))) = kv.iter_mut().find(|(k, _)| *k == "fields") {
            let mut f = J::obj();
            f.set("name", "droppable_len".into());
            f.set("type", "uint32".into());
            f.set("size", 4u32.into());
            fields.insert(0, f);
        }
    }
}

/// What the loader has seen so far.
struct LoadState {
    seen: Vec<bool>,
    seen_config: bool,
    ram_id: Option<u32>,
    written: Vec<Vec<u64>>,
}

struct Header {
    kind: u8,
    id: u32,
    idstr: String,
    instance_id: u32,
    version: u32,
    offset: u64,
}

fn read_header(r: &mut Reader<'_>, kind: u8, offset: u64) -> Result<Header, LoadError> {
    let id = r.be32()?;
    let (idstr, instance_id, version) = if kind == SECTION_FULL || kind == SECTION_START {
        (r.short_str()?, r.be32()?, r.be32()?)
    } else {
        (String::new(), 0, 0)
    };
    Ok(Header {
        kind,
        id,
        idstr,
        instance_id,
        version,
        offset,
    })
}

fn expect_footer(r: &mut Reader<'_>, id: u32) -> Result<(), LoadError> {
    let offset = r.offset();
    let marker = r.u8()?;
    if marker != SECTION_FOOTER {
        return Err(LoadError::Malformed {
            context: r.context(),
            offset,
            expected: format!("section footer 0x7e for section {id} (the section must end here)"),
            found: format!(
                "byte {marker:#04x}: the section holds more data than this build describes"
            ),
        });
    }
    let found = r.be32()?;
    if found != id {
        return Err(r.malformed(
            format!("footer of section {id}"),
            format!("footer of section {found}"),
        ));
    }
    Ok(())
}

fn bit(map: &[u64], i: usize) -> bool {
    map.get(i / 64).is_some_and(|w| w >> (i % 64) & 1 != 0)
}

fn set_bit(map: &mut [u64], i: usize) {
    if let Some(w) = map.get_mut(i / 64) {
        *w |= 1 << (i % 64);
    }
}

/// Loads RAM records until EOS.
fn load_ram(
    r: &mut Reader<'_>,
    ram: &mut [RamBlockMut<'_>],
    written: &mut [Vec<u64>],
) -> Result<(), LoadError> {
    let mut current: Option<usize> = None;
    loop {
        let rec_at = r.offset();
        let word = r.be64()?;
        let flags = word & (PAGE_SIZE as u64 - 1);
        let addr = word & !(PAGE_SIZE as u64 - 1);
        let kind = flags & !RAM_FLAG_CONTINUE;
        match kind {
            RAM_FLAG_EOS => return Ok(()),
            RAM_FLAG_MEM_SIZE => {
                let ours: u64 = ram.iter().map(|b| b.data.len() as u64).sum();
                if addr != ours {
                    return Err(LoadError::RamSizeMismatch {
                        name: "total".into(),
                        found: addr,
                        expected: ours,
                    });
                }
                let mut left = addr;
                while left > 0 {
                    let name = r.short_str()?;
                    let len = r.be64()?;
                    let Some(b) = ram.iter().find(|b| b.name == name) else {
                        return Err(LoadError::UnknownSection {
                            idstr: format!("ram block {name}"),
                            instance_id: 0,
                            offset: rec_at,
                        });
                    };
                    if len != b.data.len() as u64 {
                        return Err(LoadError::RamSizeMismatch {
                            name,
                            found: len,
                            expected: b.data.len() as u64,
                        });
                    }
                    if len == 0 || len > left {
                        return Err(r.out_of_range(
                            len,
                            format!("RAM block length within the total {left}"),
                        ));
                    }
                    left -= len;
                }
            }
            RAM_FLAG_ZERO | RAM_FLAG_PAGE => {
                if flags & RAM_FLAG_CONTINUE == 0 {
                    let name = r.short_str()?;
                    let Some(i) = ram.iter().position(|b| b.name == name) else {
                        return Err(LoadError::UnknownSection {
                            idstr: format!("ram block {name}"),
                            instance_id: 0,
                            offset: rec_at,
                        });
                    };
                    current = Some(i);
                }
                let Some(i) = current else {
                    return Err(r.malformed(
                        "a RAM block name before the first CONTINUE page",
                        "CONTINUE",
                    ));
                };
                let known_zero = ram[i].known_zero;
                let data = &mut *ram[i].data;
                let start = usize::try_from(addr).unwrap_or(usize::MAX);
                let Some(page) = data.get_mut(start..start.saturating_add(PAGE_SIZE)) else {
                    return Err(LoadError::OutOfRange {
                        context: format!("ram block '{}'", ram[i].name),
                        offset: rec_at,
                        value: addr,
                        rule: "a whole page inside the block".into(),
                    });
                };
                if kind == RAM_FLAG_ZERO {
                    let fill = r.u8()?;
                    // Fresh RAM is already zero: reading it maps the kernel's zero page,
                    // writing it would allocate and clear a page (QEMU does the same).
                    // A page a PAGE record already wrote is not zero any more.
                    let stale = known_zero && bit(&written[i], start / PAGE_SIZE);
                    if fill != 0 || stale || (!known_zero && !is_zero_page(page)) {
                        page.fill(fill);
                    }
                } else {
                    r.read_exact(page)?;
                }
                if known_zero {
                    set_bit(&mut written[i], start / PAGE_SIZE);
                }
            }
            _ => {
                return Err(LoadError::Malformed {
                    context: "ram".into(),
                    offset: rec_at,
                    expected: "a RAM record (MEM_SIZE, ZERO, PAGE or EOS)".into(),
                    found: format!("flags {flags:#x}"),
                })
            }
        }
    }
}

/// Loads a whole machine from `r` into freshly constructed devices and RAM. On error
/// the targets hold partial state: discard them and build a fresh machine. Every
/// section in `sections` that is not droppable must be in the stream, and every
/// section in the stream must be in `sections` (or be droppable, then it is skipped).
/// Reads to the end of the stream, so a compressed file's checksum is verified.
pub fn load_stream(
    src: &mut dyn Read,
    machine_type: &str,
    ram: &mut [RamBlockMut<'_>],
    sections: &mut [SectionRef<'_>],
) -> Result<LoadReport, LoadError> {
    let mut r = Reader::new(src);
    let magic = r.be32()?;
    let version = r.be32()?;
    if magic != MAGIC || version != FILE_VERSION {
        return Err(LoadError::BadMagic { magic, version });
    }
    r.set_section("configuration");
    let at = r.offset();
    let kind = r.u8()?;
    if kind != SECTION_CONFIGURATION {
        return Err(LoadError::Malformed {
            context: "stream".into(),
            offset: at,
            expected: "the configuration section (0x07) after the header".into(),
            found: format!("byte {kind:#04x}"),
        });
    }
    let mut config = Configuration::default();
    config.load_section(&mut r, 1)?;
    if config.name != machine_type.as_bytes() {
        return Err(LoadError::MachineMismatch {
            expected: machine_type.to_owned(),
            found: String::from_utf8_lossy(&config.name).into_owned(),
        });
    }

    let mut st = LoadState {
        seen: vec![false; sections.len()],
        seen_config: false,
        ram_id: None,
        // Pages written so far, for known-zero blocks (one bit per page of our RAM).
        written: ram
            .iter()
            .map(|b| {
                if b.known_zero {
                    vec![0; (b.data.len() / PAGE_SIZE).div_ceil(64)]
                } else {
                    Vec::new()
                }
            })
            .collect(),
    };
    let mut ram_done = false;
    let mut used_ids: Vec<u32> = Vec::new();
    loop {
        let at = r.offset();
        r.set_section("");
        let kind = r.u8()?;
        match kind {
            SECTION_EOF => break,
            SECTION_FULL | SECTION_START => {
                let h = read_header(&mut r, kind, at)?;
                if used_ids.contains(&h.id) {
                    return Err(LoadError::DuplicateSection {
                        section: format!("{} (section id {})", h.idstr, h.id),
                        offset: at,
                    });
                }
                used_ids.push(h.id);
                r.set_section(&h.idstr);
                load_section(&mut r, &h, ram, sections, &mut st)?;
                expect_footer(&mut r, h.id)?;
            }
            SECTION_PART | SECTION_END => {
                let h = read_header(&mut r, kind, at)?;
                if st.ram_id != Some(h.id) || ram_done {
                    return Err(LoadError::Malformed {
                        context: "stream".into(),
                        offset: at,
                        expected: "PART/END only for the started RAM section".into(),
                        found: format!("section id {}", h.id),
                    });
                }
                r.set_section("ram");
                load_ram(&mut r, ram, &mut st.written)?;
                if kind == SECTION_END {
                    ram_done = true;
                }
                expect_footer(&mut r, h.id)?;
            }
            other => {
                return Err(LoadError::Malformed {
                    context: "stream".into(),
                    offset: at,
                    expected: "a section (0x01-0x04) or EOF (0x00)".into(),
                    found: format!("byte {other:#04x}"),
                })
            }
        }
    }
    if !st.seen_config {
        return Err(LoadError::MissingSection {
            idstr: BEIGE_CONFIG.into(),
            instance_id: 0,
        });
    }
    if !ram.is_empty() && !ram_done {
        return Err(LoadError::MissingSection {
            idstr: "ram".into(),
            instance_id: 0,
        });
    }
    for (s, seen) in sections.iter().zip(&st.seen) {
        if !seen && !s.droppable {
            return Err(LoadError::MissingSection {
                idstr: s.idstr.to_owned(),
                instance_id: s.instance_id,
            });
        }
    }
    // The trailer: VMDESCRIPTION, then the end of the stream.
    r.set_section("");
    // It is always written, so its absence means the stream was cut.
    match r.peek()? {
        None => {
            return Err(LoadError::Truncated {
                offset: r.offset(),
                context: "the VMDESCRIPTION trailer after EOF".into(),
            })
        }
        Some(SECTION_VMDESCRIPTION) => {
            r.u8()?;
            let len = u64::from(r.be32()?);
            if len > MAX_VMDESC {
                return Err(
                    r.out_of_range(len, format!("VMDESCRIPTION at most {MAX_VMDESC} bytes"))
                );
            }
            r.skip(len)?;
            if let Some(b) = r.peek()? {
                return Err(r.malformed(
                    "end of stream after VMDESCRIPTION",
                    format!("byte {b:#04x}"),
                ));
            }
        }
        Some(b) => {
            return Err(r.malformed(
                "VMDESCRIPTION (0x06) or end of stream",
                format!("byte {b:#04x}"),
            ))
        }
    }
    Ok(LoadReport {
        warnings: r.take_warnings(),
    })
}

fn load_section(
    r: &mut Reader<'_>,
    h: &Header,
    ram: &mut [RamBlockMut<'_>],
    sections: &mut [SectionRef<'_>],
    st: &mut LoadState,
) -> Result<(), LoadError> {
    let dup = || LoadError::DuplicateSection {
        section: format!("{} instance {}", h.idstr, h.instance_id),
        offset: h.offset,
    };
    if h.idstr == "ram" && h.instance_id == 0 {
        if st.ram_id.is_some() {
            return Err(dup());
        }
        if h.version != RAM_VERSION {
            return Err(LoadError::VersionTooNew {
                section: "ram".into(),
                offset: h.offset,
                found: h.version,
                supported: RAM_VERSION,
            });
        }
        st.ram_id = Some(h.id);
        return load_ram(r, ram, &mut st.written);
    }
    if h.idstr == BEIGE_CONFIG && h.instance_id == 0 && h.kind == SECTION_FULL {
        if std::mem::replace(&mut st.seen_config, true) {
            return Err(dup());
        }
        let mut bc = BeigeConfig::default();
        bc.load_section(r, h.version)?;
        let ours: u64 = ram.iter().map(|b| b.data.len() as u64).sum();
        if bc.ram_size != ours {
            return Err(LoadError::RamSizeMismatch {
                name: "total".into(),
                found: bc.ram_size,
                expected: ours,
            });
        }
        return Ok(());
    }
    let droppable = h.version & DROPPABLE != 0;
    let version = h.version & !DROPPABLE;
    let idx = sections
        .iter()
        .position(|s| s.idstr == h.idstr && s.instance_id == h.instance_id)
        .filter(|&i| {
            let s = &sections[i];
            // A droppable section this build cannot load (too new) is skipped too.
            h.kind == SECTION_FULL
                && (!droppable
                    || (version <= s.state.section_version()
                        && version >= s.state.section_minimum_version()))
        });
    let Some(i) = idx else {
        if droppable {
            let len = r.be32()?;
            let msg = format!(
                "skipped optional section '{}' instance {} version {version} ({len} bytes): \
                 saved by a newer beige, not needed to run",
                h.idstr, h.instance_id
            );
            tracing::warn!(target: "savevm", "{msg}");
            r.skip(u64::from(len))?;
            r.warn(msg);
            return Ok(());
        }
        return Err(LoadError::UnknownSection {
            idstr: h.idstr.clone(),
            instance_id: h.instance_id,
            offset: h.offset,
        });
    };
    if std::mem::replace(&mut st.seen[i], true) {
        return Err(dup());
    }
    let s = &mut sections[i];
    if droppable != s.droppable {
        return Err(LoadError::Malformed {
            context: format!("section '{}'", h.idstr),
            offset: h.offset,
            expected: format!("droppable={}", s.droppable),
            found: format!("droppable={droppable}"),
        });
    }
    if droppable {
        let len = u64::from(r.be32()?);
        let start = r.offset();
        s.state.load_section(r, version)?;
        let used = r.offset() - start;
        if used != len {
            return Err(LoadError::Malformed {
                context: format!("section '{}'", h.idstr),
                offset: start,
                expected: format!("{len} bytes as its length says"),
                found: format!("{used} bytes"),
            });
        }
        Ok(())
    } else {
        s.state.load_section(r, version)
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
