//! Floating-point micro-ops: operand plumbing, CR1, FP-unavailable and the
//! FP-enabled program exception. The arithmetic and FPSCR rules are [`crate::fpu`]'s.

use crate::decode::{Insn, Op, F_RC};
use crate::exceptions::{Exception, PROGRAM_FP};
use crate::exec::{Flow, Trap};
use crate::fpu::{self, Outcome};
use crate::{msr, Cpu};

const SIGN: u64 = 1 << 63;

/// FPSCR bits that `mcrfs` clears when it copies their field (exception bits).
const MCRFS_CLEARS: u32 = 0x9FF8_0700;

impl Cpu {
    fn fp_cr1(&mut self, i: &Insn) {
        if i.f & F_RC != 0 {
            self.crf[1] = (self.fpscr >> 28) as u8;
        }
    }

    /// Program exception (FP enabled) when an enabled FP exception occurred and
    /// MSR[FE0|FE1] select a mode that takes it (user mode: always, like qemu-ppc).
    fn fp_trap(&self, trap: bool) -> Result<(), Exception> {
        let enabled = self.cfg.user_mode || self.msr & (msr::FE0 | msr::FE1) != 0;
        if trap && enabled {
            Err(Exception::Program { srr1: PROGRAM_FP })
        } else {
            Ok(())
        }
    }

    fn fp_write(&mut self, i: &Insn, out: Outcome) -> Result<Flow, Exception> {
        if let Some(v) = out.value {
            self.fpr[i.d as usize] = v;
        }
        self.fp_cr1(i);
        self.fp_trap(out.trap)?;
        Ok(Flow::Next)
    }

    /// An FP op of kind `op` (a constant where the executor inlines this). With
    /// `FAST`, arithmetic tries only the host fast path and leaves the rest to the
    /// slow copy, so the fast copy makes no call and saves no registers.
    #[inline(always)]
    pub(crate) fn step_fp<const FAST: bool>(
        &mut self,
        op: Op,
        i: &Insn,
        ea: u32,
    ) -> Result<Flow, Trap> {
        self.fp_available()?;
        let (a, b, c) = (
            self.fpr[i.a as usize],
            self.fpr[i.b as usize],
            self.fpr[i.c as usize],
        );
        if let Some(fop) = op.fp_arith() {
            let out = if FAST {
                let (v, trap) = fpu::arith_fast(fop, &mut self.fpscr, a, b, c).ok_or(Trap::Slow)?;
                Outcome {
                    value: Some(v),
                    trap,
                }
            } else {
                fpu::arith_outcome(fop, &mut self.fpscr, a, b, c)
            };
            return Ok(self.fp_write(i, out)?);
        }
        match op {
            Op::Fcmpu | Op::Fcmpo => {
                let (field, trap) = fpu::compare_outcome(op == Op::Fcmpo, &mut self.fpscr, a, b);
                self.crf[i.d as usize & 7] = field & 15;
                self.fp_trap(trap)?;
                Ok(Flow::Next)
            }
            Op::Fmr | Op::Fneg | Op::Fabs | Op::Fnabs => {
                self.fpr[i.d as usize] = match op {
                    Op::Fmr => b,
                    Op::Fneg => b ^ SIGN,
                    Op::Fabs => b & !SIGN,
                    _ => b | SIGN,
                };
                self.fp_cr1(i);
                Ok(Flow::Next)
            }
            Op::Frsp => {
                let out = fpu::frsp_outcome(&mut self.fpscr, b);
                Ok(self.fp_write(i, out)?)
            }
            Op::Fctiw | Op::Fctiwz => {
                let out = fpu::fctiw_outcome(&mut self.fpscr, b, op == Op::Fctiwz);
                Ok(self.fp_write(i, out)?)
            }
            Op::Mffs => {
                self.fpr[i.d as usize] = fpu::mffs(self.fpscr);
                self.fp_cr1(i);
                Ok(Flow::Next)
            }
            Op::Mcrfs => {
                let sh = 28 - 4 * i.a as u32;
                let field = (self.fpscr >> sh) & 15;
                self.crf[i.d as usize & 7] = field as u8;
                for bit in 0..4u32 {
                    let arch_bit = 4 * i.a as u32 + bit;
                    if MCRFS_CLEARS & (1 << (31 - arch_bit)) != 0 {
                        fpu::mtfsb0(&mut self.fpscr, arch_bit as u8);
                    }
                }
                Ok(Flow::Next)
            }
            Op::Mtfsf | Op::Mtfsfi | Op::Mtfsb0 | Op::Mtfsb1 => {
                match op {
                    Op::Mtfsf => fpu::mtfsf(&mut self.fpscr, i.imm as u8, b),
                    Op::Mtfsfi => fpu::mtfsfi(&mut self.fpscr, i.d as u8, i.imm as u8),
                    Op::Mtfsb0 => fpu::mtfsb0(&mut self.fpscr, i.d as u8),
                    _ => fpu::mtfsb1(&mut self.fpscr, i.d as u8),
                }
                self.fp_cr1(i);
                let pending = fpu::enabled_exception_pending(self.fpscr);
                self.fp_trap(pending && op != Op::Mtfsb0)?;
                Ok(Flow::Jump(ea.wrapping_add(4)))
            }
            _ => Ok(Flow::Next),
        }
    }
}
