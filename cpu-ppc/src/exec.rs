//! The executor: runs translated blocks against the register file, the soft TLB and
//! the bus.
//!
//! Every op (and every fused pair of ops, see `FUSED`) has its own handler, a copy of
//! `Cpu::step` specialised for it at compile time. A handler runs its op and calls
//! the next op's handler (threaded code), so dispatch is one indirect branch per op
//! from many sites, which predicts far better than one central `match`. Branches
//! continue into the next translated block through a jump cache while a whole block
//! fits before the next event; everything else (interrupts, deadlines, MMIO side
//! effects) is handled between blocks in [`Cpu::run`].

use crate::block_cache::BlockCache;
use crate::decode::{Insn, Op, F_AA, F_BACK, F_INDEXED, F_LK, F_OE, F_RC, F_UPDATE, U5};
use crate::exceptions::{Exception, DSISR_STORE, PROGRAM_ILLEGAL, PROGRAM_PRIV, PROGRAM_TRAP};
use crate::mmu::{self, Access, Fault, PteMem};
use crate::ram::GuestRam;
use crate::spr::HID0_POWER_MODES;
use crate::tlb::SoftTlb;
use crate::translate::{fetch_word, next_addr, translate_block, MAX_BLOCK_INSNS};
use crate::{interrupt, msr, xer, Bus, Cpu, Exit};

/// What happens after an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Next,
    /// Go on in the same block, at its next op, which need not be the next word
    /// (see `Op::Goto`).
    Goto,
    Jump(u32),
    /// User mode `sc`.
    Syscall,
}

type R<T> = Result<T, Exception>;

/// Why an op stopped early: a guest exception, or (fast path only) an access the
/// fast path cannot do, after which the op runs again on the slow path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trap {
    Guest(Exception),
    Slow,
}

impl From<Exception> for Trap {
    fn from(e: Exception) -> Trap {
        Trap::Guest(e)
    }
}

/// The big-endian value of 1 to 4 bytes.
#[inline(always)]
fn big_endian(b: &[u8]) -> u32 {
    b.iter().fold(0, |v, &x| (v << 8) | x as u32)
}

/// The `N` bytes at `pa`, which a load or store TLB hit of an `N`-byte access
/// produced, in `bytes`, the RAM of the bus `Cpu::run` runs with. The executor's
/// fourth unsafe block: without the bounds check, and with nothing else changed,
/// host instructions to the OpenBIOS prompt fall 7.3%.
#[inline(always)]
#[allow(unsafe_code)]
fn tlb_bytes<'a, const N: usize>(tlb: &SoftTlb, bytes: &'a mut [u8], pa: usize) -> &'a mut [u8] {
    debug_assert!(pa + N <= bytes.len() && bytes.len() == tlb.bound_len());
    // SAFETY: every load and store entry maps a whole page that lay within RAM
    // bytes of length `tlb.bound_len()` when `Cpu::translate_data` made it, and
    // `SoftTlb::bind` drops them all when that length changes. A hit of an
    // `N`-byte access is aligned to `N` (`lookup_within`), so it stays in the page.
    // `Cpu::run` binds the TLB to `bytes`' length on entry, and `Bus`'s contract
    // keeps those bytes the same until it returns (a `GuestRam` never resizes).
    unsafe { bytes.get_unchecked_mut(pa..pa + N) }
}

/// The page table as the MMU sees it: physical RAM words.
struct PteRam<'a>(&'a mut GuestRam);

impl PteMem for PteRam<'_> {
    fn read_u32(&mut self, pa: u32) -> u32 {
        self.0.read_u32(pa).unwrap_or(0)
    }
    fn write_u32(&mut self, pa: u32, v: u32) {
        self.0.write_u32(pa, v);
    }
}

#[inline(always)]
fn illegal() -> Exception {
    Exception::Program {
        srr1: PROGRAM_ILLEGAL,
    }
}

/// How a run of ops ended, packed in one register: why, and the next effective
/// address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Out(u64);

impl Out {
    /// Fell through the last op (or one that ends the block): `ea` is the next one.
    const FALL: u8 = 0;
    /// A branch or context change: `ea` is the target.
    const JUMP: u8 = 1;
    /// User mode `sc`: `ea` is the instruction after it.
    const SYSCALL: u8 = 2;
    /// `Cpu::exception` holds the exception raised by the op at `ea`.
    const EXCEPTION: u8 = 3;

    #[inline(always)]
    fn new(kind: u8, ea: u32) -> Out {
        Out(ea as u64 | (kind as u64) << 32)
    }
    fn ea(self) -> u32 {
        self.0 as u32
    }
    fn kind(self) -> u8 {
        (self.0 >> 32) as u8
    }
}

/// Runs op `i` at `ea` and, while control falls through, the ops after it, up to
/// the end marker of its block (see [`end_marker`]). `acc` is the value of the
/// register `fuse` found the ops before it left a result in, carried in a host
/// register (see [`fwd`]).
type Handler<B> = fn(&mut Cpu, &mut B, &BlockCache, &Insn, u32) -> Out;

/// Handler ids index a table this long, a power of two so a mask bounds them.
const HANDLERS: usize = 512;

/// The handler id of the op that ends every run of ops.
const END: u16 = (HANDLERS - 1) as u16;

/// Which operand of an op reads the register an op before it in the run wrote,
/// where `fuse` found one. A handler passes the result of its op (the register
/// [`result`] names) to the next handler in a host register, and a handler
/// specialised for an operand stores that value into the operand's register
/// before running its op: the compiler forwards the store to the op's read, so
/// the value does not make a round trip through `Cpu` (a store and a dependent
/// reload, about 5 cycles). About 40% of OpenBIOS's instructions and 26% of
/// Linux's read the register the instruction before them wrote.
mod fwd {
    pub const NONE: u8 = 0;
    /// `NONE` in the handler lists.
    pub const N: u8 = NONE;
    pub const A: u8 = 1;
    pub const B: u8 = 2;
    pub const D: u8 = 3;
}

/// The register of `i` that operand field `f` names.
#[inline(always)]
fn operand(i: &Insn, f: u8) -> usize {
    match f {
        fwd::A => i.a as usize,
        fwd::B => i.b as usize,
        _ => i.d as usize,
    }
}

/// The operand field of the GPR an op leaves its result in (read back after the
/// op, so an op that writes more than one, like a load with update, is still
/// right), or `fwd::NONE`.
const fn result(op: Op) -> u8 {
    match op {
        Op::Addi
        | Op::Addis
        | Op::Li
        | Op::Lis
        | Op::Mulli
        | Op::Subfic
        | Op::Addic
        | Op::AddicRc
        | Op::Add
        | Op::Addc
        | Op::Adde
        | Op::Addme
        | Op::Addze
        | Op::Subf
        | Op::Subfc
        | Op::Subfe
        | Op::Subfme
        | Op::Subfze
        | Op::Neg
        | Op::Mullw
        | Op::Mulhw
        | Op::Mulhwu
        | Op::Divw
        | Op::Divwu
        | Op::And
        | Op::Andc
        | Op::Or
        | Op::Orc
        | Op::Xor
        | Op::Nand
        | Op::Nor
        | Op::Eqv
        | Op::Slw
        | Op::Srw
        | Op::Sraw
        | Op::Srawi
        | Op::Cntlzw
        | Op::Extsb
        | Op::Extsh
        | Op::Mfcr
        | Op::Mfspr
        | Op::Mflr
        | Op::Mfctr
        | Op::Mftb
        | Op::Lwz
        | Op::Lbz
        | Op::Lhz
        | Op::Lha
        | Op::LwzX
        | Op::LbzX
        | Op::LhzX
        | Op::LhaX
        | Op::Lwbrx
        | Op::Lhbrx
        | Op::Lwarx => fwd::D,
        Op::Ori
        | Op::Oris
        | Op::Xori
        | Op::Xoris
        | Op::AndiRc
        | Op::AndisRc
        | Op::Rlwimi
        | Op::Rlwinm
        | Op::Rlwnm => fwd::A,
        _ => fwd::NONE,
    }
}

/// Whether `i` leaves every GPR as it was (branches, compares, stores without
/// update, SPR writes, the FPU's ops): the value a handler was passed stays the
/// register's.
fn keeps_gprs(i: &Insn) -> bool {
    let stores = matches!(
        i.op,
        Op::Stw
            | Op::Stb
            | Op::Sth
            | Op::StwX
            | Op::StbX
            | Op::SthX
            | Op::Stfs
            | Op::Stfd
            | Op::StfsX
            | Op::StfdX
            | Op::Lfs
            | Op::Lfd
            | Op::LfsX
            | Op::LfdX
    );
    (stores && i.f & F_UPDATE == 0)
        || i.op.fpu()
        || matches!(
            i.op,
            Op::Cmpi
                | Op::Cmpli
                | Op::Cmp
                | Op::Cmpl
                | Op::Twi
                | Op::Tw
                | Op::B
                | Op::Goto
                | Op::Bc
                | Op::Bclr
                | Op::Bcctr
                | Op::Blr
                | Op::Bctr
                | Op::Ret
                | Op::Mcrf
                | Op::Crand
                | Op::Crandc
                | Op::Creqv
                | Op::Crnand
                | Op::Crnor
                | Op::Cror
                | Op::Crorc
                | Op::Crxor
                | Op::Mtcrf
                | Op::Mtspr
                | Op::MtsprQuiet
                | Op::Mtlr
                | Op::Mtctr
                | Op::Sync
                | Op::Dcbz
                | Op::Dcbst
                | Op::DcbNop
                | Op::Dcbi
                | Op::Stwbrx
                | Op::Sthbrx
                | Op::Stwcx
                | Op::Stmw
                | Op::Stfiwx
        )
}

/// The register whose value handlers pass on after `i`, given the one they were
/// passed before it.
fn held_after(i: &Insn, held: Option<U5>) -> Option<U5> {
    match result(i.op) {
        fwd::A => Some(i.a),
        fwd::D => Some(i.d),
        _ if keeps_gprs(i) => held,
        _ => None,
    }
}

/// The operand fields of `i` that name register `held` (bit `fwd::*`).
fn fields_holding(i: &Insn, held: Option<U5>) -> u8 {
    let Some(r) = held else { return 0 };
    [(fwd::A, i.a), (fwd::B, i.b), (fwd::D, i.d)]
        .iter()
        .filter(|&&(_, x)| x == r)
        .fold(0, |m, &(f, _)| m | 1 << f)
}

/// Whether a handler forwarding into field `f` may run an op whose fields in
/// `mask` hold the passed value.
fn may_forward(f: u8, mask: u8) -> bool {
    f == fwd::NONE || mask & (1 << f) != 0
}

/// The value handlers pass on after op `OP` ran: its result, read back where the
/// op just wrote it (so the compiler keeps it in a register), or `acc` unchanged.
#[inline(always)]
fn produced<const OP: u8>(cpu: &Cpu, i: &Insn, acc: u32) -> u32 {
    match const { result(Op::ALL[OP as usize]) } {
        fwd::NONE => acc,
        f => cpu.gpr[operand(i, f)],
    }
}

/// The op after a block's last: it stops the run, counting `len` ops, at page
/// offset `off`. Handlers step from op to op without a length to check, so every
/// run of ops they are given ends in one of these; `BlockCache::insert` adds it to
/// every block.
pub(crate) fn end_marker(len: usize, off: u16) -> Insn {
    Insn {
        handler: END,
        idx: len as u8,
        off,
        ..crate::decode::decode(0)
    }
}

/// The op after `i` in its run. One of the executor's four unsafe blocks (with
/// `handler_at`, `JumpCache::lookup` and `tlb_bytes`): stepping by
/// pointer instead of by slice saves a length check and a register in every
/// handler, about 4% of OpenBIOS's boot.
#[inline(always)]
#[allow(unsafe_code)]
fn next(i: &Insn) -> &Insn {
    debug_assert_ne!(i.handler, END);
    // SAFETY: `i` is not an end marker (the end handler never steps) and every run
    // of ops ends in one (see `end_marker`), so `i` is not the last of its slice
    // and the op after it is in the same allocation, borrowed as long as `i`.
    unsafe { &*(i as *const Insn).add(1) }
}

/// Ops whose only memory access is one `load_op`/`store_op`: on the fast path they
/// either hit RAM through the TLB, which never ends a block, or start over on the
/// slow path, so their fast copies need not check `Cpu::end_block`.
const fn single_access(op: Op) -> bool {
    matches!(
        op,
        Op::Lwz
            | Op::Lbz
            | Op::Lhz
            | Op::Lha
            | Op::Stw
            | Op::Stb
            | Op::Sth
            | Op::LwzX
            | Op::LbzX
            | Op::LhzX
            | Op::LhaX
            | Op::StwX
            | Op::StbX
            | Op::SthX
            | Op::Lwbrx
            | Op::Lhbrx
            | Op::Stwbrx
            | Op::Sthbrx
            | Op::Lwarx
            | Op::Stwcx
            | Op::Eciwx
            | Op::Ecowx
            | Op::Dcbst
    )
}

/// Whether an op can ask to end the block early (MMIO, a store into code, a cache
/// flush of code) without itself changing control flow: every memory access.
const fn may_end_block(op: Op) -> bool {
    single_access(op)
        || matches!(
            op,
            Op::Lmw
                | Op::Stmw
                | Op::Lswi
                | Op::Lswx
                | Op::Stswi
                | Op::Stswx
                | Op::Lfs
                | Op::Lfd
                | Op::Stfs
                | Op::Stfd
                | Op::LfsX
                | Op::LfdX
                | Op::StfsX
                | Op::StfdX
                | Op::Stfiwx
                | Op::Dcbz
                | Op::Dcbi
        )
}

/// Branches continue into the next block directly when they can (see `Cpu::chain`).
const fn chains(op: Op) -> bool {
    matches!(
        op,
        Op::B | Op::Bc | Op::Bclr | Op::Bcctr | Op::Blr | Op::Bctr
    )
}

/// What one op did to the straight-line run of its block.
enum Step {
    /// Go on with the block's next op, passing it this value (see [`produced`]).
    Next(u32),
    Exit(Out),
    /// The fast path could not do it; run it again on the slow path.
    Slow,
}

/// Runs one op of kind `OP` (its time already counted), first storing `acc` into
/// the register of its operand `FWD` (which holds that value already, see `fwd`).
#[inline(always)]
fn exec_op<B: Bus, const OP: u8, const FAST: bool, const NZ: bool, const FWD: u8>(
    cpu: &mut Cpu,
    bus: &mut B,
    code: &BlockCache,
    i: &Insn,
    acc: u32,
) -> Step {
    let op = Op::ALL[OP as usize];
    if FWD != fwd::NONE {
        debug_assert_eq!(
            cpu.gpr[operand(i, FWD)],
            acc,
            "{i:?} forwarded a stale value"
        );
        cpu.gpr[operand(i, FWD)] = acc;
    }
    let out = match cpu.step::<B, OP, FAST, NZ>(bus, i) {
        Ok(Flow::Next) if may_end_block(op) && !(FAST && single_access(op)) && cpu.end_block => {
            Out::new(Out::FALL, cpu.ea_of(i).wrapping_add(4))
        }
        Ok(Flow::Next | Flow::Goto) => return Step::Next(produced::<OP>(cpu, i, acc)),
        Ok(Flow::Jump(target)) if chains(op) => {
            cpu.sync_time(i);
            return Step::Exit(cpu.chain(bus, code, target));
        }
        Ok(Flow::Jump(target)) => Out::new(Out::JUMP, target),
        Ok(Flow::Syscall) => Out::new(Out::SYSCALL, cpu.ea_of(i).wrapping_add(4)),
        Err(Trap::Slow) => return Step::Slow,
        Err(Trap::Guest(e)) => {
            cpu.exception = Some(e);
            Out::new(Out::EXCEPTION, cpu.ea_of(i))
        }
    };
    // Leaving the run: the clock catches up, counting this op (even one that
    // faulted, so an exception loop cannot stall virtual time).
    cpu.sync_time(i);
    Step::Exit(out)
}

/// Runs `ops` (ending in an end marker) from the first, starting at `ea`.
#[inline(always)]
fn enter<B: Bus>(cpu: &mut Cpu, bus: &mut B, code: &BlockCache, ops: &[Insn], ea: u32) -> Out {
    debug_assert_eq!(ops.last().map(|i| i.handler), Some(END));
    match ops.first() {
        Some(i) => {
            debug_assert_eq!(ea & 0xFFF, i.off as u32);
            cpu.blk_page = ea & !0xFFF;
            handler::<B>(i)(cpu, bus, code, i, 0)
        }
        None => Out::new(Out::JUMP, ea),
    }
}

/// The handler with id `h`.
#[inline(always)]
fn handler_by_id<B: Bus>(h: u16) -> Handler<B> {
    Handlers::<B>::TABLE[h as usize & (HANDLERS - 1)]
}

/// Bind `ops` to bus type `B`'s handlers: each op's `run` becomes the address of
/// its handler, so a dispatch is one load from the op instead of an id load and a
/// dependent table load.
pub(crate) fn bind<B: Bus>(ops: &mut [Insn]) {
    for i in ops {
        i.run = (handler_by_id::<B>(i.handler) as *const ()).expose_provenance();
    }
}

/// The handler of op `i`.
#[inline(always)]
fn handler<B: Bus>(i: &Insn) -> Handler<B> {
    debug_assert_eq!(i.run, handler_by_id::<B>(i.handler) as *const () as usize);
    handler_at::<B>(i.run)
}

/// The handler at `run`, the `run` of an op. One of the executor's four unsafe
/// blocks.
#[inline(always)]
#[allow(unsafe_code)]
fn handler_at<B: Bus>(run: usize) -> Handler<B> {
    // SAFETY: every op a handler is given was bound to `B`'s handlers by `bind`: a
    // block's ops when `BlockCache::insert` added it, under the `claim` that
    // `Cpu::run::<B>` makes before running any (a cache claimed for another bus
    // type drops its blocks, and with them the jump cache's entries, which copy
    // their first op's `run`), and a cut copy's in `run_block`. So `run` is the
    // address of a `Handler<B>`.
    unsafe { std::mem::transmute::<*const (), Handler<B>>(std::ptr::with_exposed_provenance(run)) }
}

/// Goes on after op `done` with the next op of its block.
#[inline(always)]
fn dispatch<B: Bus>(cpu: &mut Cpu, bus: &mut B, code: &BlockCache, done: &Insn, acc: u32) -> Out {
    let i = next(done);
    handler::<B>(i)(cpu, bus, code, i, acc)
}

/// The end marker's handler: the run fell through its block's last op.
fn run_end<B: Bus>(cpu: &mut Cpu, _: &mut B, _: &BlockCache, end: &Insn, _: u32) -> Out {
    cpu.now_ns = cpu.blk_ns + end.idx as u64 * cpu.cfg.ns_per_insn;
    Out::new(Out::FALL, cpu.ea_of(end))
}

/// One op's handler. Each handler is specialised for its op and calls the next op's
/// handler itself (threaded code): one indirect branch per op, each at its own site,
/// and no central dispatch loop. Chains are bounded (a block, or `CHAIN_INSNS`
/// instructions' time through branches), so the stack depth is too, even where the
/// compiler does not turn the calls into jumps.
///
/// With `FAST`, loads and stores try only the TLB-hit path, and a miss runs the op
/// again in the `!FAST` copy (every access on the full path: TLB refill, MMIO, page
/// crossing, stores into code), so the common path saves few registers. Never
/// inlined, so the slow copy stays out of the fast one.
///
/// The slow copy never forwards: the fast one stored the value already.
#[inline(never)]
fn run_op<B: Bus, const OP: u8, const FAST: bool, const NZ: bool, const FWD: u8>(
    cpu: &mut Cpu,
    bus: &mut B,
    code: &BlockCache,
    i: &Insn,
    acc: u32,
) -> Out {
    if !FAST {
        // The slow path may reach devices, which see the time of this op.
        cpu.sync_time(i);
    }
    match exec_op::<B, OP, FAST, NZ, FWD>(cpu, bus, code, i, acc) {
        Step::Next(acc) => dispatch::<B>(cpu, bus, code, i, acc),
        Step::Exit(out) => out,
        Step::Slow if FAST => run_op::<B, OP, false, NZ, { fwd::NONE }>(cpu, bus, code, i, acc),
        // Only the fast path asks for the slow one.
        Step::Slow => Out::new(Out::FALL, cpu.ea_of(i)),
    }
}

/// The first op of a fused handler: the value it passes to the second when
/// control falls through to it, or how the run ended (a slow-path retry included).
#[inline(always)]
fn run_first<B: Bus, const FIRST: u8, const FWD: u8>(
    cpu: &mut Cpu,
    bus: &mut B,
    code: &BlockCache,
    i: &Insn,
    acc: u32,
) -> Result<u32, Out> {
    match exec_op::<B, FIRST, true, true, FWD>(cpu, bus, code, i, acc) {
        Step::Next(acc) => Ok(acc),
        Step::Exit(out) => Err(out),
        Step::Slow => Err(run_op::<B, FIRST, false, true, { fwd::NONE }>(
            cpu, bus, code, i, acc,
        )),
    }
}

/// Two adjacent ops under one handler: one dispatch fewer. Only `fuse` gives an op
/// this handler, and only when the second op follows it in the run (a run cut
/// short undoes it: see `Cpu::run_block`). `F1` and `F2` are the operands each op
/// takes the passed value in (see `fwd`): the first op's result reaches the
/// second in a host register.
fn run_pair<B: Bus, const FIRST: u8, const SECOND: u8, const F1: u8, const F2: u8>(
    cpu: &mut Cpu,
    bus: &mut B,
    code: &BlockCache,
    i: &Insn,
    acc: u32,
) -> Out {
    let acc = match run_first::<B, FIRST, F1>(cpu, bus, code, i, acc) {
        Ok(acc) => acc,
        Err(out) => return out,
    };
    let j = next(i);
    match exec_op::<B, SECOND, true, true, F2>(cpu, bus, code, j, acc) {
        Step::Next(acc) => dispatch::<B>(cpu, bus, code, j, acc),
        Step::Exit(out) => out,
        Step::Slow => run_op::<B, SECOND, false, true, { fwd::NONE }>(cpu, bus, code, j, acc),
    }
}

/// A compare (or `andi.`) and a conditional branch on the CR field it just set,
/// under one handler: the branch tests the value the compare computed instead of
/// reloading the field, and `fuse` has already checked its BO (no CTR, no link,
/// relative target) and put the condition in the branch's spare fields (see
/// `precompute_condition`).
fn run_compare_branch<B: Bus, const FIRST: u8, const F1: u8>(
    cpu: &mut Cpu,
    bus: &mut B,
    code: &BlockCache,
    i: &Insn,
    acc: u32,
) -> Out {
    let acc = match run_first::<B, FIRST, F1>(cpu, bus, code, i, acc) {
        Ok(acc) => acc,
        Err(out) => return out,
    };
    // The same index expression as the compare's store, so the value is forwarded.
    let field = cr_field_written(Op::ALL[FIRST as usize], i);
    let c = cpu.crf[field];
    let j = next(i);
    debug_assert!(j.op == Op::Bc && j.a as usize >> 2 == field);
    debug_assert_eq!(
        (c ^ j.b as u8) & j.c as u8 != 0,
        (c >> (3 - (j.a as u8 & 3))) & 1 == (j.d as u8 >> 3) & 1
    );
    let taken = (c ^ j.b as u8) & j.c as u8 != 0;
    if j.f & F_BACK != 0 {
        // The block goes on at the target (see `translate_block`).
        return if taken {
            dispatch::<B>(cpu, bus, code, j, acc)
        } else {
            cpu.sync_time(j);
            cpu.chain(bus, code, cpu.ea_of(j).wrapping_add(4))
        };
    }
    if taken {
        cpu.sync_time(j);
        cpu.chain(bus, code, cpu.ea_of(j).wrapping_add(j.imm))
    } else {
        dispatch::<B>(cpu, bus, code, j, acc)
    }
}

/// The CR field a `COMPARE_BRANCH` first op writes, as its handler indexes it.
#[inline(always)]
fn cr_field_written(op: Op, i: &Insn) -> usize {
    match op {
        Op::Cmpi | Op::Cmpli => (i.d as usize >> 2) & 7,
        Op::Cmp | Op::Cmpl => i.d as usize & 7,
        // `andi.`, a record form: cr0.
        _ => 0,
    }
}

/// Whether `b` is a conditional branch `run_compare_branch` may take over: it tests
/// CR field `field` only (BO neither decrements CTR nor branches always), with a
/// relative target and no link.
fn branches_on_field(b: &Insn, field: usize) -> bool {
    const BO_NO_CTR: u8 = 0x04;
    const BO_ALWAYS: u8 = 0x10;
    b.op == Op::Bc
        && b.d as u8 & (BO_NO_CTR | BO_ALWAYS) == BO_NO_CTR
        && b.f & (F_AA | F_LK) == 0
        && b.a as usize >> 2 == field
}

struct Handlers<B>(std::marker::PhantomData<B>);

/// The adjacent pairs that get one handler, with the operands each op takes the
/// passed value in (see `fwd`; `A`, `B`, `D` or `N` for none): the most frequent in
/// OpenBIOS's boot (constant loads, loads and stores off a `lis` base, compare and
/// branch, `mtctr; bctr`, a jump within the page), then Linux's (compare and
/// branch in loops, byte loads); each in the forms that occur. A pair's first op
/// is never the last of its block; when it leaves the block (a branch taken), the
/// second does not run.
macro_rules! fused_pairs {
    ($(($x:ident, $y:ident, $f1:ident, $f2:ident))*) => {
        const FUSED: &[(Op, Op, u8, u8)] = &[$((Op::$x, Op::$y, fwd::$f1, fwd::$f2),)*];

        impl<B: Bus> Handlers<B> {
            const PAIRS: &'static [Handler<B>] = &[$(run_pair::<
                B,
                { Op::$x as u8 },
                { Op::$y as u8 },
                { fwd::$f1 },
                { fwd::$f2 },
            >,)*];
        }
    };
}

/// Ops that set a CR field and get a handler with the conditional branch on it that
/// follows (see `run_compare_branch`), with the operand the compare takes the
/// passed value in.
macro_rules! compare_branches {
    ($(($x:ident, $f:ident))*) => {
        const COMPARE_BRANCH: &[(Op, u8)] = &[$((Op::$x, fwd::$f),)*];

        impl<B: Bus> Handlers<B> {
            const CMP_BRANCH: &'static [Handler<B>] =
                &[$(run_compare_branch::<B, { Op::$x as u8 }, { fwd::$f }>,)*];
        }
    };
}

/// Single ops that get a handler taking the passed value in an operand.
macro_rules! forwarded {
    ($(($x:ident, $f:ident))*) => {
        const FORWARDED: &[(Op, u8)] = &[$((Op::$x, fwd::$f),)*];

        impl<B: Bus> Handlers<B> {
            const FORWARDING: &'static [Handler<B>] =
                &[$(run_op::<B, { Op::$x as u8 }, true, true, { fwd::$f }>,)*];
        }
    };
}

compare_branches! {
    (Cmpi, N) (Cmpli, N) (Cmp, N) (Cmpl, N) (AndiRc, N)
    (Cmpi, A) (Cmpli, A) (Cmp, A) (Cmp, B) (Cmpl, A) (Cmpl, B) (AndiRc, D)
}

forwarded! {
    (Addi, A) (Addis, A) (Lwz, A) (Lbz, A) (Lhz, A) (Lha, A)
    (Stw, A) (Stw, D) (Stb, A) (Stb, D) (Sth, A) (Sth, D)
    (LwzX, A) (LwzX, B) (LbzX, A) (LbzX, B) (LhzX, A) (LhzX, B)
    (StwX, A) (StwX, B) (StwX, D) (StbX, A) (StbX, B) (StbX, D)
    (Rlwinm, D) (Ori, D) (AndiRc, D) (Mtlr, D) (Mtctr, D)
    (Cmpi, A) (Cmpli, A) (Cmp, A) (Cmp, B) (Cmpl, A) (Cmpl, B)
    (Add, A) (Add, B) (Subf, A) (Subf, B) (Neg, A) (Mullw, A) (Mullw, B)
    (Or, A) (Or, B) (And, A) (And, B) (Xor, A) (Xor, B) (Andc, A)
    (Slw, A) (Srw, A) (Srawi, A) (Extsb, A) (Extsh, A) (Cntlzw, A)
}

fused_pairs! {
    (Lis, Lwz, N, N)
    (Lis, Lwz, N, A)
    (Lwz, Addi, N, N)
    (Lwz, Addi, N, A)
    (Lwz, Addi, A, A)
    (Stw, Lis, N, N)
    (Stw, Lis, D, N)
    (Addi, Stw, N, N)
    (Addi, Stw, N, D)
    (Addi, Stw, A, D)
    (Addi, Stw, N, A)
    (Lis, Addi, N, N)
    (Lis, Addi, N, A)
    (Lwz, Lwz, N, N)
    (Lwz, Lwz, N, A)
    (Lwz, Lwz, A, A)
    (Rlwinm, LwzX, N, N)
    (Rlwinm, LwzX, N, B)
    (Rlwinm, LwzX, D, B)
    (Lwz, Rlwinm, N, N)
    (Lwz, Rlwinm, N, D)
    (Lwz, Rlwinm, A, D)
    (Addi, Lwz, N, N)
    (Addi, Lwz, N, A)
    (Lwz, Cmp, N, N)
    (Lwz, Cmp, N, A)
    (LwzX, Mtctr, N, N)
    (LwzX, Mtctr, N, D)
    (LwzX, Mtctr, B, D)
    (Lwz, Cmpi, N, N)
    (Lwz, Cmpi, N, A)
    (Bc, Goto, N, N)
    (Mtctr, Bctr, N, N)
    (Mtctr, Bctr, D, N)
    (Addi, Rlwinm, N, N)
    (Rlwinm, Addi, N, N)
    (Addi, LwzX, N, N)
    (Addi, LwzX, N, A)
    (Rlwinm, Stw, N, N)
    (StwX, Blr, N, N)
    (StwX, Ret, N, N)
    (Lis, Rlwinm, N, N)
    (Addi, StwX, N, N)
    (Addi, StwX, N, A)
    (LwzX, Blr, N, N)
    (LwzX, Ret, N, N)
    (Stw, Mflr, N, N)
    (Mflr, Stw, N, N)
    (Mflr, Stw, N, D)
    (Stw, Goto, N, N)
    (Lwz, Stw, N, N)
    (Lwz, Stw, N, D)
    (Stw, Addi, N, N)
    (Addi, B, N, N)
    (Addi, Goto, N, N)
    (Addi, Mtlr, N, N)
    (Addi, Mtctr, N, N)
    (Lwz, Mtlr, N, N)
    (Lwz, Mtctr, N, N)
    (Or, Blr, N, N)
    (Mtlr, Or, N, N)
    (Mtctr, Or, N, N)
    (Or, Goto, N, N)
    (Mtlr, Goto, N, N)
    (Mtctr, Goto, N, N)
    (Mtlr, Blr, N, N)
    (StbX, Addi, N, N)
    (Bc, Cmpi, N, N)
    (Addi, Bc, N, N)
    (Cmpi, Addi, N, N)
    (Lbz, Cmpi, N, N)
    (Lbz, Cmpi, N, A)
    (LbzX, AndiRc, N, N)
    (LbzX, AndiRc, N, D)
    (Goto, Lis, N, N)
    (Bc, Addi, N, N)
    (Addi, Cmpli, N, N)
    (Addi, Cmpli, N, A)
    (Lwz, Xor, N, N)
    (Xor, Lwz, N, N)
    (Bc, Lbz, N, N)
    (Stw, Stw, N, N)
    (Bc, LbzX, N, N)
    (Rlwinm, Rlwinm, N, N)
}

/// The loads and stores that get a second handler for rA != 0 and no update, which
/// adds the register without testing for rA = 0 (rA = 0 reads as 0 in an address)
/// and writes no rA back. Pairs and forwarding handlers make the same assumptions,
/// so `fuse` picks those only for such ops (`fusable`); update forms (always with
/// rA != 0) run alone, in the copy that tests the flag.
macro_rules! nonzero_base {
    ($($x:ident)*) => {
        const NONZERO_BASE: &[Op] = &[$(Op::$x,)*];

        impl<B: Bus> Handlers<B> {
            const NONZERO: &'static [Handler<B>] =
                &[$(run_op::<B, { Op::$x as u8 }, true, true, { fwd::NONE }>,)*];
        }
    };
}

nonzero_base! {
    Lwz Lbz Lhz Lha Stw Stb Sth LwzX LbzX LhzX LhaX StwX StbX SthX
    Lfs Lfd Stfs Stfd LfsX LfdX StfsX StfdX
}

/// Where each kind of handler id starts (see `Handlers::TABLE`).
const NONZERO_IDS: usize = Op::ALL.len();
const FORWARDED_BASE: usize = NONZERO_IDS + NONZERO_BASE.len();
const PAIRS_BASE: usize = FORWARDED_BASE + FORWARDED.len();
const COMPARE_BRANCH_BASE: usize = PAIRS_BASE + FUSED.len();
const _: () = assert!(COMPARE_BRANCH_BASE + COMPARE_BRANCH.len() <= END as usize);

/// Whether op `op` computes an address from rA, where rA = 0 reads as 0.
const fn reads_ra_or_zero(op: Op) -> bool {
    may_end_block(op) || matches!(op, Op::Icbi | Op::DcbNop)
}

/// Whether `i` is a load or store with update.
fn updates(i: &Insn) -> bool {
    reads_ra_or_zero(i.op) && i.f & F_UPDATE != 0
}

/// Whether `i` may run in a handler that assumes rA != 0 and no update (see
/// `nonzero_base`).
fn fusable(i: &Insn) -> bool {
    (i.a != 0 && !updates(i)) || !reads_ra_or_zero(i.op)
}

/// The handler of `i` on its own (unfused), taking the passed value in a field
/// of `mask` (see `fields_holding`) where it has a handler for that.
fn single_handler(i: &Insn, mask: u8) -> u16 {
    let forwarding = FORWARDED
        .iter()
        .position(|&(op, f)| op == i.op && mask & (1 << f) != 0);
    match (forwarding, NONZERO_BASE.iter().position(|&op| op == i.op)) {
        (Some(k), _) if fusable(i) => (FORWARDED_BASE + k) as u16,
        (_, Some(k)) if fusable(i) => (NONZERO_IDS + k) as u16,
        _ => i.op as u16,
    }
}

macro_rules! handler_table {
    ($($name:ident)*) => {
        impl<B: Bus> Handlers<B> {
            const SINGLE: &'static [Handler<B>] =
                &[$(run_op::<B, { Op::$name as u8 }, true, false, { fwd::NONE }>,)*];
        }
    };
}
crate::decode::for_each_op!(handler_table);

impl<B: Bus> Handlers<B> {
    /// Handler ids: below `Op::ALL.len()` single ops, then the `NONZERO_BASE` ops'
    /// copies for rA != 0, then `FORWARDED` ops, then `FUSED` pairs, then
    /// `COMPARE_BRANCH` pairs, and `END` last; padded to `HANDLERS` entries.
    const TABLE: &'static [Handler<B>; HANDLERS] = &Self::table();

    const fn table() -> [Handler<B>; HANDLERS] {
        let mut t: [Handler<B>; HANDLERS] =
            [run_op::<B, { Op::Illegal as u8 }, true, false, { fwd::NONE }>; HANDLERS];
        let parts = [
            (0, Self::SINGLE),
            (NONZERO_IDS, Self::NONZERO),
            (FORWARDED_BASE, Self::FORWARDING),
            (PAIRS_BASE, Self::PAIRS),
            (COMPARE_BRANCH_BASE, Self::CMP_BRANCH),
        ];
        let mut p = 0;
        while p < parts.len() {
            let (base, handlers) = parts[p];
            let mut k = 0;
            while k < handlers.len() {
                t[base + k] = handlers[k];
                k += 1;
            }
            p += 1;
        }
        t[END as usize] = run_end::<B>;
        t
    }
}

/// Whether handler `h` is one of the `COMPARE_BRANCH` pairs'.
#[cfg(test)]
pub(crate) fn is_compare_branch(h: u16) -> bool {
    (COMPARE_BRANCH_BASE..COMPARE_BRANCH_BASE + COMPARE_BRANCH.len()).contains(&(h as usize))
}

/// Whether handler `h` is a pair's that hands the first op's result to the second
/// in a host register.
#[cfg(test)]
pub(crate) fn forwards_within_pair(h: u16) -> bool {
    (PAIRS_BASE..COMPARE_BRANCH_BASE).contains(&(h as usize))
        && FUSED[h as usize - PAIRS_BASE].3 != fwd::NONE
}

/// Which of its (one or two) ops handler `h` passes a value into: the first, the
/// second.
#[cfg(test)]
pub(crate) fn forwards(h: u16) -> (bool, bool) {
    let h = h as usize;
    if (FORWARDED_BASE..PAIRS_BASE).contains(&h) {
        (true, false)
    } else if (PAIRS_BASE..COMPARE_BRANCH_BASE).contains(&h) {
        let (_, _, f1, f2) = FUSED[h - PAIRS_BASE];
        (f1 != fwd::NONE, f2 != fwd::NONE)
    } else if (COMPARE_BRANCH_BASE..COMPARE_BRANCH_BASE + COMPARE_BRANCH.len()).contains(&h) {
        (
            COMPARE_BRANCH[h - COMPARE_BRANCH_BASE].1 != fwd::NONE,
            false,
        )
    } else {
        (false, false)
    }
}

/// The number of operands a handler with forwarding fields `fs` takes the passed
/// value in, if every one of them may (see `may_forward`).
fn forwarding_score(fs: &[(u8, u8)]) -> Option<u8> {
    fs.iter()
        .all(|&(f, mask)| may_forward(f, mask))
        .then(|| fs.iter().filter(|&&(f, _)| f != fwd::NONE).count() as u8)
}

/// Picks each op's handler for a freshly translated block, greedily from the
/// start: a compare and the branch on it, else a pair from `FUSED`, else the op
/// alone; each forwarding the value the handler before it passes where it can.
/// A run starts only at a block's first op, which is passed nothing.
pub(crate) fn fuse(ops: &mut [Insn]) {
    let mut held: Option<U5> = None;
    let mut k = 0;
    while k < ops.len() {
        let m1 = fields_holding(&ops[k], held);
        let after = held_after(&ops[k], held);
        ops[k].handler = single_handler(&ops[k], m1);
        // A compare pairs better with the branch on it than with the op before it:
        // the branch then tests the value just computed.
        let compare_follows = ops
            .get(k + 1..k + 3)
            .is_some_and(|w| fusable(&w[0]) && compare_branch_pair(&w[0], &w[1]));
        if let Some(next) = ops
            .get(k + 1)
            .filter(|n| !compare_follows && fusable(n) && fusable(&ops[k]))
        {
            let (first, second) = (ops[k].op, next.op);
            let m2 = fields_holding(next, after);
            let compare_branch = if compare_branch_pair(&ops[k], next) {
                most_forwarding(
                    COMPARE_BRANCH
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.0 == first)
                        .map(|(p, &(_, f))| {
                            (COMPARE_BRANCH_BASE + p, forwarding_score(&[(f, m1)]))
                        }),
                )
            } else {
                None
            };
            let pair = || {
                most_forwarding(
                    FUSED
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.0 == first && c.1 == second)
                        .map(|(p, &(_, _, f1, f2))| {
                            (PAIRS_BASE + p, forwarding_score(&[(f1, m1), (f2, m2)]))
                        }),
                )
            };
            if compare_branch.is_some() {
                precompute_condition(&mut ops[k + 1]);
            }
            if let Some(h) = compare_branch.or_else(pair) {
                ops[k].handler = h;
                ops[k + 1].handler = single_handler(&ops[k + 1], m2);
                held = held_after(&ops[k + 1], after);
                k += 2;
                continue;
            }
        }
        held = after;
        k += 1;
    }
}

/// Puts the condition of branch `b`, which tests one CR bit (BI), in fields a
/// conditional branch's ops do not read otherwise (they hold part of its
/// displacement, which `imm` has whole): `c` the bit's mask within its field, `b`
/// 15 when the branch is taken on the bit being clear, else 0. The branch is
/// taken when `(field ^ b) & c != 0`.
fn precompute_condition(b: &mut Insn) {
    let bit = 3 - (b.a as u32 & 3);
    let on_set = (b.d as u32 >> 3) & 1 != 0;
    b.c = U5::new(1 << bit);
    b.b = U5::new(if on_set { 0 } else { 15 });
}

/// Whether `first` and `next` can run under one `run_compare_branch` handler.
fn compare_branch_pair(first: &Insn, next: &Insn) -> bool {
    COMPARE_BRANCH.iter().any(|c| c.0 == first.op)
        && branches_on_field(next, cr_field_written(first.op, first))
}

/// Of candidate handler ids and their `forwarding_score`s, the one that forwards
/// into the most operands (the first listed on a tie).
fn most_forwarding(candidates: impl Iterator<Item = (usize, Option<u8>)>) -> Option<u16> {
    candidates
        .filter_map(|(h, score)| Some((score?, h)))
        .max_by_key(|&(score, h)| (score, std::cmp::Reverse(h)))
        .map(|(_, h)| h as u16)
}

/// `-d in_asm`: a freshly translated block, as QEMU prints it, at the effective
/// addresses it runs at (a `Goto`'s target follows it).
#[cold]
fn log_block<B: Bus>(bus: &mut B, ea: u32, pa: u32, insns: &[Insn], now_ns: u64) {
    use std::fmt::Write;
    let mut text = String::from("IN:\n");
    let mut addr = pa;
    for i in insns {
        let word = fetch_word(bus, addr, now_ns);
        let va = (ea & !0xFFF) | (addr & 0xFFF);
        let _ = writeln!(
            text,
            "0x{va:08x}:  {}",
            crate::disasm::disassemble(word, va)
        );
        addr = next_addr(i, addr);
    }
    tracing::debug!(target: "in_asm", "{text}");
}

/// How long (in instructions' time) one run of handlers may chain through
/// branches before returning to `Cpu::run`.
const CHAIN_INSNS: u64 = 2048;

/// Effective address -> block, in front of the fetch TLB and the block map (QEMU's
/// `tb_jmp_cache`). An entry is valid while neither the fetch translations nor the
/// block set changed since it was made: both carry a generation count, so a flush
/// of either empties this cache in O(1).
#[derive(Debug)]
pub(crate) struct JumpCache {
    entries: [JumpEntry; JumpCache::SIZE],
}

/// The ops are held by address, not just slot, so a chained branch reaches the
/// first op without going through the block slab: one dependent load and two
/// checks fewer on every block transition (Linux's boot -4%). The first op's
/// handler address is copied in too, so the jump to it waits on this entry alone.
/// Addresses rather than pointers keep the CPU `Send`.
#[derive(Debug, Clone, Copy)]
struct JumpEntry {
    key: u64,
    ops: usize,
    run: usize,
    ea: u32,
    slot: u32,
}

/// The generations a jump cache entry is valid for, in one word. Both only ever
/// count up (64 bits never wrap), so their sum changes whenever either does and
/// never comes back to an old value.
#[inline(always)]
pub(crate) fn jump_key(tlb_generation: u64, code_generation: u64) -> u64 {
    tlb_generation + code_generation
}

impl JumpCache {
    /// QEMU's size too. Indexed by word, entries 4 KiB apart collide: at 1024
    /// OpenBIOS's boot to its prompt missed 381 k times, at 4096 14 k.
    const SIZE: usize = 4096;

    pub(crate) fn new() -> JumpCache {
        let empty = JumpEntry {
            key: u64::MAX,
            ops: 0,
            run: 0,
            ea: u32::MAX,
            slot: 0,
        };
        JumpCache {
            entries: [empty; Self::SIZE],
        }
    }

    #[inline(always)]
    fn index(ea: u32) -> usize {
        (ea >> 2) as usize & (Self::SIZE - 1)
    }

    #[inline(always)]
    fn slot(&self, ea: u32, key: u64) -> Option<u32> {
        let e = &self.entries[Self::index(ea)];
        (e.ea == ea && e.key == key).then_some(e.slot)
    }

    /// The ops of the block at `ea`, borrowed from `code`, and the `run` of the
    /// first; `tlb` is the CPU's, whose generation, like `code`'s, only grows.
    #[inline(always)]
    #[allow(unsafe_code)]
    fn lookup<'c>(
        &self,
        ea: u32,
        tlb: &SoftTlb,
        code: &'c BlockCache,
    ) -> Option<(&'c Insn, usize)> {
        let e = &self.entries[Self::index(ea)];
        if e.ea == ea && e.key == jump_key(tlb.generation(), code.generation()) {
            // SAFETY: the entry was made from `code.ops(e.slot)` at the block
            // generation it still has (the key matches only then, see `jump_key`),
            // and no block's ops are dropped or reused without a new generation
            // (`BlockCache::invalidate_page`, `clear`; the slab may move a `Block`
            // but not its boxed ops), so the address is still that of those ops,
            // which `code` holds for 'c.
            Some((
                unsafe { &*std::ptr::with_exposed_provenance::<Insn>(e.ops) },
                e.run,
            ))
        } else {
            None
        }
    }

    fn set(&mut self, ea: u32, slot: u32, key: u64, code: &BlockCache) {
        let ops = code.ops(slot);
        self.entries[Self::index(ea)] = JumpEntry {
            key,
            ops: ops.as_ptr().expose_provenance(),
            run: ops[0].run,
            ea,
            slot,
        };
    }
}

impl Cpu {
    /// Run until virtual time reaches `until_ns`, the CPU idles, the bus asks to stop,
    /// or (user mode) a syscall.
    pub fn run<B: Bus>(&mut self, bus: &mut B, until_ns: u64) -> Exit {
        let start_ns = self.now_ns;
        // The translated code is read-only while ops run, so handlers can hold its
        // ops while they mutate the CPU; invalidations queue in RAM meanwhile.
        let mut code = std::mem::replace(&mut self.blocks, BlockCache::placeholder());
        code.claim(std::any::TypeId::of::<B>(), bind::<B>);
        // TLB hits index RAM unchecked: see `tlb_bytes`.
        self.tlb.bind(bus.ram().bytes_mut().len());
        let exit = self.run_blocks(bus, &mut code, until_ns);
        self.blocks = code;
        self.icount += (self.now_ns - start_ns) / self.cfg.ns_per_insn.max(1);
        exit
    }

    fn run_blocks<B: Bus>(&mut self, bus: &mut B, code: &mut BlockCache, until_ns: u64) -> Exit {
        if self.poll_board(bus) {
            return Exit::Stop;
        }
        let ns = self.cfg.ns_per_insn.max(1);
        let whole_block = ns.saturating_mul(MAX_BLOCK_INSNS as u64);
        loop {
            if self.tb.poll_dec(self.now_ns) {
                self.pending_interrupts |= 1 << interrupt::DECR;
            }
            if self.pending_interrupts != 0 {
                if let Some(e) = self.next_interrupt() {
                    if self.cfg.user_mode {
                        self.pending_interrupts = 0;
                    } else {
                        let nip = self.nip;
                        self.deliver(e, nip);
                    }
                }
            }
            if self.msr & msr::POW != 0 && self.hid0 & HID0_POWER_MODES != 0 {
                return Exit::Idle;
            }
            if self.now_ns >= until_ns {
                return Exit::Deadline;
            }
            let limit = until_ns.min(self.tb.dec_deadline_ns());
            let remaining = limit.saturating_sub(self.now_ns);
            // No block is longer than MAX_BLOCK_INSNS, so the exact budget (a 64-bit
            // division) only matters within that many instructions of the deadline.
            let traced = self.traced();
            let budget = if traced {
                1
            } else if remaining >= whole_block {
                MAX_BLOCK_INSNS as u64
            } else {
                remaining.div_ceil(ns).max(1)
            };
            // A chained block must fit whole before the limit; nothing else can make
            // an interrupt pending without ending the chain.
            self.chain_until = if traced {
                0
            } else {
                limit
                    .checked_sub(whole_block)
                    .map_or(0, |t| t + 1)
                    .min(self.now_ns.saturating_add(ns.saturating_mul(CHAIN_INSNS)))
            };
            match self.run_block(bus, code, budget) {
                Some(exit) => return exit,
                None => {
                    if self.end_block {
                        self.end_block = false;
                        if self.poll_board(bus) {
                            return Exit::Stop;
                        }
                    }
                }
            }
        }
    }

    /// Between blocks (on entry, and after a device access ended one): the newest
    /// pin levels, from the board or a device access, and whether the board wants
    /// to stop.
    fn poll_board<B: Bus>(&mut self, bus: &mut B) -> bool {
        let pending = self.pins_pending.take();
        if let Some(levels) = bus.take_pins().or(pending) {
            self.set_pins(levels);
        }
        std::mem::take(&mut self.stop_requested) || bus.stop_requested()
    }

    /// A device access ends the block only when it changed something the run
    /// between blocks must act on: the input pins (an interrupt to take), the
    /// board's plan (it asks to stop), or translated code (DMA into RAM). A guest
    /// polling a status register otherwise runs on, chained, like any loop.
    fn after_device_access<B: Bus>(&mut self, bus: &mut B) {
        if let Some(levels) = bus.take_pins() {
            if levels != self.irq_input_state {
                self.pins_pending = Some(levels);
                self.end_block = true;
            } else {
                self.pins_pending = None;
            }
        }
        if bus.stop_requested() {
            self.stop_requested = true;
            self.end_block = true;
        }
        if bus.ram().has_invalidations() {
            self.end_block = true;
        }
    }

    /// Find (or translate) the block at NIP and run at most `budget` instructions
    /// of it, then whatever blocks its branches chain to.
    fn run_block<B: Bus>(
        &mut self,
        bus: &mut B,
        code: &mut BlockCache,
        budget: u64,
    ) -> Option<Exit> {
        if bus.ram().has_invalidations() {
            self.drain_invalidations(bus, code);
        }
        let start = self.nip;
        let slot = match self.fetch_block(bus, code, start) {
            Ok(s) => s,
            Err(e) => return self.raise(e, start),
        };
        let insns = code.ops(slot);
        let len = insns.len() - 1;
        let trace = self.trace_after(insns[0].op);
        self.blk_ns = self.now_ns;
        let out = if len as u64 <= budget {
            enter::<B>(self, bus, code, insns, start)
        } else {
            // Within a block of the deadline: run a copy cut to the budget.
            let n = budget as usize;
            let mut cut = [end_marker(n, insns[n].off); MAX_BLOCK_INSNS + 1];
            cut[..n].copy_from_slice(&insns[..n]);
            // Its pair partner may be cut off.
            cut[n - 1].handler = single_handler(&cut[n - 1], 0);
            bind::<B>(&mut cut[..=n]);
            enter::<B>(self, bus, code, &cut[..=n], start)
        };
        self.nip = out.ea();
        match out.kind() {
            Out::SYSCALL => Some(Exit::Syscall),
            Out::EXCEPTION => {
                let e = self.exception.take().unwrap_or_else(illegal);
                self.raise(e, out.ea())
            }
            _ => {
                if trace {
                    // The instruction completed: SRR0 is the next one to run.
                    let next = self.nip;
                    self.deliver(Exception::Trace, next);
                }
                None
            }
        }
    }

    /// Whether MSR[SE] or MSR[BE] asks for trace exceptions: then blocks run one
    /// instruction at a time, unchained.
    #[inline(always)]
    fn traced(&self) -> bool {
        self.msr & (msr::SE | msr::BE) != 0 && !self.cfg.user_mode
    }

    /// Whether `op`, run now and completing, raises a trace exception after it:
    /// under MSR[SE] every instruction but `rfi` (which is how a handler returns
    /// into the traced code) and those that raise an exception of their own;
    /// under MSR[BE] every branch, taken or not.
    fn trace_after(&self, op: Op) -> bool {
        if !self.traced() || op == Op::Rfi {
            return false;
        }
        let branch = chains(op) || op == Op::Goto;
        self.msr & msr::SE != 0 || branch
    }

    /// Continue straight into the block at `target` when it is translated and in
    /// the jump cache, and a whole block fits before the next event.
    #[inline(always)]
    fn chain<B: Bus>(&mut self, bus: &mut B, code: &BlockCache, target: u32) -> Out {
        if self.now_ns < self.chain_until {
            if let Some((i, run)) = self.jump_cache.lookup(target, &self.tlb, code) {
                self.blk_ns = self.now_ns;
                self.blk_page = target & !0xFFF;
                debug_assert_eq!(run, i.run);
                return handler_at::<B>(run)(self, bus, code, i, 0);
            }
        }
        Out::new(Out::JUMP, target)
    }

    /// The address of op `i` of the running block.
    #[inline(always)]
    fn ea_of(&self, i: &Insn) -> u32 {
        self.blk_page.wrapping_add(i.off as u32)
    }

    /// Bring the clock to just after op `i` of the running block. Ops do not tick
    /// the clock one by one: it is set from the op's position when the run leaves
    /// the block and before anything that reads the time (timebase, decrementer,
    /// device accesses).
    #[inline(always)]
    fn sync_time(&mut self, i: &Insn) {
        let done = i.idx as u64 + 1;
        self.now_ns = self.blk_ns + done * self.cfg.ns_per_insn;
    }

    /// Take exception `e` raised by the instruction at `ea`.
    fn raise(&mut self, e: Exception, ea: u32) -> Option<Exit> {
        if self.cfg.user_mode {
            self.nip = ea;
            self.user_fault = Some(e);
            return Some(Exit::Stop);
        }
        let srr0 = if e == Exception::Syscall {
            ea.wrapping_add(4)
        } else {
            ea
        };
        self.deliver(e, srr0);
        None
    }

    fn drain_invalidations<B: Bus>(&mut self, bus: &mut B, code: &mut BlockCache) {
        let mut pages = Vec::new();
        if bus.ram().take_invalidations(&mut pages) {
            code.clear();
        }
        for p in pages {
            code.invalidate_page(p);
        }
    }

    fn fetch_block<B: Bus>(&mut self, bus: &mut B, code: &mut BlockCache, ea: u32) -> R<u32> {
        let key = jump_key(self.tlb.generation(), code.generation());
        if let Some(slot) = self.jump_cache.slot(ea, key) {
            return Ok(slot);
        }
        let slot = self.fetch_block_slow(bus, code, ea)?;
        let key = jump_key(self.tlb.generation(), code.generation());
        self.jump_cache.set(ea, slot, key, code);
        Ok(slot)
    }

    fn fetch_block_slow<B: Bus>(&mut self, bus: &mut B, code: &mut BlockCache, ea: u32) -> R<u32> {
        let pa = match SoftTlb::lookup(&self.tlb.fetch, ea) {
            Some(pa) => pa,
            None => {
                let pa = if self.msr & msr::IR == 0 {
                    ea
                } else {
                    let pr = self.msr & msr::PR != 0;
                    match mmu::translate(&self.mmu, ea, Access::Fetch, pr, &mut PteRam(bus.ram())) {
                        Ok(t) => t.pa,
                        Err(Fault::Isi { srr1 }) => return Err(Exception::Isi { srr1 }),
                        Err(Fault::Dsi { .. }) => {
                            return Err(Exception::Isi {
                                srr1: mmu::cause::NOT_FOUND,
                            })
                        }
                    }
                };
                SoftTlb::insert(&mut self.tlb.fetch, ea, pa);
                pa
            }
        };
        if let Some(slot) = code.lookup(pa) {
            return Ok(slot);
        }
        let mut insns = translate_block(bus, pa, self.now_ns);
        if tracing::enabled!(target: "in_asm", tracing::Level::DEBUG) {
            log_block(bus, ea, pa, &insns, self.now_ns);
        }
        fuse(&mut insns);
        let ram = bus.ram();
        if ram.contains(pa, 4) {
            let page = pa >> 12;
            if !ram.is_code(page) {
                ram.set_code(page);
                self.tlb.drop_store_to_page(pa & !0xFFF);
            }
        }
        Ok(code.insert(pa, insns))
    }

    // ---- memory -----------------------------------------------------------------

    /// Translate a data address (slow path), filling the TLB for RAM pages.
    fn translate_data<B: Bus>(&mut self, bus: &mut B, ea: u32, access: Access) -> R<u32> {
        let (pa, writable) = if self.msr & msr::DR == 0 {
            (ea, true)
        } else {
            let pr = self.msr & msr::PR != 0;
            match mmu::translate(&self.mmu, ea, access, pr, &mut PteRam(bus.ram())) {
                Ok(t) => (t.pa, t.writable),
                Err(Fault::Dsi { dsisr }) => {
                    let st = if access == Access::Store {
                        DSISR_STORE
                    } else {
                        0
                    };
                    return Err(Exception::Dsi {
                        dar: ea,
                        dsisr: dsisr | st,
                    });
                }
                Err(Fault::Isi { .. }) => {
                    return Err(Exception::Dsi {
                        dar: ea,
                        dsisr: mmu::cause::NOT_FOUND,
                    })
                }
            }
        };
        let ram = bus.ram();
        if ram.contains(pa & !0xFFF, 0x1000) {
            match access {
                Access::Load => SoftTlb::insert(&mut self.tlb.load, ea, pa),
                Access::Store => {
                    if writable && !ram.is_code(pa >> 12) {
                        SoftTlb::insert(&mut self.tlb.store, ea, pa)
                    }
                }
                Access::Fetch => {}
            }
        } else if access == Access::Load {
            // Firmware copies itself out of ROM a byte at a time (1.1 M loads in
            // OpenBIOS's boot), so ROM loads hit the TLB too.
            if let Some(off) = ram.rom_page_offset(pa & !0xFFF) {
                SoftTlb::insert(&mut self.tlb.load, ea, off | (pa & 0xFFF));
            }
        }
        Ok(pa)
    }

    /// A load that hits the TLB and RAM; None otherwise.
    #[inline(always)]
    fn load_hit<B: Bus, const N: usize>(&mut self, bus: &mut B, ea: u32) -> Option<u32> {
        let pa = SoftTlb::lookup_within::<N>(&self.tlb.load, ea)? as usize;
        Some(big_endian(tlb_bytes::<N>(
            &self.tlb,
            bus.ram().bytes_mut(),
            pa,
        )))
    }

    #[inline(always)]
    fn load<B: Bus, const N: usize>(&mut self, bus: &mut B, ea: u32) -> R<u32> {
        match self.load_hit::<B, N>(bus, ea) {
            Some(v) => Ok(v),
            None => self.load_slow(bus, ea, N as u32),
        }
    }

    /// The load of a single-access op: with `FAST`, a miss makes the op start over
    /// on the slow path (nothing has changed yet).
    #[inline(always)]
    fn load_op<B: Bus, const N: usize, const FAST: bool>(
        &mut self,
        bus: &mut B,
        ea: u32,
    ) -> Result<u32, Trap> {
        if FAST {
            self.load_hit::<B, N>(bus, ea).ok_or(Trap::Slow)
        } else {
            Ok(self.load::<B, N>(bus, ea)?)
        }
    }

    #[inline(never)]
    fn load_slow<B: Bus>(&mut self, bus: &mut B, ea: u32, size: u32) -> R<u32> {
        if (ea & 0xFFF) + size > 0x1000 {
            let mut v = 0;
            for i in 0..size {
                v = (v << 8) | self.load_slow(bus, ea.wrapping_add(i), 1)?;
            }
            return Ok(v);
        }
        // Unaligned within a page the TLB holds: the fast path takes aligned ones
        // only. (A load entry may point past RAM, at ROM, so this is not `loadable`.)
        if let Some(pa) = SoftTlb::lookup(&self.tlb.load, ea) {
            let pa = pa as usize;
            if let Some(b) = bus.ram().bytes_mut().get(pa..pa + size as usize) {
                return Ok(big_endian(b));
            }
        }
        let pa = self.translate_data(bus, ea, Access::Load)?;
        if let Some(b) = bus.ram().loadable(pa, size as usize) {
            return Ok(big_endian(b));
        }
        let v = bus.read(pa, size, self.now_ns);
        self.after_device_access(bus);
        Ok(v)
    }

    /// A store that hits the TLB and RAM (never code); false otherwise.
    #[inline(always)]
    fn store_hit<B: Bus, const N: usize>(&mut self, bus: &mut B, ea: u32, v: u32) -> bool {
        let Some(pa) = SoftTlb::lookup_within::<N>(&self.tlb.store, ea) else {
            return false;
        };
        let b = tlb_bytes::<N>(&self.tlb, bus.ram().bytes_mut(), pa as usize);
        for (i, x) in b.iter_mut().enumerate() {
            *x = (v >> (8 * (N - 1 - i))) as u8;
        }
        true
    }

    #[inline(always)]
    fn store<B: Bus, const N: usize>(&mut self, bus: &mut B, ea: u32, v: u32) -> R<()> {
        if self.store_hit::<B, N>(bus, ea, v) {
            return Ok(());
        }
        self.store_slow(bus, ea, N as u32, v)
    }

    /// The store of a single-access op (see [`Cpu::load_op`]).
    #[inline(always)]
    fn store_op<B: Bus, const N: usize, const FAST: bool>(
        &mut self,
        bus: &mut B,
        ea: u32,
        v: u32,
    ) -> Result<(), Trap> {
        if FAST {
            self.store_hit::<B, N>(bus, ea, v)
                .then_some(())
                .ok_or(Trap::Slow)
        } else {
            Ok(self.store::<B, N>(bus, ea, v)?)
        }
    }

    #[inline(never)]
    fn store_slow<B: Bus>(&mut self, bus: &mut B, ea: u32, size: u32, v: u32) -> R<()> {
        if (ea & 0xFFF) + size > 0x1000 {
            // Check both pages first so a fault leaves memory untouched.
            self.translate_data(bus, ea, Access::Store)?;
            self.translate_data(bus, ea.wrapping_add(size - 1), Access::Store)?;
            for i in 0..size {
                let byte = (v >> (8 * (size - 1 - i))) & 0xFF;
                self.store_slow(bus, ea.wrapping_add(i), 1, byte)?;
            }
            return Ok(());
        }
        // As in `load_slow`; store entries map RAM pages, by physical address.
        let pa = match SoftTlb::lookup(&self.tlb.store, ea) {
            Some(pa) => pa,
            None => self.translate_data(bus, ea, Access::Store)?,
        };
        if bus.ram().contains(pa, size as usize) {
            self.ram_store(bus, pa, size, v);
            return Ok(());
        }
        bus.write(pa, size, v, self.now_ns);
        self.after_device_access(bus);
        Ok(())
    }

    /// A CPU store into RAM that missed the store TLB: maybe into translated code.
    fn ram_store<B: Bus>(&mut self, bus: &mut B, pa: u32, size: u32, v: u32) {
        let ram = bus.ram();
        let page = pa >> 12;
        if ram.is_code(page) {
            ram.invalidate_code_page(page);
            self.end_block = true;
        }
        let b = &mut ram.bytes_mut()[pa as usize..(pa + size) as usize];
        for (i, x) in b.iter_mut().enumerate() {
            *x = (v >> (8 * (size - 1 - i as u32))) as u8;
        }
    }

    /// Effective address of a D-form or X-form access; rA = 0 means 0. `form` is
    /// the op's `Op::form`, a constant in every handler, so the flag test is left
    /// only for ops with both forms in one.
    #[inline(always)]
    fn ea<const NZ: bool>(&self, form: Option<bool>, i: &Insn) -> u32 {
        let base = if !NZ && i.a == 0 {
            0
        } else {
            self.gpr[i.a as usize]
        };
        let indexed = match form {
            Some(indexed) => indexed,
            None => i.f & F_INDEXED != 0,
        };
        if indexed {
            base.wrapping_add(self.gpr[i.b as usize])
        } else {
            base.wrapping_add(i.imm)
        }
    }

    /// With `NZ` the op is known not to be an update form (see `fusable`).
    #[inline(always)]
    fn update<const NZ: bool>(&mut self, i: &Insn, ea: u32) {
        if !NZ && i.f & F_UPDATE != 0 {
            self.gpr[i.a as usize] = ea;
        }
    }

    // ---- condition register and XER -----------------------------------------------

    #[inline(always)]
    fn set_cr0(&mut self, v: u32) {
        let c = if (v as i32) < 0 {
            8
        } else if v != 0 {
            4
        } else {
            2
        };
        let so = (self.xer >> 31) & 1;
        self.crf[0] = (c | so) as u8;
    }

    #[inline(always)]
    fn set_cr_field(&mut self, field: u32, v: u32) {
        self.crf[field as usize & 7] = v as u8 & 15;
    }

    #[inline(always)]
    fn rc(&mut self, i: &Insn, v: u32) {
        if i.f & F_RC != 0 {
            self.set_cr0(v);
        }
    }

    #[inline(always)]
    fn set_ca(&mut self, ca: bool) {
        if ca {
            self.xer |= xer::CA;
        } else {
            self.xer &= !xer::CA;
        }
    }

    #[inline(always)]
    fn set_ov(&mut self, ov: bool) {
        if ov {
            self.xer |= xer::OV | xer::SO;
        } else {
            self.xer &= !xer::OV;
        }
    }

    #[inline(always)]
    fn ca(&self) -> u32 {
        (self.xer >> 29) & 1
    }

    /// rD = a + b + carry_in, with CA/OV as the op asks.
    #[inline(always)]
    fn add_ext(&mut self, i: &Insn, a: u32, b: u32, cin: u32, set_ca: bool) {
        let r64 = a as u64 + b as u64 + cin as u64;
        let r = r64 as u32;
        if set_ca {
            self.set_ca(r64 > u32::MAX as u64);
        }
        if i.f & F_OE != 0 {
            self.set_ov(((a ^ r) & (b ^ r)) >> 31 != 0);
        }
        self.gpr[i.d as usize] = r;
        self.rc(i, r);
    }

    fn cmp_signed(&mut self, field: u32, a: i32, b: i32) {
        let c = if a < b {
            8
        } else if a > b {
            4
        } else {
            2
        };
        self.set_cr_field(field, c | (self.xer >> 31));
    }

    fn cmp_unsigned(&mut self, field: u32, a: u32, b: u32) {
        let c = if a < b {
            8
        } else if a > b {
            4
        } else {
            2
        };
        self.set_cr_field(field, c | (self.xer >> 31));
    }

    fn trap(to: u32, a: u32, b: u32) -> bool {
        let (sa, sb) = (a as i32, b as i32);
        (to & 16 != 0 && sa < sb)
            || (to & 8 != 0 && sa > sb)
            || (to & 4 != 0 && a == b)
            || (to & 2 != 0 && a < b)
            || (to & 1 != 0 && a > b)
    }

    #[inline(always)]
    fn branch_taken(&mut self, bo: u32, bi: u32, use_ctr: bool) -> bool {
        let ctr_ok = if use_ctr && bo & 4 == 0 {
            self.ctr = self.ctr.wrapping_sub(1);
            (self.ctr != 0) != (bo & 2 != 0)
        } else {
            true
        };
        let cond_ok = bo & 16 != 0 || self.cr_bit(bi) == (bo >> 3) & 1;
        ctr_ok && cond_ok
    }

    #[inline(always)]
    fn supervisor(&self) -> R<()> {
        if self.msr & msr::PR != 0 {
            Err(Exception::Program { srr1: PROGRAM_PRIV })
        } else {
            Ok(())
        }
    }

    #[inline(always)]
    pub(crate) fn fp_available(&self) -> R<()> {
        if self.msr & msr::FP == 0 {
            Err(Exception::FpUnavailable)
        } else {
            Ok(())
        }
    }

    fn alignment(&self, ea: u32, word: u32) -> Exception {
        Exception::Alignment {
            dar: ea,
            dsisr: (word >> 16) & 0x3FF,
        }
    }

    /// Execute one micro-op of kind `OP` (an [`Op`] discriminant) at effective
    /// address `ea_insn`. Always inlined into a handler of a single `OP`, so the
    /// `match` folds away.
    #[inline(always)]
    fn step<B: Bus, const OP: u8, const FAST: bool, const NZ: bool>(
        &mut self,
        bus: &mut B,
        i: &Insn,
    ) -> Result<Flow, Trap> {
        let ea_insn = self.ea_of(i);
        let op = Op::ALL[OP as usize];
        let form = const { Op::ALL[OP as usize].form() };
        // Register fields are `U5`s, so indexing needs no mask or bounds check.
        let d = i.d as usize;
        let a = i.a as usize;
        let b = i.b as usize;
        let g = |cpu: &Cpu, r: usize| cpu.gpr[r];
        let ra0 = |cpu: &Cpu| if a == 0 { 0 } else { cpu.gpr[a] };
        match op {
            // rA = 0 decodes as `Li`/`Lis`.
            Op::Addi | Op::Addis => self.gpr[d] = g(self, a).wrapping_add(i.imm),
            Op::Li | Op::Lis => self.gpr[d] = i.imm,
            Op::Addic | Op::AddicRc => {
                let (r, c) = self.gpr[a].overflowing_add(i.imm);
                self.gpr[d] = r;
                self.set_ca(c);
                if op == Op::AddicRc {
                    self.set_cr0(r);
                }
            }
            Op::Subfic => {
                let x = self.gpr[a];
                let r64 = (!x) as u64 + i.imm as u64 + 1;
                self.gpr[d] = r64 as u32;
                self.set_ca(r64 > u32::MAX as u64);
            }
            Op::Mulli => self.gpr[d] = (self.gpr[a] as i32).wrapping_mul(i.imm as i32) as u32,
            Op::Ori => self.gpr[a] = self.gpr[d] | i.imm,
            Op::Oris => self.gpr[a] = self.gpr[d] | i.imm,
            Op::Xori | Op::Xoris => self.gpr[a] = self.gpr[d] ^ i.imm,
            Op::AndiRc | Op::AndisRc => {
                let r = self.gpr[d] & i.imm;
                self.gpr[a] = r;
                self.set_cr0(r);
            }
            Op::Cmpi => self.cmp_signed(i.d as u32 >> 2, g(self, a) as i32, i.imm as i32),
            Op::Cmpli => self.cmp_unsigned(i.d as u32 >> 2, g(self, a), i.imm),
            Op::Cmp => self.cmp_signed(i.d as u32, g(self, a) as i32, g(self, b) as i32),
            Op::Cmpl => self.cmp_unsigned(i.d as u32, g(self, a), g(self, b)),
            Op::Twi => {
                if Self::trap(i.d as u32, self.gpr[a], i.imm) {
                    return Err(Exception::Program { srr1: PROGRAM_TRAP }.into());
                }
            }
            Op::Tw => {
                if Self::trap(i.d as u32, self.gpr[a], self.gpr[b]) {
                    return Err(Exception::Program { srr1: PROGRAM_TRAP }.into());
                }
            }

            // ---- XO arithmetic
            Op::Add => self.add_ext(i, g(self, a), g(self, b), 0, false),
            Op::Addc => self.add_ext(i, g(self, a), g(self, b), 0, true),
            Op::Adde => self.add_ext(i, g(self, a), g(self, b), self.ca(), true),
            Op::Addme => self.add_ext(i, g(self, a), u32::MAX, self.ca(), true),
            Op::Addze => self.add_ext(i, g(self, a), 0, self.ca(), true),
            Op::Subf => self.add_ext(i, !g(self, a), g(self, b), 1, false),
            Op::Subfc => self.add_ext(i, !g(self, a), g(self, b), 1, true),
            Op::Subfe => self.add_ext(i, !g(self, a), g(self, b), self.ca(), true),
            Op::Subfme => self.add_ext(i, !g(self, a), u32::MAX, self.ca(), true),
            Op::Subfze => self.add_ext(i, !g(self, a), 0, self.ca(), true),
            Op::Neg => {
                let x = self.gpr[a];
                let r = x.wrapping_neg();
                if i.f & F_OE != 0 {
                    self.set_ov(x == 0x8000_0000);
                }
                self.gpr[d] = r;
                self.rc(i, r);
            }
            Op::Mullw => {
                let p = (g(self, a) as i32 as i64) * (g(self, b) as i32 as i64);
                if i.f & F_OE != 0 {
                    self.set_ov(p != p as i32 as i64);
                }
                self.gpr[d] = p as u32;
                self.rc(i, p as u32);
            }
            Op::Mulhw => {
                let p = (g(self, a) as i32 as i64) * (g(self, b) as i32 as i64);
                let r = (p >> 32) as u32;
                self.gpr[d] = r;
                self.rc(i, r);
            }
            Op::Mulhwu => {
                let p = g(self, a) as u64 * g(self, b) as u64;
                let r = (p >> 32) as u32;
                self.gpr[d] = r;
                self.rc(i, r);
            }
            Op::Divw => {
                let (x, y) = (g(self, a) as i32, g(self, b) as i32);
                let bad = y == 0 || (x == i32::MIN && y == -1);
                // The 750 leaves rD undefined. QEMU 7.2 (gen_op_arith_divw)
                // divides by 1 instead, so rD gets the dividend; match it.
                let r = if bad { x as u32 } else { (x / y) as u32 };
                if i.f & F_OE != 0 {
                    self.set_ov(bad);
                }
                self.gpr[d] = r;
                self.rc(i, r);
            }
            Op::Divwu => {
                let (x, y) = (g(self, a), g(self, b));
                // As divw: QEMU divides by 1, so rD gets the dividend.
                let r = x.checked_div(y).unwrap_or(x);
                if i.f & F_OE != 0 {
                    self.set_ov(y == 0);
                }
                self.gpr[d] = r;
                self.rc(i, r);
            }

            // ---- logical (d = rA, a = rS)
            Op::And => self.logic(i, g(self, a) & g(self, b)),
            Op::Andc => self.logic(i, g(self, a) & !g(self, b)),
            Op::Or => self.logic(i, g(self, a) | g(self, b)),
            Op::Orc => self.logic(i, g(self, a) | !g(self, b)),
            Op::Xor => self.logic(i, g(self, a) ^ g(self, b)),
            Op::Nand => self.logic(i, !(g(self, a) & g(self, b))),
            Op::Nor => self.logic(i, !(g(self, a) | g(self, b))),
            Op::Eqv => self.logic(i, !(g(self, a) ^ g(self, b))),
            Op::Extsb => self.logic(i, g(self, a) as i8 as i32 as u32),
            Op::Extsh => self.logic(i, g(self, a) as i16 as i32 as u32),
            Op::Cntlzw => self.logic(i, g(self, a).leading_zeros()),
            Op::Slw => {
                let n = g(self, b) & 63;
                let r = if n > 31 { 0 } else { g(self, a) << n };
                self.logic(i, r)
            }
            Op::Srw => {
                let n = g(self, b) & 63;
                let r = if n > 31 { 0 } else { g(self, a) >> n };
                self.logic(i, r)
            }
            Op::Sraw => {
                let n = g(self, b) & 63;
                let s = g(self, a) as i32;
                self.sra(i, s, n)
            }
            Op::Srawi => {
                let s = g(self, a) as i32;
                self.sra(i, s, b as u32)
            }
            Op::Rlwinm => {
                let r = self.gpr[d].rotate_left(b as u32) & i.imm;
                self.logic_into(a, i, r)
            }
            Op::Rlwnm => {
                let r = self.gpr[d].rotate_left(self.gpr[b] & 31) & i.imm;
                self.logic_into(a, i, r)
            }
            Op::Rlwimi => {
                let r = (self.gpr[d].rotate_left(b as u32) & i.imm) | (self.gpr[a] & !i.imm);
                self.logic_into(a, i, r)
            }

            // ---- branches
            Op::B => {
                let t = if i.f & F_AA != 0 {
                    i.imm
                } else {
                    ea_insn.wrapping_add(i.imm)
                };
                if i.f & F_LK != 0 {
                    self.lr = ea_insn.wrapping_add(4);
                }
                return Ok(Flow::Jump(t));
            }
            Op::Goto => {
                if i.f & F_LK != 0 {
                    self.lr = ea_insn.wrapping_add(4);
                }
                return Ok(Flow::Goto);
            }
            Op::Bc => {
                let taken = self.branch_taken(i.d as u32, i.a as u32, true);
                if i.f & F_LK != 0 {
                    self.lr = ea_insn.wrapping_add(4);
                }
                if i.f & F_BACK != 0 {
                    // The block goes on at the target (see `translate_block`).
                    return Ok(if taken {
                        Flow::Goto
                    } else {
                        Flow::Jump(ea_insn.wrapping_add(4))
                    });
                }
                if taken {
                    let t = if i.f & F_AA != 0 {
                        i.imm
                    } else {
                        ea_insn.wrapping_add(i.imm)
                    };
                    return Ok(Flow::Jump(t));
                }
                return Ok(Flow::Next);
            }
            Op::Bclr => {
                let target = self.lr & !3;
                let taken = self.branch_taken(i.d as u32, i.a as u32, true);
                if i.f & F_LK != 0 {
                    self.lr = ea_insn.wrapping_add(4);
                }
                if taken {
                    return Ok(Flow::Jump(target));
                }
                return Ok(Flow::Next);
            }
            Op::Bcctr => {
                // BO[2] = 0 is an invalid form; QEMU decrements CTR anyway and compares
                // against the new value, which `branch_taken` does.
                let target = self.ctr & !3;
                let taken = self.branch_taken(i.d as u32, i.a as u32, true);
                if i.f & F_LK != 0 {
                    self.lr = ea_insn.wrapping_add(4);
                }
                if taken {
                    return Ok(Flow::Jump(target));
                }
                return Ok(Flow::Next);
            }
            Op::Blr => {
                let target = self.lr & !3;
                if i.f & F_LK != 0 {
                    self.lr = ea_insn.wrapping_add(4);
                }
                return Ok(Flow::Jump(target));
            }
            Op::Ret => {
                let target = self.lr & !3;
                if target == self.blk_page | i.imm {
                    return Ok(Flow::Goto);
                }
                return Ok(Flow::Jump(target));
            }
            Op::Bctr => {
                if i.f & F_LK != 0 {
                    self.lr = ea_insn.wrapping_add(4);
                }
                return Ok(Flow::Jump(self.ctr & !3));
            }
            Op::Sc => {
                if self.cfg.user_mode {
                    return Ok(Flow::Syscall);
                }
                return Err(Exception::Syscall.into());
            }
            Op::Rfi => {
                self.supervisor()?;
                self.set_msr(self.srr1 & !msr::POW);
                return Ok(Flow::Jump(self.srr0 & !3));
            }
            Op::Isync => return Ok(Flow::Jump(ea_insn.wrapping_add(4))),

            // ---- CR logic
            Op::Mcrf => {
                let v = self.cr_field(i.a as u32);
                self.set_cr_field(i.d as u32, v);
            }
            Op::Crand => self.crop(i, |x, y| x & y),
            Op::Crandc => self.crop(i, |x, y| x & !y),
            Op::Creqv => self.crop(i, |x, y| !(x ^ y)),
            Op::Crnand => self.crop(i, |x, y| !(x & y)),
            Op::Crnor => self.crop(i, |x, y| !(x | y)),
            Op::Cror => self.crop(i, |x, y| x | y),
            Op::Crorc => self.crop(i, |x, y| x | !y),
            Op::Crxor => self.crop(i, |x, y| x ^ y),
            Op::Mfcr => self.gpr[d] = self.cr(),
            Op::Mtcrf => {
                for f in 0..8 {
                    if i.imm & (0x80 >> f) != 0 {
                        self.set_cr_field(f, self.gpr[d] >> (28 - 4 * f));
                    }
                }
            }
            Op::Mcrxr => {
                self.set_cr_field(i.d as u32, self.xer >> 28);
                self.xer &= !0xF000_0000;
            }

            // ---- system registers
            Op::Mfmsr => {
                self.supervisor()?;
                self.gpr[d] = self.msr;
            }
            Op::Mtmsr => {
                self.supervisor()?;
                self.set_msr(self.gpr[d]);
                return Ok(Flow::Jump(ea_insn.wrapping_add(4)));
            }
            Op::Mflr => self.gpr[d] = self.lr,
            Op::Mfctr => self.gpr[d] = self.ctr,
            Op::Mtlr => self.lr = self.gpr[d],
            Op::Mtctr => self.ctr = self.gpr[d],
            // The fast copy leaves the other SPRs (time, privilege, side effects) to
            // the slow one, so it makes no call.
            Op::Mfspr if FAST => return Err(Trap::Slow),
            Op::Mfspr => {
                self.sync_time(i);
                if let Some(v) = self.mfspr(i.imm)? {
                    self.gpr[d] = v;
                }
            }
            Op::Mtspr => {
                self.sync_time(i);
                self.mtspr(i.imm, self.gpr[d])?;
                return Ok(Flow::Jump(ea_insn.wrapping_add(4)));
            }
            Op::MtsprQuiet if FAST => return Err(Trap::Slow),
            Op::MtsprQuiet => {
                self.sync_time(i);
                self.mtspr(i.imm, self.gpr[d])?;
            }
            Op::Mftb => {
                self.sync_time(i);
                let tb = self.tb.tb(self.now_ns);
                self.gpr[d] = match i.imm {
                    268 => tb as u32,
                    269 => (tb >> 32) as u32,
                    _ => return Err(illegal().into()),
                };
            }
            Op::Mfsr => {
                self.supervisor()?;
                self.gpr[d] = self.mmu.sr[a & 15];
            }
            Op::Mfsrin => {
                self.supervisor()?;
                self.gpr[d] = self.mmu.sr[(self.gpr[b] >> 28) as usize];
            }
            Op::Mtsr | Op::Mtsrin => {
                self.supervisor()?;
                let n = if op == Op::Mtsr {
                    a & 15
                } else {
                    (self.gpr[b] >> 28) as usize
                };
                // Firmware rewrites segment registers with the values they hold; only
                // a change can alter a translation.
                if self.mmu.sr[n] != self.gpr[d] {
                    self.mmu.sr[n] = self.gpr[d];
                    self.tlb.flush_segment(n as u32);
                }
                return Ok(Flow::Jump(ea_insn.wrapping_add(4)));
            }
            Op::Tlbie => {
                self.supervisor()?;
                let ea = self.gpr[b];
                self.tlb.flush_page_index(ea);
                return Ok(Flow::Jump(ea_insn.wrapping_add(4)));
            }
            Op::Tlbsync => {
                self.supervisor()?;
                return Ok(Flow::Jump(ea_insn.wrapping_add(4)));
            }
            Op::Sync | Op::DcbNop => {}

            // ---- cache
            Op::Dcbz => {
                self.sync_time(i);
                let ea = self.ea::<NZ>(form, i) & !31;
                if let Some(pa) = SoftTlb::lookup(&self.tlb.store, ea) {
                    let line = pa as usize..pa as usize + 32;
                    if let Some(bytes) = bus.ram().bytes_mut().get_mut(line) {
                        bytes.fill(0);
                        return Ok(Flow::Next);
                    }
                }
                for k in 0..8 {
                    self.store::<B, 4>(bus, ea + 4 * k, 0)?;
                }
            }
            Op::Dcbst => {
                let ea = self.ea::<NZ>(form, i);
                self.load_op::<B, 1, FAST>(bus, ea)?;
            }
            Op::Dcbi => {
                self.supervisor()?;
                let ea = self.ea::<NZ>(form, i);
                self.translate_data(bus, ea, Access::Store)?;
            }
            Op::Icbi => {
                let ea = self.ea::<NZ>(form, i);
                let pa = self.translate_data(bus, ea, Access::Load)?;
                let ram = bus.ram();
                let page = pa >> 12;
                if ram.is_code(page) {
                    ram.invalidate_code_page(page);
                }
                return Ok(Flow::Jump(ea_insn.wrapping_add(4)));
            }

            // ---- integer loads and stores
            Op::Lwz | Op::LwzX => {
                let ea = self.ea::<NZ>(form, i);
                self.gpr[d] = self.load_op::<B, 4, FAST>(bus, ea)?;
                self.update::<NZ>(i, ea);
            }
            Op::Lbz | Op::LbzX => {
                let ea = self.ea::<NZ>(form, i);
                self.gpr[d] = self.load_op::<B, 1, FAST>(bus, ea)?;
                self.update::<NZ>(i, ea);
            }
            Op::Lhz | Op::LhzX => {
                let ea = self.ea::<NZ>(form, i);
                self.gpr[d] = self.load_op::<B, 2, FAST>(bus, ea)?;
                self.update::<NZ>(i, ea);
            }
            Op::Lha | Op::LhaX => {
                let ea = self.ea::<NZ>(form, i);
                self.gpr[d] = self.load_op::<B, 2, FAST>(bus, ea)? as i16 as i32 as u32;
                self.update::<NZ>(i, ea);
            }
            Op::Stw | Op::StwX => {
                let ea = self.ea::<NZ>(form, i);
                self.store_op::<B, 4, FAST>(bus, ea, self.gpr[d])?;
                self.update::<NZ>(i, ea);
            }
            Op::Stb | Op::StbX => {
                let ea = self.ea::<NZ>(form, i);
                self.store_op::<B, 1, FAST>(bus, ea, self.gpr[d])?;
                self.update::<NZ>(i, ea);
            }
            Op::Sth | Op::SthX => {
                let ea = self.ea::<NZ>(form, i);
                self.store_op::<B, 2, FAST>(bus, ea, self.gpr[d])?;
                self.update::<NZ>(i, ea);
            }
            Op::Lwbrx => {
                let ea = self.ea::<NZ>(form, i);
                self.gpr[d] = self.load_op::<B, 4, FAST>(bus, ea)?.swap_bytes();
            }
            Op::Lhbrx => {
                let ea = self.ea::<NZ>(form, i);
                self.gpr[d] = (self.load_op::<B, 2, FAST>(bus, ea)? as u16).swap_bytes() as u32;
            }
            Op::Stwbrx => {
                let ea = self.ea::<NZ>(form, i);
                self.store_op::<B, 4, FAST>(bus, ea, self.gpr[d].swap_bytes())?;
            }
            Op::Sthbrx => {
                let ea = self.ea::<NZ>(form, i);
                self.store_op::<B, 2, FAST>(bus, ea, (self.gpr[d] as u16).swap_bytes() as u32)?;
            }
            Op::Lwarx => {
                let ea = self.ea::<NZ>(form, i);
                if ea & 3 != 0 {
                    return Err(self.alignment(ea, self.raw_word(i)).into());
                }
                self.gpr[d] = self.load_op::<B, 4, FAST>(bus, ea)?;
                self.reserve_valid = true;
                self.reserve_addr = ea;
            }
            Op::Stwcx => {
                let ea = self.ea::<NZ>(form, i);
                if ea & 3 != 0 {
                    return Err(self.alignment(ea, self.raw_word(i)).into());
                }
                let ok = self.reserve_valid && self.reserve_addr == ea;
                if ok {
                    self.store_op::<B, 4, FAST>(bus, ea, self.gpr[d])?;
                }
                self.reserve_valid = false;
                let so = self.xer >> 31;
                self.set_cr_field(0, if ok { 2 } else { 0 } | so);
            }
            Op::Eciwx => {
                let ea = self.ea::<NZ>(form, i);
                if ea & 3 != 0 {
                    return Err(self.alignment(ea, self.raw_word(i)).into());
                }
                self.gpr[d] = self.load_op::<B, 4, FAST>(bus, ea)?;
            }
            Op::Ecowx => {
                let ea = self.ea::<NZ>(form, i);
                if ea & 3 != 0 {
                    return Err(self.alignment(ea, self.raw_word(i)).into());
                }
                self.store_op::<B, 4, FAST>(bus, ea, self.gpr[d])?;
            }
            Op::Lmw => {
                self.sync_time(i);
                let mut ea = self.ea::<NZ>(form, i);
                for r in d..32 {
                    self.gpr[r] = self.load::<B, 4>(bus, ea)?;
                    ea = ea.wrapping_add(4);
                }
            }
            Op::Stmw => {
                self.sync_time(i);
                let mut ea = self.ea::<NZ>(form, i);
                for r in d..32 {
                    self.store::<B, 4>(bus, ea, self.gpr[r])?;
                    ea = ea.wrapping_add(4);
                }
            }
            Op::Lswi | Op::Lswx => {
                self.sync_time(i);
                let (ea, n) = if op == Op::Lswi {
                    (ra0(self), if b == 0 { 32 } else { b as u32 })
                } else {
                    (self.ea::<NZ>(form, i), self.xer & 0x7F)
                };
                self.load_string(bus, d, ea, n)?;
            }
            Op::Stswi | Op::Stswx => {
                self.sync_time(i);
                let (ea, n) = if op == Op::Stswi {
                    (ra0(self), if b == 0 { 32 } else { b as u32 })
                } else {
                    (self.ea::<NZ>(form, i), self.xer & 0x7F)
                };
                let mut r = d;
                for k in 0..n {
                    let byte = (self.gpr[r] >> (24 - 8 * (k % 4))) & 0xFF;
                    self.store::<B, 1>(bus, ea.wrapping_add(k), byte)?;
                    if k % 4 == 3 {
                        r = (r + 1) % 32;
                    }
                }
            }

            // ---- floating point
            Op::Lfs
            | Op::Lfd
            | Op::Stfs
            | Op::Stfd
            | Op::LfsX
            | Op::LfdX
            | Op::StfsX
            | Op::StfdX
            | Op::Stfiwx => {
                self.fp_available()?;
                let ea = self.ea::<NZ>(form, i);
                match op {
                    Op::Lfs | Op::LfsX => {
                        let w = self.load_op::<B, 4, FAST>(bus, ea)?;
                        self.fpr[d] = crate::fpu::single_to_double(w);
                    }
                    Op::Lfd | Op::LfdX => {
                        let hi = self.load_op::<B, 4, FAST>(bus, ea)?;
                        let lo = self.load_op::<B, 4, FAST>(bus, ea.wrapping_add(4))?;
                        self.fpr[d] = (hi as u64) << 32 | lo as u64;
                    }
                    Op::Stfs | Op::StfsX => {
                        let w = crate::fpu::double_to_single(self.fpr[d]);
                        self.store_op::<B, 4, FAST>(bus, ea, w)?;
                    }
                    Op::Stfd | Op::StfdX => {
                        self.sync_time(i);
                        let v = self.fpr[d];
                        // Check the second word's page first so a fault writes nothing.
                        if (ea & 0xFFF) > 0xFF8 {
                            self.translate_data(bus, ea.wrapping_add(4), Access::Store)?;
                        }
                        self.store::<B, 4>(bus, ea, (v >> 32) as u32)?;
                        self.store::<B, 4>(bus, ea.wrapping_add(4), v as u32)?;
                    }
                    _ => {
                        self.store_op::<B, 4, FAST>(bus, ea, self.fpr[d] as u32)?;
                    }
                }
                self.update::<NZ>(i, ea);
            }
            Op::Fadd
            | Op::Fadds
            | Op::Fsub
            | Op::Fsubs
            | Op::Fmul
            | Op::Fmuls
            | Op::Fdiv
            | Op::Fdivs
            | Op::Fsqrt
            | Op::Fsqrts
            | Op::Fres
            | Op::Frsqrte
            | Op::Fsel
            | Op::Fmadd
            | Op::Fmadds
            | Op::Fmsub
            | Op::Fmsubs
            | Op::Fnmadd
            | Op::Fnmadds
            | Op::Fnmsub
            | Op::Fnmsubs
            | Op::Fcmpu
            | Op::Fcmpo
            | Op::Fmr
            | Op::Fneg
            | Op::Fabs
            | Op::Fnabs
            | Op::Frsp
            | Op::Fctiw
            | Op::Fctiwz
            | Op::Mffs
            | Op::Mtfsf
            | Op::Mtfsfi
            | Op::Mtfsb0
            | Op::Mtfsb1
            | Op::Mcrfs => return self.step_fp::<FAST>(op, i, ea_insn),
            Op::Illegal => return Err(illegal().into()),
        }
        Ok(Flow::Next)
    }

    /// Re-encode the fields the alignment DSISR needs (rD/rS and rA).
    fn raw_word(&self, i: &Insn) -> u32 {
        ((i.d as u32) << 21) | ((i.a as u32) << 16)
    }

    #[inline(always)]
    fn logic(&mut self, i: &Insn, r: u32) {
        self.gpr[i.d as usize] = r;
        self.rc(i, r);
    }

    #[inline(always)]
    fn logic_into(&mut self, reg: usize, i: &Insn, r: u32) {
        self.gpr[reg] = r;
        self.rc(i, r);
    }

    fn sra(&mut self, i: &Insn, s: i32, n: u32) {
        let (r, ca) = if n > 31 {
            let r = s >> 31;
            (r, s < 0)
        } else {
            let r = s >> n;
            let lost = if n == 0 { 0 } else { (s as u32) << (32 - n) };
            (r, s < 0 && lost != 0)
        };
        self.set_ca(ca);
        self.logic(i, r as u32);
    }

    fn crop(&mut self, i: &Insn, f: impl Fn(u32, u32) -> u32) {
        let v = f(self.cr_bit(i.a as u32), self.cr_bit(i.b as u32)) & 1;
        let (field, sh) = (i.d as u32 >> 2, 3 - (i.d as u32 & 3));
        self.set_cr_field(field, self.cr_field(field) & !(1 << sh) | v << sh);
    }

    fn load_string<B: Bus>(&mut self, bus: &mut B, rd: usize, ea: u32, n: u32) -> R<()> {
        let mut r = rd;
        let mut acc = 0u32;
        for k in 0..n {
            let byte = self.load::<B, 1>(bus, ea.wrapping_add(k))?;
            acc |= byte << (24 - 8 * (k % 4));
            if k % 4 == 3 || k == n - 1 {
                self.gpr[r] = acc;
                acc = 0;
                r = (r + 1) % 32;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "exec_tests.rs"]
mod tests;

#[cfg(test)]
mod budget_tests {
    use super::{fuse, translate_block, Op};
    use crate::testutil::TestBus;
    use crate::{Cpu, CpuConfig, Exit};

    const NOP: u32 = 0x6000_0000;

    #[test]
    fn slice_stops_at_the_first_instruction_reaching_the_deadline() {
        let mut bus = TestBus::new(1 << 16);
        bus.load_words(0x1000, &[NOP; 200]);
        let mut cpu = Cpu::new(CpuConfig {
            user_mode: true,
            ..CpuConfig::default()
        });
        cpu.nip = 0x1000;

        // 25 ns at 10 ns per instruction: the third instruction crosses the deadline.
        let first = cpu.run(&mut bus, 25);
        let (icount_first, nip_first) = (cpu.icount, cpu.nip);
        // Far from the deadline a whole block runs, then the exact tail.
        let second = cpu.run(&mut bus, 700);

        assert_eq!(first, Exit::Deadline);
        assert_eq!((icount_first, nip_first), (3, 0x100C));
        assert_eq!(second, Exit::Deadline);
        assert_eq!(cpu.icount, 70);
        assert_eq!(cpu.now_ns(), 700);
        assert_eq!(cpu.nip, 0x1000 + 4 * 70);
    }

    #[test]
    fn deadline_between_a_fused_pair_runs_only_the_first() {
        // lis r3,0x1; lwz r4,0(r3): one (Lis, Lwz) handler, cut after the lis.
        let mut bus = TestBus::new(1 << 17);
        bus.load_words(0x1000, &[0x3C60_0001, 0x8083_0000, NOP]);
        bus.load_words(0x1_0000, &[0xDEAD_BEEF]);
        let mut cpu = Cpu::new(CpuConfig {
            user_mode: true,
            ..CpuConfig::default()
        });
        cpu.nip = 0x1000;
        let ops = translate_block(&mut bus, 0x1000, 0);
        let mut fused = ops.clone();
        fuse(&mut fused);
        assert!(
            fused[0].handler as usize >= Op::ALL.len(),
            "lis; lwz is a pair"
        );

        assert_eq!(cpu.run(&mut bus, 10), Exit::Deadline);
        assert_eq!((cpu.gpr[3], cpu.gpr[4], cpu.nip), (0x1_0000, 0, 0x1004));
        assert_eq!(cpu.run(&mut bus, 20), Exit::Deadline);
        assert_eq!((cpu.gpr[4], cpu.nip, cpu.icount), (0xDEAD_BEEF, 0x1008, 2));
    }
}
