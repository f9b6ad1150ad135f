//! Running a static Linux/PowerPC executable on beige's CPU in user mode:
//! the ELF is loaded at its own virtual addresses into a flat guest RAM
//! (user mode has no MMU), a stack is laid out as Linux lays it out, and
//! `sc` comes back to a small syscall shim here.

use std::time::{Duration, Instant};

use cpu_ppc::{Bus, Cpu, CpuConfig, Exit, GuestRam};
use thiserror::Error;

use machine_g3beige::elf::{self, ElfError};

/// The top of the initial stack. Below the usual 0x1000_0000 load address,
/// so RAM need only reach the end of the image plus the heap.
pub const STACK_TOP: u32 = 0x0800_0000;
/// How far `brk` may grow the heap past the image.
pub const HEAP_MAX: u32 = 64 << 20;
/// Linux/PowerPC system call numbers the shim handles.
pub const SYS_EXIT: u32 = 1;
pub const SYS_WRITE: u32 = 4;
pub const SYS_BRK: u32 = 45;
pub const SYS_EXIT_GROUP: u32 = 234;
/// errno values returned to the guest.
const EBADF: u32 = 9;
const EFAULT: u32 = 14;
/// Auxiliary vector tags (linux/auxvec.h).
const AT_NULL: u32 = 0;
const AT_PAGESZ: u32 = 6;
const AT_ENTRY: u32 = 9;
/// CR0[SO]: Linux/PowerPC sets it on a failed system call.
const CR0_SO: u32 = 1 << 28;

#[derive(Debug, Error)]
pub enum RunError {
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error(
        "segment at {vaddr:#x} ends at {end:#x}, beyond what the user-mode runner maps \
         (it loads below 1 GB)"
    )]
    TooHigh { vaddr: u32, end: u32 },
    #[error(
        "segment at {vaddr:#x} overlaps the stack below {STACK_TOP:#x}; link the program \
         at 0x10000000 (the default)"
    )]
    OverlapsStack { vaddr: u32 },
    #[error(
        "unsupported system call {nr} at {nip:#010x} (the shim has write, exit, \
         exit_group and brk); keep guest programs to those"
    )]
    UnsupportedSyscall { nr: u32, nip: u32 },
    #[error("the guest stopped on {exception} at {nip:#010x}")]
    Fault { exception: String, nip: u32 },
    #[error("the guest {kind} unmapped address {addr:#010x} (size {size}) near {nip:#010x}")]
    BadAccess {
        kind: &'static str,
        addr: u32,
        size: u32,
        nip: u32,
    },
    #[error("the guest ran more than {limit} instructions without exiting")]
    TooLong { limit: u64 },
    #[error("the CPU went idle (MSR[POW]) in user mode at {nip:#010x}")]
    Idle { nip: u32 },
}

/// What the program did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub exit_code: i32,
    /// Retired guest instructions.
    pub instructions: u64,
    pub elapsed: Duration,
}

/// The user-mode "board": flat RAM, and any access outside it stops the run.
#[derive(Debug)]
struct UserBus {
    ram: GuestRam,
    bad: Option<(&'static str, u32, u32)>,
}

// SAFETY: `ram` returns the bus's own `ram` field, never replaced.
#[allow(unsafe_code)]
unsafe impl Bus for UserBus {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.ram
    }

    fn read(&mut self, pa: u32, size: u32, _now_ns: u64) -> u32 {
        self.bad.get_or_insert(("read", pa, size));
        0
    }

    fn write(&mut self, pa: u32, size: u32, _value: u32, _now_ns: u64) {
        self.bad.get_or_insert(("wrote", pa, size));
    }

    fn take_pins(&mut self) -> Option<u32> {
        None
    }

    fn stop_requested(&mut self) -> bool {
        self.bad.is_some()
    }
}

/// A loaded program, ready to run.
#[derive(Debug)]
pub struct Process {
    pub cpu: Cpu,
    bus: UserBus,
    brk_start: u32,
    brk: u32,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

fn round_up(v: u32, to: u32) -> u32 {
    v.div_ceil(to) * to
}

impl Process {
    /// Load `file` with `argv` (and an empty environment).
    pub fn load(file: &[u8], argv: &[&str]) -> Result<Process, RunError> {
        let elf = elf::parse(file)?;
        let image_end = round_up(elf.vaddr_span().1, 4096);
        for s in &elf.segments {
            if s.vaddr < STACK_TOP && s.mem_size > 0 {
                return Err(RunError::OverlapsStack { vaddr: s.vaddr });
            }
            if s.end() > 0x4000_0000 {
                return Err(RunError::TooHigh {
                    vaddr: s.vaddr,
                    end: s.end(),
                });
            }
        }
        let ram_size = image_end.max(STACK_TOP) + HEAP_MAX;
        let mut ram = GuestRam::new(ram_size as usize);
        for s in &elf.segments {
            // Zeroed RAM already provides the bss.
            ram.write(s.vaddr, &s.data);
        }
        let mut cpu = Cpu::new(CpuConfig {
            user_mode: true,
            // One "nanosecond" per instruction: virtual time counts instructions.
            ns_per_insn: 1,
            ..CpuConfig::default()
        });
        let sp = build_stack(&mut ram, argv, elf.entry);
        cpu.nip = elf.entry;
        cpu.gpr[1] = sp;
        // The SVR4 PowerPC ABI entry registers: argc, argv, envp, auxv.
        let argc = argv.len() as u32;
        cpu.gpr[3] = argc;
        cpu.gpr[4] = sp + 4;
        cpu.gpr[5] = sp + 4 + 4 * (argc + 1);
        cpu.gpr[6] = cpu.gpr[5] + 4;
        Ok(Process {
            cpu,
            bus: UserBus { ram, bad: None },
            brk_start: image_end,
            brk: image_end,
            stdout: Vec::new(),
            stderr: Vec::new(),
        })
    }

    /// Run until the program exits, at most `limit` instructions.
    pub fn run(mut self, limit: u64) -> Result<Outcome, RunError> {
        let start = Instant::now();
        // Slices only bound how long we go without checking the limit.
        const SLICE: u64 = 50_000_000;
        loop {
            let left = limit.saturating_sub(self.cpu.icount).saturating_add(1);
            let until = self.cpu.now_ns().saturating_add(SLICE.min(left));
            let exit = self.cpu.run(&mut self.bus, until);
            let nip = self.cpu.nip;
            if let Some((kind, addr, size)) = self.bus.bad {
                return Err(RunError::BadAccess {
                    kind,
                    addr,
                    size,
                    nip,
                });
            }
            match exit {
                Exit::Syscall => {
                    if let Some(code) = self.syscall()? {
                        return Ok(Outcome {
                            stdout: self.stdout,
                            stderr: self.stderr,
                            exit_code: code,
                            instructions: self.cpu.icount,
                            elapsed: start.elapsed(),
                        });
                    }
                }
                Exit::Deadline => {}
                Exit::Stop => {
                    let exception = match &self.cpu.user_fault {
                        Some(e) => format!("{e:?}"),
                        None => "a stop request".to_string(),
                    };
                    return Err(RunError::Fault { exception, nip });
                }
                Exit::Idle => return Err(RunError::Idle { nip }),
            }
            if self.cpu.icount > limit {
                return Err(RunError::TooLong { limit });
            }
        }
    }

    /// Handle the system call the CPU stopped at. `Some(code)` on exit.
    fn syscall(&mut self) -> Result<Option<i32>, RunError> {
        let nr = self.cpu.gpr[0];
        let [a, b, c] = [self.cpu.gpr[3], self.cpu.gpr[4], self.cpu.gpr[5]];
        let result: Result<u32, u32> = match nr {
            SYS_EXIT | SYS_EXIT_GROUP => return Ok(Some((a & 0xff) as i32)),
            SYS_WRITE => self.write(a, b, c),
            SYS_BRK => {
                // Linux semantics: a bad request leaves the break where it was.
                if a >= self.brk_start && a <= self.brk_start + HEAP_MAX {
                    self.brk = a;
                }
                Ok(self.brk)
            }
            // The CPU reports NIP past `sc`.
            _ => {
                return Err(RunError::UnsupportedSyscall {
                    nr,
                    nip: self.cpu.nip.wrapping_sub(4),
                })
            }
        };
        match result {
            Ok(v) => {
                self.cpu.gpr[3] = v;
                self.cpu.set_cr(self.cpu.cr() & !CR0_SO);
            }
            Err(errno) => {
                self.cpu.gpr[3] = errno;
                self.cpu.set_cr(self.cpu.cr() | CR0_SO);
            }
        }
        Ok(None)
    }

    fn write(&mut self, fd: u32, buf: u32, len: u32) -> Result<u32, u32> {
        let out = match fd {
            1 => &mut self.stdout,
            2 => &mut self.stderr,
            _ => return Err(EBADF),
        };
        let ram = self.bus.ram.as_slice();
        let start = buf as usize;
        let end = start.checked_add(len as usize).ok_or(EFAULT)?;
        let bytes = ram.get(start..end).ok_or(EFAULT)?;
        out.extend_from_slice(bytes);
        Ok(len)
    }
}

/// Lay out argc, argv, envp and auxv below `STACK_TOP` as Linux does
/// (strings at the top, then the pointer arrays, sp 16-byte aligned and
/// pointing at argc). Returns the initial stack pointer.
fn build_stack(ram: &mut GuestRam, argv: &[&str], entry: u32) -> u32 {
    let mut top = STACK_TOP - 16;
    let mut ptrs = Vec::new();
    for arg in argv.iter().rev() {
        top -= arg.len() as u32 + 1;
        ram.write(top, arg.as_bytes());
        ram.write(top + arg.len() as u32, &[0]);
        ptrs.push(top);
    }
    ptrs.reverse();
    let mut words = vec![argv.len() as u32];
    words.extend(&ptrs);
    words.push(0); // argv terminator
    words.push(0); // empty envp
    words.extend([AT_PAGESZ, 4096, AT_ENTRY, entry, AT_NULL, 0]);
    let sp = (top - 4 * words.len() as u32) & !15;
    for (i, w) in words.iter().enumerate() {
        ram.write(sp + 4 * i as u32, &w.to_be_bytes());
    }
    sp
}

/// Load and run `file`, at most `limit` instructions.
pub fn run(file: &[u8], limit: u64) -> Result<Outcome, RunError> {
    Process::load(file, &["guest"])?.run(limit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word(ram: &GuestRam, at: u32) -> u32 {
        let mut b = [0; 4];
        ram.read(at, &mut b);
        u32::from_be_bytes(b)
    }

    #[test]
    fn stack_holds_argc_argv_strings_and_auxv() {
        let mut ram = GuestRam::new(STACK_TOP as usize);

        let sp = build_stack(&mut ram, &["prog", "x"], 0x1000_0000);

        assert_eq!(sp % 16, 0);
        assert_eq!(word(&ram, sp), 2);
        let argv0 = word(&ram, sp + 4);
        let mut s = [0u8; 5];
        ram.read(argv0, &mut s);
        assert_eq!(&s, b"prog\0");
        assert_eq!(word(&ram, sp + 12), 0, "argv terminator");
        assert_eq!(word(&ram, sp + 16), 0, "empty envp");
        assert_eq!(word(&ram, sp + 20), AT_PAGESZ);
        assert_eq!(word(&ram, sp + 24), 4096);
        assert_eq!(word(&ram, sp + 32), 0x1000_0000, "AT_ENTRY");
    }

    /// Hand-encoded PowerPC instructions, so these tests need no toolchain.
    fn li(rd: u32, imm: i16) -> u32 {
        0x3800_0000 | rd << 21 | imm as u16 as u32
    }
    fn lis(rd: u32, imm: u16) -> u32 {
        0x3c00_0000 | rd << 21 | imm as u32
    }
    fn ori(ra: u32, rs: u32, imm: u16) -> u32 {
        0x6000_0000 | rs << 21 | ra << 16 | imm as u32
    }
    const SC: u32 = 0x4400_0002;
    /// mfcr r3
    const MFCR_R3: u32 = 0x7c60_0026;

    /// A program of `insns` followed by `data`; `data` starts at the
    /// returned address.
    fn program(insns: &[u32], data: &[u8]) -> (Vec<u8>, u32) {
        let mut code: Vec<u8> = insns.iter().flat_map(|i| i.to_be_bytes()).collect();
        let data_addr = 0x1000_0054 + code.len() as u32;
        code.extend_from_slice(data);
        let len = code.len() as u32;
        (elf::tiny_elf(&code, 0x1000_0054, len), data_addr)
    }

    /// write(fd, data_addr, len) then exit_group(r3 of the write).
    fn write_then_exit(fd: i16, len: i16) -> Vec<u8> {
        let addr = 0x1000_0054 + 9 * 4;
        let (file, data) = program(
            &[
                li(0, SYS_WRITE as i16),
                li(3, fd),
                lis(4, (addr >> 16) as u16),
                ori(4, 4, addr as u16),
                li(5, len),
                SC,
                li(0, SYS_EXIT_GROUP as i16),
                SC,
                0, // padding so data sits at entry + 9 words
            ],
            b"hello\n",
        );
        assert_eq!(data, addr);
        file
    }

    #[test]
    fn write_reaches_stdout_and_exit_code_is_kept() {
        let out = run(&write_then_exit(1, 6), 1000).unwrap();

        assert_eq!(out.stdout, b"hello\n");
        // exit_group's argument is write's result: 6 bytes.
        assert_eq!(out.exit_code, 6);
        assert!(out.instructions >= 8, "{} instructions", out.instructions);
    }

    #[test]
    fn write_to_bad_fd_returns_ebadf_with_cr0_so() {
        let (file, _) = program(
            &[
                li(0, SYS_WRITE as i16),
                li(3, 42),
                li(4, 0),
                li(5, 1),
                SC,
                MFCR_R3,
            ],
            &[],
        );
        let mut p = Process::load(&file, &["t"]).unwrap();

        // Step to the syscall, let the shim answer, then run mfcr.
        let exit = p.cpu.run(&mut p.bus, 1000);
        assert_eq!(exit, Exit::Syscall);
        assert_eq!(p.syscall().unwrap(), None);

        assert_eq!(p.cpu.gpr[3], EBADF);
        assert_ne!(p.cpu.cr() & CR0_SO, 0);
    }

    #[test]
    fn unknown_syscall_is_a_clear_error() {
        let (file, _) = program(&[li(0, 999), SC], &[]);

        let err = run(&file, 1000).unwrap_err();

        assert!(
            matches!(
                err,
                RunError::UnsupportedSyscall {
                    nr: 999,
                    nip: 0x1000_0058
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn brk_grows_within_the_heap_and_refuses_below_the_image() {
        let (file, _) = program(&[li(0, SYS_BRK as i16), li(3, 0), SC], &[]);
        let mut p = Process::load(&file, &["t"]).unwrap();
        let start = p.brk;

        p.cpu.gpr[3] = start + 0x2000;
        p.cpu.gpr[0] = SYS_BRK;
        p.syscall().unwrap();
        let grown = p.cpu.gpr[3];
        p.cpu.gpr[3] = 0x100;
        p.cpu.gpr[0] = SYS_BRK;
        p.syscall().unwrap();

        assert_eq!(grown, start + 0x2000);
        assert_eq!(
            p.cpu.gpr[3],
            start + 0x2000,
            "a refused brk returns the old break"
        );
    }

    #[test]
    fn runaway_program_hits_the_instruction_limit() {
        // b . (branch to self)
        let (file, _) = program(&[0x4800_0000], &[]);

        let err = run(&file, 100_000).unwrap_err();

        assert!(matches!(err, RunError::TooLong { limit: 100_000 }), "{err}");
    }

    #[test]
    fn access_outside_ram_stops_with_the_address() {
        // lis r4, 0xf000; lwz r3, 0(r4)
        let (file, _) = program(&[lis(4, 0xf000), 0x8064_0000], &[]);

        let err = run(&file, 1000).unwrap_err();

        assert!(
            matches!(
                err,
                RunError::BadAccess {
                    addr: 0xf000_0000,
                    size: 4,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn garbage_file_is_an_elf_error() {
        let err = run(b"not an elf", 1000).unwrap_err();

        assert!(matches!(err, RunError::Elf(ElfError::NotElf)), "{err}");
    }
}
