//! Round-trip checks every device's tests call (after crosvm's `suspendable_tests!`).
//!
//! ```ignore
//! #[test]
//! fn state_roundtrips() {
//!     let mut dev = Escc::default();
//!     savevm::testing::assert_roundtrip(&mut dev);
//!     savevm::testing::assert_mutated_roundtrip(&mut dev, |d| d.wr9 = 0xc0);
//! }
//! ```

use crate::vmsd::{describe_saved, load_bytes, save_bytes, VmState};

/// Saves `dev`, loads the bytes into `T::default()`, saves that again and asserts the
/// bytes are identical and the VMDESCRIPTION parses as JSON. Returns the bytes.
///
/// # Panics
/// When the round trip differs or the load fails: this is a test helper.
pub fn assert_roundtrip<T: VmState + Default>(dev: &mut T) -> Vec<u8> {
    assert_roundtrip_into(dev, T::default())
}

/// Like [`assert_roundtrip`], loading into `fresh` (for devices without `Default`).
pub fn assert_roundtrip_into<T: VmState>(dev: &mut T, mut fresh: T) -> Vec<u8> {
    let name = T::vmsd().name();
    let first = save_bytes(dev);
    if let Err(e) = load_bytes(&mut fresh, &first) {
        panic!("savevm round trip of '{name}': load failed: {e}\nbytes: {first:02x?}");
    }
    let second = save_bytes(&mut fresh);
    assert_eq!(
        first, second,
        "savevm round trip of '{name}': save -> load -> save changed the bytes"
    );
    let desc = describe_saved(dev);
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&desc) {
        panic!("savevm '{name}': VMDESCRIPTION is not JSON ({e}): {desc}");
    }
    first
}

/// Applies `mutate` to `dev`, asserts the saved bytes changed (the mutation touched
/// saved state), then asserts the round trip. Catches a field that saves but does not
/// load, or loads into the wrong place.
pub fn assert_mutated_roundtrip<T: VmState + Default>(dev: &mut T, mutate: impl FnOnce(&mut T)) {
    let before = save_bytes(dev);
    mutate(dev);
    let after = assert_roundtrip(dev);
    assert_ne!(
        before,
        after,
        "savevm '{}': the mutation did not change the saved state; mutate a saved field",
        T::vmsd().name()
    );
}

/// A small stand-in machine (a CPU-like register file, a UART with a FIFO and two
/// channels) used by this crate's tests, benchmark and fuzz target, and by anyone
/// who wants a known-good stream. About 4.5 KB of device state.
pub mod demo {
    use std::sync::LazyLock;

    use crate::file::{load_file, save_file, FileOptions};
    use crate::stream::{
        load_stream, save_stream, LoadReport, RamBlock, RamBlockMut, SectionRef, G3BEIGE_RAM,
    };
    use crate::{LoadError, SaveError, VmState, Vmsd};

    pub const MACHINE: &str = "g3beige";

    #[derive(Debug, Clone, PartialEq)]
    pub struct DemoCpu {
        pub gpr: [u32; 32],
        pub fpr: [f64; 32],
        pub spr: [u32; 1024],
        pub pc: u32,
        pub msr: u32,
        pub pending: u32,
        /// Property cpu.migrate-irq-state: set at construction, not saved.
        pub migrate_irq_state: bool,
    }

    impl Default for DemoCpu {
        fn default() -> Self {
            DemoCpu {
                gpr: [0; 32],
                fpr: [0.0; 32],
                spr: [0; 1024],
                pc: 0xfff0_0100,
                msr: 0x40,
                pending: 0,
                migrate_irq_state: true,
            }
        }
    }

    impl VmState for DemoCpu {
        fn vmsd() -> &'static Vmsd<Self> {
            static V: LazyLock<Vmsd<DemoCpu>> = LazyLock::new(|| {
                Vmsd::<DemoCpu>::builder("cpu")
                    .version(5)
                    .minimum_version(5)
                    .field("gpr", |s| &s.gpr, |s| &mut s.gpr)
                    .field("fpr", |s| &s.fpr, |s| &mut s.fpr)
                    .field("spr", |s| &s.spr, |s| &mut s.spr)
                    .field("pc", |s| &s.pc, |s| &mut s.pc)
                    .field("msr", |s| &s.msr, |s| &mut s.msr)
                    .subsection(
                        Vmsd::<DemoCpu>::builder("cpu/irq_state")
                            .field("pending", |s| &s.pending, |s| &mut s.pending)
                            .build(),
                        |s| s.migrate_irq_state && s.pending != 0,
                    )
                    .pre_load(|s| s.pending = 0)
                    .build()
            });
            &V
        }
    }

    #[derive(Debug, Default, Clone, PartialEq)]
    pub struct DemoChan {
        pub wr: [u8; 16],
        pub rr: [u8; 16],
    }

    impl VmState for DemoChan {
        fn vmsd() -> &'static Vmsd<Self> {
            static V: LazyLock<Vmsd<DemoChan>> = LazyLock::new(|| {
                Vmsd::<DemoChan>::builder("escc_chn")
                    .version(2)
                    .field("wregs", |s| &s.wr, |s| &mut s.wr)
                    .field("rregs", |s| &s.rr, |s| &mut s.rr)
                    .build()
            });
            &V
        }
    }

    pub const UART_FIFO_MAX: usize = 64;

    #[derive(Debug, Default, Clone, PartialEq)]
    pub struct DemoUart {
        pub chn: [DemoChan; 2],
        pub fifo_len: u8,
        pub fifo: Vec<u8>,
        pub irq: bool,
    }

    impl VmState for DemoUart {
        fn vmsd() -> &'static Vmsd<Self> {
            static V: LazyLock<Vmsd<DemoUart>> = LazyLock::new(|| {
                Vmsd::<DemoUart>::builder("escc")
                    .version(2)
                    .struct_array("chn", |s| &s.chn, |s| &mut s.chn)
                    .field("fifo_len", |s| &s.fifo_len, |s| &mut s.fifo_len)
                    .vbuffer(
                        "fifo",
                        |s| s.fifo_len as usize,
                        UART_FIFO_MAX,
                        |s| &s.fifo,
                        |s| &mut s.fifo,
                    )
                    .subsection(
                        Vmsd::<DemoUart>::builder("escc/irq")
                            .field("irq", |s| &s.irq, |s| &mut s.irq)
                            .build(),
                        |s| s.irq,
                    )
                    .pre_load(|s| s.irq = false)
                    .build()
            });
            &V
        }
    }

    /// The demo machine: RAM plus three sections.
    #[derive(Debug, Clone, PartialEq)]
    pub struct DemoMachine {
        pub ram: Vec<u8>,
        pub cpu: DemoCpu,
        pub uart: DemoUart,
        pub uart2: DemoUart,
    }

    impl DemoMachine {
        /// A fresh machine with `ram_bytes` of zeroed RAM (a multiple of 4 KiB).
        pub fn new(ram_bytes: usize) -> Self {
            DemoMachine {
                ram: vec![0; ram_bytes],
                cpu: DemoCpu::default(),
                uart: DemoUart::default(),
                uart2: DemoUart::default(),
            }
        }

        /// Fills state with recognisable values and some RAM pages.
        pub fn busy(ram_bytes: usize) -> Self {
            let mut m = DemoMachine::new(ram_bytes);
            for (i, g) in m.cpu.gpr.iter_mut().enumerate() {
                *g = (i as u32).wrapping_mul(0x0101_0101);
            }
            m.cpu.fpr[3] = -1.5;
            m.cpu.spr[22] = 0x1234;
            m.cpu.pending = 2;
            m.uart.chn[1].wr[9] = 0xc0;
            m.uart.fifo_len = 3;
            m.uart.fifo = vec![0x05, 0x7e, 0x00];
            m.uart.irq = true;
            for (i, b) in m.ram.iter_mut().enumerate().step_by(4096 * 3) {
                *b = (i >> 12) as u8 | 1;
            }
            m
        }

        pub fn save_stream(&mut self, w: &mut dyn std::io::Write) -> Result<(), SaveError> {
            let ram = [RamBlock {
                name: G3BEIGE_RAM,
                data: &self.ram,
            }];
            let mut secs = [
                SectionRef::new("cpu", 0, &mut self.cpu),
                SectionRef::new("escc", 0, &mut self.uart),
                SectionRef::new("escc", 1, &mut self.uart2),
            ];
            save_stream(w, MACHINE, &ram, &mut secs)
        }

        pub fn load_stream(&mut self, r: &mut dyn std::io::Read) -> Result<LoadReport, LoadError> {
            let mut ram = [RamBlockMut::new(G3BEIGE_RAM, &mut self.ram)];
            let mut secs = [
                SectionRef::new("cpu", 0, &mut self.cpu),
                SectionRef::new("escc", 0, &mut self.uart),
                SectionRef::new("escc", 1, &mut self.uart2),
            ];
            load_stream(r, MACHINE, &mut ram, &mut secs)
        }

        pub fn save_file<W: std::io::Write>(
            &mut self,
            w: W,
            opts: FileOptions,
        ) -> Result<W, SaveError> {
            let ram = [RamBlock {
                name: G3BEIGE_RAM,
                data: &self.ram,
            }];
            let mut secs = [
                SectionRef::new("cpu", 0, &mut self.cpu),
                SectionRef::new("escc", 0, &mut self.uart),
                SectionRef::new("escc", 1, &mut self.uart2),
            ];
            save_file(w, opts, MACHINE, &ram, &mut secs)
        }

        pub fn load_file<R: std::io::Read>(&mut self, r: R) -> Result<LoadReport, LoadError> {
            self.load_file_ram(r, false)
        }

        /// Like `load_file`, for a machine fresh from `new` (RAM all zero): zero pages
        /// are not touched. Wrong results if RAM is not all zero.
        pub fn load_file_fresh<R: std::io::Read>(&mut self, r: R) -> Result<LoadReport, LoadError> {
            self.load_file_ram(r, true)
        }

        fn load_file_ram<R: std::io::Read>(
            &mut self,
            r: R,
            fresh: bool,
        ) -> Result<LoadReport, LoadError> {
            let mut ram = [RamBlockMut {
                name: G3BEIGE_RAM,
                data: &mut self.ram,
                known_zero: fresh,
            }];
            let mut secs = [
                SectionRef::new("cpu", 0, &mut self.cpu),
                SectionRef::new("escc", 0, &mut self.uart),
                SectionRef::new("escc", 1, &mut self.uart2),
            ];
            load_file(r, MACHINE, &mut ram, &mut secs)
        }
    }
}

impl demo::DemoMachine {
    /// A machine whose RAM looks like a booted guest's: `ram_bytes` of RAM of which
    /// `nonzero_bytes` are non-zero pages, scattered in runs. A third of those pages
    /// look like PowerPC code (few primary opcodes, varying registers and
    /// displacements), a third like text, a third like kernel data (pointers,
    /// small counters). Deterministic for a given `seed`.
    pub fn guest_like(ram_bytes: usize, nonzero_bytes: usize, seed: u64) -> Self {
        const PAGE: usize = 4096;
        let mut m = demo::DemoMachine::busy(PAGE);
        m.ram = vec![0u8; ram_bytes];
        let mut rng = seed | 1;
        let mut next = move || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let pages = ram_bytes / PAGE;
        let want = (nonzero_bytes / PAGE).min(pages);
        let mut used = vec![false; pages];
        let mut filled = 0;
        while filled < want {
            let start = (next() as usize) % pages;
            let run = 1 + (next() as usize) % 64;
            let end = (start + run).min(pages);
            for (p, used) in used.iter_mut().enumerate().take(end).skip(start) {
                if !*used && filled < want {
                    *used = true;
                    fill_guest_page(&mut m.ram[p * PAGE..(p + 1) * PAGE], p % 3, &mut next);
                    filled += 1;
                }
            }
        }
        m
    }
}

const GUEST_WORDS: &[&str] = &[
    "the ",
    "kernel ",
    "page ",
    "of ",
    "memory ",
    "driver ",
    "and ",
    "to ",
    "device ",
    "error ",
    "interrupt ",
    "return ",
    "value ",
    "buffer ",
    "a ",
    "is ",
    "in ",
    "for ",
    "struct ",
    "file ",
    "Linux ",
    "version ",
    "mac ",
    "heathrow ",
    "via-cuda ",
    "adb ",
    "scsi ",
    "ide ",
    "0x",
    "\n",
    ": ",
    ", ",
    "(",
    ")",
    "=",
    "%d ",
    "%s ",
    "init ",
    "alloc ",
    "free ",
];

fn fill_guest_page(page: &mut [u8], kind: usize, next: &mut impl FnMut() -> u64) {
    match kind {
        0 => {
            const OPS: [u32; 8] = [
                0x7c00_0000,
                0x3800_0000,
                0x8000_0000,
                0x9000_0000,
                0x4800_0000,
                0x4180_0000,
                0x7c08_02a6,
                0x9421_0000,
            ];
            for w in page.chunks_exact_mut(4) {
                let r = next();
                let op = OPS[(r & 7) as usize] | ((r >> 8) as u32 & 0x0003_001c);
                w.copy_from_slice(&op.to_be_bytes());
            }
        }
        1 => {
            let mut i = 0;
            while i < page.len() {
                let w = GUEST_WORDS[(next() % GUEST_WORDS.len() as u64) as usize].as_bytes();
                let n = w.len().min(page.len() - i);
                page[i..i + n].copy_from_slice(&w[..n]);
                i += n;
            }
        }
        _ => {
            for w in page.chunks_exact_mut(8) {
                let r = next();
                let v: u32 = if r & 7 == 0 {
                    0xc000_0000 | (r >> 8) as u32 & 0x0fff_fff0
                } else {
                    (r >> 16) as u32 & 0xff
                };
                w[..4].copy_from_slice(&v.to_be_bytes());
                w[4..].copy_from_slice(&((r >> 40) as u32 & 0x3).to_be_bytes());
            }
        }
    }
}
