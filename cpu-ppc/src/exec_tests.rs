//! Instruction-family tests of the executor, assembled with binutils at test time.

use crate::decode::Op;
use crate::exceptions::{Exception, PROGRAM_FP, PROGRAM_ILLEGAL, PROGRAM_PRIV, PROGRAM_TRAP};
use crate::testutil::{asm, run_to_sc, system, user, TestBus};
use crate::{msr, xer, Cpu, CpuConfig, Exit, GuestRam, Pin};

#[test]
fn user_sc_exits_with_nip_after_it() {
    let (mut cpu, mut bus) = user("li r0,1\n li r3,42\n sc\n nop");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[0], cpu.gpr[3], cpu.nip), (1, 42, 0x100c));
}

#[test]
fn addo_dot_sets_ov_so_and_cr0() {
    let (mut cpu, mut bus) =
        user("lis r4,0x7fff\n ori r4,r4,0xffff\n li r5,1\n addo. r3,r4,r5\n sc");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], 0x8000_0000);
    assert_eq!(cpu.xer & (xer::SO | xer::OV), xer::SO | xer::OV);
    assert_eq!(cpu.cr_field(0), 0b1001); // LT | SO
}

#[test]
fn carry_chain_adds_64_bit_values() {
    // 0x00000001_FFFFFFFF + 0x00000000_00000001 = 0x00000002_00000000
    let (mut cpu, mut bus) =
        user("li r4,-1\n li r5,1\n addc r6,r4,r5\n li r7,1\n li r8,0\n adde r9,r7,r8\n sc");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[6], cpu.gpr[9]), (0, 2));
    assert_eq!(cpu.xer & xer::CA, 0);
}

#[test]
fn subfc_sets_carry_when_no_borrow() {
    let (mut cpu, mut bus) = user("li r4,3\n li r5,5\n subfc r3,r4,r5\n sc");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], 2);
    assert_ne!(cpu.xer & xer::CA, 0);
}

#[test]
fn divw_overflow_and_divide_by_zero_set_ov() {
    let (mut cpu, mut bus) = user("li r4,7\n li r5,0\n divwo r3,r4,r5\n mfxer r6\n li r7,-7\n li r8,2\n divw r9,r7,r8\n divwu r10,r7,r8\n sc");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[6] & (xer::SO | xer::OV), xer::SO | xer::OV);
    assert_eq!(cpu.gpr[9], -3i32 as u32);
    assert_eq!(cpu.gpr[10], 0x7FFF_FFFC);
}

#[test]
fn undefined_divides_give_the_dividend_like_qemu() {
    // QEMU 7.2 divides by 1 when the quotient is undefined; CR0 follows rD.
    let (mut cpu, mut bus) = user(
        "li r4,-7\n li r5,0\n divwo. r3,r4,r5\n mfcr r6\n divwuo r7,r4,r5\n \
         lis r8,0x8000\n li r9,-1\n divw r10,r8,r9\n divwu r11,r8,r9\n sc",
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], -7i32 as u32);
    assert_eq!(cpu.gpr[6] >> 28, 0b1001); // LT | SO
    assert_eq!(cpu.gpr[7], -7i32 as u32);
    assert_eq!(cpu.gpr[10], 0x8000_0000);
    assert_eq!(cpu.gpr[11], 0);
    assert_eq!(cpu.xer & (xer::SO | xer::OV), xer::SO | xer::OV);
}

#[test]
fn multiply_high_and_overflow() {
    let (mut cpu, mut bus) = user("li r4,-2\n li r5,3\n mulhw r6,r4,r5\n mulhwu r7,r4,r5\n lis r8,0x1000\n mullwo r9,r8,r8\n sc");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[6], u32::MAX);
    assert_eq!(cpu.gpr[7], 2);
    assert_eq!(cpu.gpr[9], 0);
    assert_ne!(cpu.xer & xer::OV, 0);
}

#[test]
fn shifts_and_srawi_carry() {
    let (mut cpu, mut bus) = user("li r4,-5\n srawi r3,r4,1\n mfxer r5\n li r6,33\n slw r7,r4,r6\n li r6,4\n srw r8,r4,r6\n sraw r9,r4,r6\n cntlzw r10,r6\n sc");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], -3i32 as u32);
    assert_ne!(cpu.gpr[5] & xer::CA, 0);
    assert_eq!(cpu.gpr[7], 0);
    assert_eq!(cpu.gpr[8], 0x0FFF_FFFF);
    assert_eq!(cpu.gpr[9], u32::MAX);
    assert_eq!(cpu.gpr[10], 29);
}

#[test]
fn rotates_insert_and_mask() {
    let (mut cpu, mut bus) = user("lis r4,0x1234\n ori r4,r4,0x5678\n rlwinm r3,r4,8,0,31\n li r5,-1\n rlwimi r5,r4,0,16,23\n li r6,4\n rlwnm r7,r4,r6,28,31\n sc");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], 0x3456_7812);
    assert_eq!(cpu.gpr[5], 0xFFFF_56FF);
    assert_eq!(cpu.gpr[7], 0x1);
}

#[test]
fn compares_and_cr_logic() {
    let (mut cpu, mut bus) = user("li r4,-1\n li r5,1\n cmpw cr1,r4,r5\n cmplw cr2,r4,r5\n crand 0,4,9\n cror 1,5,9\n mcrf cr7,cr1\n mfcr r3\n sc");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.cr_field(1), 0b1000);
    assert_eq!(cpu.cr_field(2), 0b0100);
    assert_eq!(cpu.cr_field(0) >> 2, 0b11); // LT = LT1 & GT2, GT = GT1 | GT2
    assert_eq!(cpu.cr_field(7), 0b1000);
    assert_eq!(cpu.gpr[3], cpu.cr());
}

#[test]
fn bdnz_loop_counts_and_links() {
    let (mut cpu, mut bus) =
        user("li r3,0\n li r4,10\n mtctr r4\n1: addi r3,r3,1\n bdnz 1b\n bl 2f\n2: mflr r5\n sc");
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[3], cpu.ctr), (10, 0));
    assert_eq!(cpu.gpr[5], 0x1018);
}

#[test]
fn blr_and_bctrl_take_register_targets() {
    let (mut cpu, mut bus) = user(
        "bl 1f\n li r3,1\n sc\n1: mflr r6\n lis r7,0\n ori r7,r7,0x1024\n mtctr r7\n bctrl\n sc\n li r3,9\n blr",
    );
    // 0x1024 is `li r3,9; blr`, which returns to the `sc` after bctrl.
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[6], 0x1004);
    assert_eq!(cpu.gpr[3], 9);
    assert_eq!(cpu.nip, 0x1024);
}

#[test]
fn loads_stores_with_update_and_index() {
    let (mut cpu, mut bus) = user(
        "lis r4,0\n ori r4,r4,0x8000\n lis r5,0x8081\n ori r5,r5,0x8283\n stwu r5,4(r4)\n lbz r6,1(r4)\n lha r7,0(r4)\n li r8,2\n lhzx r9,r4,r8\n sthux r5,r4,r8\n li r11,0\n lwz r10,0x7ffc(r11)\n sc",
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[4], 0x8006);
    assert_eq!(cpu.gpr[6], 0x81);
    assert_eq!(cpu.gpr[7], 0xFFFF_8081);
    assert_eq!(cpu.gpr[9], 0x8283);
    assert_eq!(cpu.gpr[10], 0);
}

#[test]
fn byte_reversed_and_misaligned_cross_page() {
    let (mut cpu, mut bus) = user(
        "lis r5,0x1122\n ori r5,r5,0x3344\n li r4,0x2ffe\n stw r5,0(r4)\n lwbrx r6,0,r4\n sthbrx r5,0,r4\n lhz r7,0(r4)\n lwz r8,0(r4)\n sc",
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(bus.ram.as_slice()[0x2ffe..0x3002], [0x44, 0x33, 0x33, 0x44]);
    assert_eq!(cpu.gpr[6], 0x4433_2211);
    assert_eq!(cpu.gpr[7], 0x4433);
    assert_eq!(cpu.gpr[8], 0x4433_3344);
}

#[test]
fn rom_loads_come_from_the_rom_image_and_stores_to_it_reach_the_bus() {
    let mut rom = vec![0u8; 0x2000];
    rom[..8].copy_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF, 1, 2, 3, 4]);
    rom[0x1003] = 0x7F;
    let mut bus = TestBus::new(0);
    bus.ram = GuestRam::with_rom(1 << 20, 0xFFF0_0000, &rom);
    bus.load_words(
        0x1000,
        &asm("lis r4,0xfff0\n lwz r5,0(r4)\n lwz r6,4(r4)\n lbz r7,0x1003(r4)\n li r8,0x55\n stw r8,0(r4)\n lwz r9,0(r4)\n sc"),
    );
    let mut cpu = Cpu::new(CpuConfig {
        user_mode: true,
        ..CpuConfig::default()
    });
    cpu.nip = 0x1000;
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(
        (cpu.gpr[5], cpu.gpr[6], cpu.gpr[7], cpu.gpr[9]),
        (0xDEAD_BEEF, 0x0102_0304, 0x7F, 0xDEAD_BEEF)
    );
    // No load reached the device bus; the store did, and left the image as it was.
    assert_eq!(bus.reads, []);
    assert_eq!(bus.writes, [(0xFFF0_0000, 4, 0x55)]);
    assert_eq!(bus.ram.rom(), &rom[..]);
    assert!(!bus.ram.contains(0xFFF0_0000, 1));
}

/// TLB hits index RAM unchecked, so entries made against one RAM must not
/// survive into a run with a smaller one: there the same addresses are devices.
#[test]
fn tlb_entries_made_against_a_larger_ram_are_dropped() {
    let prog = asm("lis r4,0x8\n lwz r5,0(r4)\n stw r5,4(r4)\n sc");
    let (mut cpu, mut bus) = user("nop");
    bus.load_words(0x1000, &prog);
    bus.ram.write_u32(0x8_0000, 0x1234_5678);
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[5], 0x1234_5678);
    assert_eq!((bus.reads.len(), bus.writes.len()), (0, 0));

    // The same program in 64 KB: 0x80000 is past RAM, so both go to the bus.
    bus.ram = GuestRam::new(0x1_0000);
    bus.load_words(0x1000, &prog);
    bus.mmio_value = 0xCAFE_F00D;
    cpu.nip = 0x1000;
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[5], 0xCAFE_F00D);
    assert_eq!(bus.reads, [(0x8_0000, 4)]);
    assert_eq!(bus.writes, [(0x8_0004, 4, 0xCAFE_F00D)]);
}

#[test]
fn load_store_multiple_and_string() {
    let (mut cpu, mut bus) = user(
        "li r29,1\n li r30,2\n li r31,3\n li r4,0x4000\n stmw r29,0(r4)\n li r29,0\n li r30,0\n li r31,0\n lmw r29,0(r4)\n lswi r5,r4,7\n li r9,5\n mtxer r9\n li r10,0x5000\n stswx r5,r10,r0\n sc",
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(&cpu.gpr[29..32], &[1, 2, 3]);
    assert_eq!(cpu.gpr[5], 1);
    assert_eq!(cpu.gpr[6], 0x0000_0000);
    assert_eq!(bus.ram.as_slice()[0x5000..0x5006], [0, 0, 0, 1, 0, 0]);
}

#[test]
fn lwarx_stwcx_succeeds_once_per_reservation() {
    let (mut cpu, mut bus) = user(
        "li r4,0x4000\n lwarx r5,0,r4\n addi r5,r5,1\n stwcx. r5,0,r4\n mfcr r6\n stwcx. r5,0,r4\n mfcr r7\n sc",
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[6] >> 28, 0b0010);
    assert_eq!(cpu.gpr[7] >> 28, 0b0000);
    assert_eq!(bus.ram.read_u32(0x4000), Some(1));
}

#[test]
fn dcbz_clears_the_aligned_32_byte_line() {
    let (mut cpu, mut bus) = user("li r4,0x4010\n dcbz 0,r4\n sc");
    bus.ram.fill(0x3ff0, 0x60, 0xAA);
    run_to_sc(&mut cpu, &mut bus);
    let m = bus.ram.as_slice();
    assert_eq!(m[0x3fff], 0xAA);
    assert!(m[0x4000..0x4020].iter().all(|&b| b == 0));
    assert_eq!(m[0x4020], 0xAA);
}

#[test]
fn self_modifying_store_invalidates_translated_code() {
    // The loop body `li r3,1` is rewritten to `li r3,2` after the first pass.
    let (mut cpu, mut bus) = user(
        "li r6,0\n lis r7,0x3860\n ori r7,r7,2\n1: li r3,1\n addi r6,r6,1\n cmpwi r6,2\n beq 2f\n stw r7,0x100c(0)\n b 1b\n2: sc",
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], 2);
}

#[test]
fn dma_write_to_code_page_invalidates_block() {
    let (mut cpu, mut bus) = user("li r3,1\n sc");
    run_to_sc(&mut cpu, &mut bus);
    bus.ram.write_u32(0x1000, 0x3860_0005); // li r3,5 via the GuestRam API
    cpu.nip = 0x1000;
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], 5);
}

#[test]
fn trap_in_user_mode_stops_with_program_trap() {
    let (mut cpu, mut bus) = user("li r3,1\n twi 4,r3,1\n sc");
    assert_eq!(cpu.run(&mut bus, u64::MAX), Exit::Stop);
    assert_eq!(
        cpu.user_fault,
        Some(Exception::Program { srr1: PROGRAM_TRAP })
    );
    assert_eq!(cpu.nip, 0x1004);
}

#[test]
fn privileged_instruction_in_problem_state_sets_srr1_priv() {
    let (mut cpu, mut bus) = system("mfmsr r3");
    cpu.msr |= msr::PR;
    cpu.run(&mut bus, 100);
    assert_eq!(cpu.srr0, 0x1000);
    assert_eq!(cpu.srr1 & 0xFFFF_0000, PROGRAM_PRIV);
    assert_eq!(cpu.srr1 & msr::PR, msr::PR);
    assert!(cpu.nip >= 0x700 && cpu.nip < 0x800, "nip {:#x}", cpu.nip);
}

#[test]
fn illegal_instruction_goes_to_0x700_with_srr1_illegal() {
    let (mut cpu, mut bus) = system(".long 0");
    cpu.run(&mut bus, 10);
    assert_eq!(
        (cpu.srr0, cpu.srr1 & 0xFFFF_0000),
        (0x1000, PROGRAM_ILLEGAL)
    );
    assert_eq!(cpu.nip & !0xFF, 0x700);
}

#[test]
fn system_call_saves_next_address_and_rfi_returns() {
    let (mut cpu, mut bus) = system("li r3,1\n sc\n li r4,2\n b .");
    // Handler at 0xC00: r5 = 3; rfi.
    bus.load_words(0xC00, &crate::testutil::asm("li r5,3\n rfi"));
    cpu.msr |= msr::EE;
    cpu.run(&mut bus, 200);
    assert_eq!((cpu.gpr[3], cpu.gpr[4], cpu.gpr[5]), (1, 2, 3));
    assert_eq!(cpu.srr0, 0x1008);
    assert_eq!(cpu.msr & msr::EE, msr::EE);
}

/// A trace handler at 0xD00 that appends SRR0 and SRR1 to the list SPRG0 points at
/// and returns (SRR1 still has SE/BE, so tracing goes on).
fn trace_logger(bus: &mut crate::testutil::TestBus) {
    bus.load_words(
        0xD00,
        &crate::testutil::asm(
            "mtsprg 1,r20\n mfsprg r20,0\n mfsrr0 r21\n stw r21,0(r20)\n \
             mfsrr1 r21\n stw r21,4(r20)\n addi r20,r20,8\n mtsprg 0,r20\n \
             mfsprg r20,1\n rfi",
        ),
    );
}

fn trace_log(cpu: &Cpu, bus: &crate::testutil::TestBus) -> Vec<(u32, u32)> {
    (0x3000..cpu.sprg[0])
        .step_by(8)
        .map(|a| {
            (
                bus.ram.read_u32(a).unwrap(),
                bus.ram.read_u32(a + 4).unwrap(),
            )
        })
        .collect()
}

#[test]
fn single_step_traces_each_completed_instruction_with_the_next_address() {
    // Not after the `mtmsr` that sets SE, nor after `sc` (it raises its own
    // exception); a `b` within the page is traced at its target.
    let (mut cpu, mut bus) = system(
        "li r3,0x3000\n mtsprg 0,r3\n mfmsr r4\n ori r4,r4,0x400\n mtmsr r4\n \
         li r5,1\n addi r5,r5,1\n b 1f\n .long 0\n1: mfmsr r7\n sc",
    );
    trace_logger(&mut bus);
    cpu.run(&mut bus, 2_000);
    let log = trace_log(&cpu, &bus);
    let srr0: Vec<u32> = log.iter().map(|e| e.0).collect();
    assert_eq!(srr0, [0x1018, 0x101c, 0x1024, 0x1028]);
    for (_, srr1) in &log {
        assert_eq!(srr1 & (msr::SE | msr::ME), msr::SE | msr::ME);
        assert_eq!(srr1 & 0x783F_0000, 0, "no cause bits for a trace");
    }
    assert_eq!((cpu.gpr[5], cpu.gpr[7] & msr::SE), (2, msr::SE));
    assert_eq!((cpu.srr0, cpu.nip), (0x102c, 0xC00));
}

#[test]
fn branch_trace_stops_after_every_branch_taken_or_not() {
    let (mut cpu, mut bus) = system(
        "li r3,0x3000\n mtsprg 0,r3\n mfmsr r4\n ori r4,r4,0x200\n mtmsr r4\n \
         li r5,0\n cmpwi r5,1\n beq 1f\n addi r5,r5,1\n b 1f\n .long 0\n1: sc",
    );
    trace_logger(&mut bus);
    cpu.run(&mut bus, 2_000);
    let srr0: Vec<u32> = trace_log(&cpu, &bus).iter().map(|e| e.0).collect();
    assert_eq!(srr0, [0x1020, 0x102c]);
    assert_eq!((cpu.gpr[5], cpu.srr0, cpu.nip), (1, 0x1030, 0xC00));
}

#[test]
fn fp_unavailable_when_msr_fp_clear() {
    let (mut cpu, mut bus) = system("lfd f1,0(r0)");
    cpu.msr &= !msr::FP;
    cpu.run(&mut bus, 10);
    assert_eq!((cpu.srr0, cpu.nip), (0x1000, 0x800));
}

#[test]
fn fp_add_and_record_copies_fpscr_to_cr1() {
    let (mut cpu, mut bus) = user(
        "li r4,0x4000\n lfd f1,0(r4)\n lfd f2,8(r4)\n fadd. f3,f1,f2\n stfd f3,16(r4)\n fdiv f4,f1,f5\n mffs f6\n stfs f1,24(r4)\n sc",
    );
    bus.ram.write(0x4000, &1.5f64.to_bits().to_be_bytes());
    bus.ram.write(0x4008, &2.25f64.to_bits().to_be_bytes());
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(f64::from_bits(cpu.fpr[3]), 3.75);
    assert_eq!(bus.ram.read_u32(0x4018), Some(1.5f32.to_bits()));
    // 1.5 / 0 sets ZX and FX.
    assert_ne!(cpu.fpscr & crate::fpu::fpscr::ZX, 0);
    assert_eq!(cpu.fpr[6] as u32, cpu.fpscr);
}

#[test]
fn enabled_fp_exception_traps_in_user_mode() {
    let (mut cpu, mut bus) = user("mtfsb1 27\n fdiv f3,f1,f2\n sc"); // ZE on, 0/0? use 1/0
    cpu.fpr[1] = 1.0f64.to_bits();
    assert_eq!(cpu.run(&mut bus, u64::MAX), Exit::Stop);
    assert_eq!(
        cpu.user_fault,
        Some(Exception::Program { srr1: PROGRAM_FP })
    );
}

#[test]
fn mmio_access_goes_to_bus() {
    let (mut cpu, mut bus) =
        system("lis r4,0xf300\n lwz r3,0x20(r4)\n li r5,7\n stb r5,0x21(r4)\n b .");
    bus.mmio_value = 0xCAFE_F00D;
    cpu.run(&mut bus, 100);
    assert_eq!(cpu.gpr[3], 0xCAFE_F00D);
    assert_eq!(bus.reads, vec![(0xF300_0020, 4)]);
    assert_eq!(bus.writes, vec![(0xF300_0021, 1, 7)]);
}

/// Reads a device register at 0x1004, then counts in r5 at 0x1008.
const DEVICE_READ: &str = "lis r4,0xf300\n lwz r3,0(r4)\n li r5,1\n li r5,2\n b .";

#[test]
fn device_read_that_raises_the_interrupt_pin_is_followed_by_the_interrupt() {
    let (mut cpu, mut bus) = system(DEVICE_READ);
    cpu.msr |= msr::EE;
    bus.read_sets_pins = Some(1 << Pin::Int as u32);
    cpu.run(&mut bus, 1000);
    assert_eq!((cpu.srr0, cpu.gpr[5]), (0x1008, 0));
    assert_eq!(cpu.nip, 0x500);
}

#[test]
fn device_read_that_raises_hreset_resets_after_the_op_not_during_it() {
    let (mut cpu, mut bus) = system(DEVICE_READ);
    bus.mmio_value = 0xCAFE;
    bus.read_sets_pins = Some(1 << Pin::Hreset as u32);
    cpu.run(&mut bus, 30);
    // Reset after the load: the fresh CPU has neither the loaded value nor the
    // count, and runs from the reset vector.
    assert_eq!((cpu.gpr[3], cpu.gpr[5]), (0, 0));
    assert_ne!(cpu.msr & msr::IP, 0);
}

#[test]
fn device_read_that_asks_to_stop_ends_the_run_after_it() {
    let (mut cpu, mut bus) = system(DEVICE_READ);
    bus.read_stops = true;
    assert_eq!(cpu.run(&mut bus, 1000), Exit::Stop);
    assert_eq!((cpu.nip, cpu.gpr[5]), (0x1008, 0));
}

#[test]
fn external_interrupt_taken_after_mtmsr_enables_ee() {
    let (mut cpu, mut bus) = system("lis r3,0\n ori r3,r3,0x8000\n mtmsr r3\n li r4,1\n b .");
    bus.pins = Some(1 << Pin::Int as u32);
    cpu.run(&mut bus, 1000);
    assert_eq!(cpu.srr0, 0x100c);
    assert_eq!(cpu.gpr[4], 0);
    assert_eq!(cpu.msr & msr::EE, 0);
}

/// Supervisor code at 0x1000 with external and decrementer interrupts enabled, a
/// timebase tick per 10 ns instruction, and `b .` at the decrementer vector.
fn decrementer_system(src: &str) -> (Cpu, TestBus) {
    let cfg = CpuConfig {
        tb_freq: 100_000_000,
        ..CpuConfig::default()
    };
    let mut bus = TestBus::new(1 << 20);
    bus.load_words(0x900, &[0x4800_0000]); // b .
    bus.load_words(0x1000, &crate::testutil::asm(src));
    let mut cpu = Cpu::new(cfg);
    cpu.msr = msr::ME | msr::EE;
    cpu.nip = 0x1000;
    (cpu, bus)
}

#[test]
fn decrementer_fires_on_time_to_the_instruction() {
    // 1 tick per 10 ns instruction: DEC = 5 underflows after 6 instructions.
    let (mut cpu, mut bus) = decrementer_system("li r3,5\n mtdec r3\n1: addi r4,r4,1\n b 1b");
    cpu.run(&mut bus, 10_000);
    let fired_at = cpu.srr0;
    // DEC was written at the end of instruction 2 (t = 20 ns); it hits -1 at 80 ns,
    // after 8 instructions: li, mtdec, then 6 of the loop (3 addi + 3 b).
    assert_eq!(cpu.gpr[4], 3);
    assert_eq!(fired_at, 0x1008);
}

#[test]
fn hreset_pin_restores_reset_state() {
    let mut cpu = Cpu::new(CpuConfig::default());
    assert_eq!(
        (cpu.nip, cpu.msr, cpu.pvr),
        (0xFFF0_0100, msr::IP, 0x0008_0301)
    );
    assert_eq!(cpu.decrementer(), u32::MAX);
    cpu.gpr[1] = 5;
    cpu.set_pin(Pin::Hreset, true);
    assert_eq!(cpu.gpr[1], 0);
}

#[test]
fn rom_code_is_fetched_through_the_bus() {
    let mut bus = TestBus::new(1 << 16);
    bus.mmio_value = 0x6000_0000; // every ROM word reads as nop
    let mut cpu = Cpu::new(CpuConfig::default());
    cpu.run(&mut bus, 50);
    assert!(bus.reads.iter().all(|&(pa, s)| pa >= 0xFFF0_0100 && s == 4));
    assert_eq!(cpu.nip, 0xFFF0_0100 + 4 * 5);
}

#[test]
fn stop_request_ends_the_slice() {
    let (mut cpu, mut bus) = system("b .");
    bus.stop = true;
    assert_eq!(cpu.run(&mut bus, 1000), Exit::Stop);
}

#[test]
fn lwarx_misaligned_raises_alignment_with_dar() {
    let (mut cpu, mut bus) = system("li r4,0x4002\n lwarx r5,0,r4");
    cpu.run(&mut bus, 100);
    assert_eq!((cpu.srr0, cpu.dar), (0x1004, 0x4002));
    assert_eq!(cpu.dsisr, 5 << 5); // rD = 5, rA = 0
    assert_eq!(cpu.nip & !0xFF, 0x600);
}

#[test]
fn mftb_and_spr_access() {
    let (mut cpu, mut bus) =
        user("mftb r3\n nop\n mftb r4\n li r5,9\n mtctr r5\n mfctr r6\n mfspr r7,287\n sc");
    // PVR is privileged: user mode stops there.
    assert_eq!(cpu.run(&mut bus, u64::MAX), Exit::Stop);
    assert_eq!(
        cpu.user_fault,
        Some(Exception::Program { srr1: PROGRAM_PRIV })
    );
    assert!(cpu.gpr[4] >= cpu.gpr[3]);
    assert_eq!(cpu.gpr[6], 9);
    assert_eq!(cpu.nip, 0x1018);
}

#[test]
fn same_page_branches_run_inside_one_block_with_exact_time_and_lr() {
    // `b` and `bl` to the same page become `Goto`s: their targets' ops follow in
    // the block. Control, LR and the clock must be exactly as if each had ended it.
    let src = "li r3,1\n b 1f\n li r3,2\n 1: bl 2f\n li r4,5\n sc\n \
               2: mflr r5\n addi r3,r3,10\n blr";
    let (mut cpu, mut bus) = user(src);
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[3], cpu.gpr[4], cpu.gpr[5]), (11, 5, 0x1010));
    // li, b, bl, mflr, addi, blr, li, sc
    assert_eq!(cpu.now_ns, 8 * cpu.cfg.ns_per_insn);
    let ops: Vec<_> = crate::translate::translate_block(&mut bus, 0x1000, 0)
        .iter()
        .map(|i| (i.op, i.idx))
        .collect();
    assert_eq!(
        ops,
        [
            (Op::Li, 0),
            (Op::Goto, 1),
            (Op::Goto, 2),
            (Op::Mflr, 3),
            (Op::Addi, 4),
            (Op::Ret, 5),
            (Op::Li, 6),
            (Op::Sc, 7),
        ]
    );
}

#[test]
fn loop_within_a_block_keeps_exact_time() {
    let src = "li r3,0\n li r4,100\n mtctr r4\n 1: addi r3,r3,2\n cmpwi r3,1000\n \
               bdnz 1b\n mr r5,r3\n sc";
    let (mut cpu, mut bus) = user(src);
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[3], cpu.gpr[5], cpu.ctr), (200, 200, 0));
    // li, li, mtctr, 100 × (addi, cmpwi, bdnz), mr, sc
    assert_eq!(cpu.now_ns, (3 + 300 + 2) * cpu.cfg.ns_per_insn);
}

#[test]
fn backward_compare_and_branch_goes_on_inside_the_block() {
    // The loop's back edge is taken in the block (its body's ops follow again), and
    // the fall-through leaves it; results and the clock are as if every taken
    // branch had ended the block.
    let src = "li r3,0\n 1: addi r3,r3,1\n cmpwi r3,50\n blt 1b\n mr r5,r3\n sc";
    let (mut cpu, mut bus) = user(src);
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[3], cpu.gpr[5]), (50, 50));
    // li, 50 × (addi, cmpwi, blt), mr, sc
    assert_eq!(cpu.now_ns, (1 + 150 + 2) * cpu.cfg.ns_per_insn);
    let mut ops = crate::translate::translate_block(&mut bus, 0x1000, 0);
    crate::exec::fuse(&mut ops);
    assert_eq!(ops.len(), crate::translate::MAX_BLOCK_INSNS);
    let body: Vec<Op> = ops[1..7].iter().map(|i| i.op).collect();
    assert_eq!(
        body,
        [Op::Addi, Op::Cmpi, Op::Bc, Op::Addi, Op::Cmpi, Op::Bc]
    );
    assert!(ops[3].f & crate::decode::F_BACK != 0);
    assert!(crate::exec::is_compare_branch(ops[2].handler));
}

#[test]
fn forward_and_other_page_branches_do_not_go_on_at_their_target() {
    let (_, mut bus) = user("1: cmpwi r3,0\n beq 2f\n bne .+0x1000\n 2: blt 1b\n sc");
    let ops = crate::translate::translate_block(&mut bus, 0x1000, 0);
    let back: Vec<bool> = ops
        .iter()
        .take(4)
        .map(|i| i.f & crate::decode::F_BACK != 0)
        .collect();
    assert_eq!(back, [false, false, false, true]);
    // The backward one went on at the compare.
    assert_eq!(ops[4].op, Op::Cmpi);
}

#[test]
fn trap_in_an_unrolled_loop_reports_its_own_address() {
    // The eighth pass traps, in a copy of the body the block repeats.
    let src = "li r3,0\n 1: addi r3,r3,1\n twi 4,r3,8\n cmpwi r3,50\n blt 1b\n sc";
    let (mut cpu, mut bus) = user(src);
    assert_eq!(cpu.run(&mut bus, u64::MAX), Exit::Stop);
    assert_eq!(
        cpu.user_fault,
        Some(Exception::Program { srr1: PROGRAM_TRAP })
    );
    assert_eq!((cpu.nip, cpu.gpr[3]), (0x1008, 8));
    // li, 7 × 4, addi, twi
    assert_eq!(cpu.now_ns, (1 + 28 + 2) * cpu.cfg.ns_per_insn);
}

#[test]
fn decrementer_fires_on_time_inside_a_compare_loop() {
    let src = "li r3,500\n mtdec r3\n li r4,0\n 1: addi r4,r4,1\n cmpwi r4,10000\n blt 1b";
    // DEC written at the end of instruction 2 hits -1 501 instructions later: li,
    // then 500 of the loop (166 passes and an addi and a cmpwi).
    assert_eq!(r4_and_srr0_when_decrementer_fires(src), (167, 0x1014));
}

/// Runs `src` (which sets DEC) until the decrementer interrupt is taken.
fn r4_and_srr0_when_decrementer_fires(src: &str) -> (u32, u32) {
    let (mut cpu, mut bus) = decrementer_system(src);
    cpu.run(&mut bus, 100_000);
    (cpu.gpr[4], cpu.srr0)
}

#[test]
fn decrementer_fires_on_time_inside_a_bdnz_loop() {
    let src = "li r3,500\n mtdec r3\n li r5,10000\n mtctr r5\n 1: addi r4,r4,1\n bdnz 1b";
    // DEC written at the end of instruction 2 hits -1 501 instructions later:
    // li, mtctr, then 499 of the loop, the last an addi.
    assert_eq!(r4_and_srr0_when_decrementer_fires(src), (250, 0x1014));
}

#[test]
fn fault_after_a_goto_reports_its_own_address() {
    let (mut cpu, mut bus) = user("b 1f\n nop\n nop\n 1: .long 0\n sc");
    assert_eq!(cpu.run(&mut bus, u64::MAX), Exit::Stop);
    assert_eq!(cpu.nip, 0x100c);
    assert_eq!(
        cpu.user_fault,
        Some(Exception::Program {
            srr1: PROGRAM_ILLEGAL
        })
    );
}

#[test]
fn branch_to_another_page_ends_the_block() {
    let (_, mut bus) = user("li r3,1\n b .+0x1000\n li r3,2");
    let ops = crate::translate::translate_block(&mut bus, 0x1000, 0);
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[1].op, crate::decode::Op::B);
}

#[test]
fn a_block_that_runs_off_its_page_goes_on_at_the_next() {
    let (mut cpu, mut bus) = user("");
    bus.load_words(0x1FF8, &asm("li r3,1\n li r4,2\n sc"));
    cpu.nip = 0x1FF8;
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[3], cpu.gpr[4], cpu.nip), (1, 2, 0x2004));
}

#[test]
fn one_physical_block_run_at_two_addresses_links_to_each() {
    // Ops hold offsets into their page, not addresses: the block at physical 0x2000,
    // run in real mode and then through an IBAT at 0x8000_2000, must link (a `bl`
    // within the page) and return (a `Ret` whose LR no longer matches) by the
    // address it runs at.
    let src = "start: bl sub\n mr r8,r7\n \
               lis r3,0x8000\n ori r3,r3,2\n mtspr 528,r3\n li r3,2\n mtspr 529,r3\n \
               lis r3,0x8000\n ori r3,r3,(virt - start + 0x1000)\n mtsrr0 r3\n \
               mfmsr r4\n ori r4,r4,0x20\n mtsrr1 r4\n rfi\n \
               virt: bl sub\n sc\n \
               .org 0x1000\n sub: mflr r6\n bl 1f\n 1: mflr r7\n mtlr r6\n blr";
    let (mut cpu, mut bus) = system(src);
    cpu.run(&mut bus, 10_000);
    assert_eq!(cpu.gpr[8], 0x2008, "LR from the real-mode run");
    assert_eq!(cpu.gpr[7], 0x8000_2008, "LR from the translated run");
    assert_eq!(
        cpu.lr >> 12,
        0x8_0001,
        "returned into the translated caller"
    );
    assert_eq!(
        cpu.srr0,
        cpu.lr + 4,
        "the sc after the call raised the exception"
    );
    assert_eq!(cpu.nip, 0xC00);
}

#[test]
fn ra_zero_addresses_read_zero_even_beside_a_fusable_op() {
    // rA = 0 reads as 0, not r0, also where `lis; lwz` would otherwise be fused
    // into a handler that skips that test.
    let (mut cpu, mut bus) = user(
        "li r0,0x4000\n li r5,0x77\n stw r5,0x200(0)\n lis r3,1\n lwz r4,0x200(0)\n \
         li r6,0x204\n stwx r5,0,r6\n lis r3,2\n lwzx r7,0,r6\n lwz r8,0x200(r0)\n sc",
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[4], cpu.gpr[7], cpu.gpr[8]), (0x77, 0x77, 0x77));
    assert_eq!(bus.ram.read_u32(0x4200), Some(0));
}

#[test]
fn dependent_pairs_read_the_register_the_first_op_wrote() {
    // `lis; lwz` off the new base, a pointer chased with `lwz; lwz`, then
    // `lwz; addi`, `addi; lwz`, `lwz; cmpwi`: each second op reads the first's rD,
    // which the pair handlers pass on in a host register instead of reloading it.
    let (mut cpu, mut bus) = user(
        "li r5,0x3000\n stw r5,0x2000(0)\n li r5,0x55\n stw r5,0x3004(0)\n \
         lis r9,0\n ori r9,r9,0x2000\n mr r3,r9\n \
         lis r9,0\n lwz r9,0x2000(r9)\n lwz r9,4(r9)\n \
         lwz r4,0(r3)\n addi r4,r4,4\n addi r6,r3,0x1000\n lwz r6,4(r6)\n \
         lwz r7,0x3004(0)\n cmpwi r7,0x55\n mfcr r8\n sc",
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[9], cpu.gpr[4], cpu.gpr[6]), (0x55, 0x3004, 0x55));
    assert_eq!(cpu.gpr[8] >> 28, 0b0010); // EQ
    let mut ops = crate::translate::translate_block(&mut bus, 0x1000, 0);
    crate::exec::fuse(&mut ops);
    let (lis, lwz) = (&ops[7], &ops[8]);
    assert_eq!((lis.op, lwz.op, lwz.a), (Op::Lis, Op::Lwz, lis.d));
    assert!(
        crate::exec::forwards_within_pair(lis.handler),
        "lis; lwz does not forward the base"
    );
}

#[test]
fn a_chain_of_dependent_ops_passes_each_result_in_a_host_register() {
    // OpenBIOS's Forth `next`: each op reads the register the one before wrote.
    let (mut cpu, mut bus) = user(
        "lis r10,0\n lwz r9,0x2000(r10)\n addi r8,r9,4\n stw r8,0x2000(r10)\n \
         lis r10,0\n addi r10,r10,0x3000\n lwz r9,4(r9)\n lwz r9,0(r9)\n \
         slwi r9,r9,2\n lwzx r9,r10,r9\n mtctr r9\n sc",
    );
    bus.load_words(0x2000, &[0x2100]);
    bus.load_words(0x2104, &[0x2200]);
    bus.load_words(0x2200, &[3]);
    bus.load_words(0x300c, &[0x1234]);
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.ctr, bus.ram.read_u32(0x2000)), (0x1234, Some(0x2104)));
    let mut ops = crate::translate::translate_block(&mut bus, 0x1000, 0);
    crate::exec::fuse(&mut ops);
    let passed: Vec<(bool, bool)> = ops
        .iter()
        .step_by(2)
        .map(|i| crate::exec::forwards(i.handler))
        .collect();
    // lis; lwz | addi; stw | lis; addi | lwz; lwz | slwi; lwzx | mtctr; sc
    let expected = [
        (false, true),
        (true, true),
        (false, true),
        (false, true),
        (true, true),
    ];
    assert_eq!(&passed[..5], &expected);
    assert!(crate::exec::forwards(ops[10].handler).0, "mtctr");
}

#[test]
fn compare_and_branch_pairs_test_the_field_just_set() {
    // Each case sets its bit of r3 only when its branch falls through. The fused
    // handler must agree with the CR the compare left: signed and unsigned,
    // immediate and register, `andi.`, fields other than cr0, SO, and a branch on
    // another field (not fused) reading the older value.
    let (mut cpu, mut bus) = user(
        "li r3,0\n li r4,5\n li r5,-1\n \
         cmpwi r4,5\n beq 1f\n ori r3,r3,0x1\n1: \
         cmpwi cr3,r4,6\n blt cr3,1f\n ori r3,r3,0x2\n1: \
         cmplwi cr7,r5,1\n bgt cr7,1f\n ori r3,r3,0x4\n1: \
         cmpw cr1,r5,r4\n bge cr1,1f\n ori r3,r3,0x8\n1: \
         cmplw cr6,r4,r5\n bne cr6,1f\n ori r3,r3,0x10\n1: \
         andi. r6,r4,2\n bne 1f\n ori r3,r3,0x20\n1: \
         cmpwi cr2,r4,4\n bso cr2,1f\n ori r3,r3,0x40\n1: \
         cmpwi r4,5\n beq cr1,1f\n ori r3,r3,0x80\n1: \
         lis r7,0x8000\n mtxer r7\n cmpwi cr2,r4,4\n bso cr2,1f\n ori r3,r3,0x100\n1: \
         cmplwi cr5,r4,5\n bgt cr5,1f\n ori r3,r3,0x200\n1: \
         sc",
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], 0x8 | 0x20 | 0x40 | 0x80 | 0x200);
    assert_eq!(cpu.cr_field(2), 0b0101); // GT | SO
    let mut ops = crate::translate::translate_block(&mut bus, 0x100c, 0);
    crate::exec::fuse(&mut ops);
    let fused: Vec<bool> = ops
        .iter()
        .filter(|i| matches!(i.op, Op::Cmpi | Op::Cmpli | Op::Cmp | Op::Cmpl | Op::AndiRc))
        .map(|i| crate::exec::is_compare_branch(i.handler))
        .collect();
    assert_eq!(
        fused,
        [true; 7]
            .iter()
            .chain(&[false, true, true])
            .copied()
            .collect::<Vec<_>>()
    );
}

#[test]
fn jump_cache_forgets_a_block_once_its_page_or_the_fetch_tlb_changes() {
    use super::{jump_key, JumpCache};
    use crate::block_cache::BlockCache;
    use crate::decode::decode;
    use crate::tlb::SoftTlb;

    let nop = decode(0x6000_0000);
    let mut code = BlockCache::new();
    let mut tlb = SoftTlb::new();
    let a = code.insert(0x1000, vec![nop]);
    let b = code.insert(0x2000, vec![nop, nop]);
    let mut jc = JumpCache::new();
    let key = jump_key(tlb.generation(), code.generation());
    jc.set(0x1000, a, key, &code);
    jc.set(0x2000, b, key, &code);
    let (ops, run) = jc.lookup(0x2000, &tlb, &code).expect("cached");
    assert_eq!(run, ops.run);
    assert!(std::ptr::eq(ops, &code.ops(b)[0]));
    // A dropped page: every entry is stale, and its slot may hold other ops now.
    code.invalidate_page(1);
    let c = code.insert(0x3000, vec![nop, nop, nop]);
    assert_eq!(c, a);
    assert!(jc.lookup(0x1000, &tlb, &code).is_none());
    assert!(jc.lookup(0x2000, &tlb, &code).is_none());
    // New fetch translations: every entry is stale.
    let key = jump_key(tlb.generation(), code.generation());
    jc.set(0x2000, b, key, &code);
    assert!(jc.lookup(0x2000, &tlb, &code).is_some());
    tlb.flush_all();
    assert!(jc.lookup(0x2000, &tlb, &code).is_none());
}

/// Random straight-line code built so that most instructions read the register
/// the one before wrote, run at full speed (pairs, forwarding handlers, chained
/// blocks) and one instruction per `run` call (every op alone, passed nothing):
/// both must leave the same registers and memory.
mod forwarding {
    use crate::testutil::TestBus;
    use crate::{Cpu, CpuConfig, Exit};
    use proptest::prelude::*;

    const DATA: u32 = 0x10000;
    const SC: u32 = 0x4400_0002;

    fn d_form(op: u32, d: u32, a: u32, imm: u32) -> u32 {
        op << 26 | d << 21 | a << 16 | (imm & 0xFFFF)
    }
    fn x_form(d: u32, a: u32, b: u32, xo: u32) -> u32 {
        31 << 26 | d << 21 | a << 16 | b << 11 | xo << 1
    }

    /// One instruction (or a short safe sequence) on registers r3..r7; r29 is an
    /// address register set just before each use, r30 = 4, r31 = DATA.
    fn piece() -> impl Strategy<Value = Vec<u32>> {
        let r = || 3u32..8;
        prop_oneof![
            (r(), r(), any::<i16>()).prop_map(|(d, a, i)| vec![d_form(14, d, a, i as u32)]),
            (r(), any::<u16>()).prop_map(|(d, i)| vec![d_form(15, d, 0, i as u32)]),
            (
                r(),
                r(),
                r(),
                prop::sample::select(vec![266u32, 40, 444, 28, 316, 24, 536, 235])
            )
                .prop_map(|(d, a, b, xo)| vec![x_form(a, d, b, xo)]),
            (r(), r(), 0u32..32, 0u32..32, 0u32..32).prop_map(|(s, a, sh, mb, me)| {
                vec![21 << 26 | s << 21 | a << 16 | sh << 11 | mb << 6 | me << 1]
            }),
            (r(), r(), any::<u16>()).prop_map(|(s, a, i)| vec![d_form(24, s, a, i as u32)]),
            (r(), r(), any::<u16>()).prop_map(|(s, a, i)| vec![d_form(28, s, a, i as u32)]),
            (r(), r()).prop_map(|(s, a)| vec![x_form(s, a, 0, 954)]),
            // A load or store through r29 = DATA + (rX & 0xFFC), in D or X form.
            (
                r(),
                r(),
                prop::sample::select(vec![32u32, 34, 40, 36, 38, 44]),
                any::<bool>()
            )
                .prop_map(|(x, v, op, indexed)| {
                    let mut w = vec![
                        21 << 26 | x << 21 | 29 << 16 | 20 << 6 | 29 << 1,
                        x_form(29, 29, 31, 266),
                    ];
                    w.push(if indexed {
                        let xo = match op {
                            32 => 23,
                            34 => 87,
                            40 => 279,
                            36 => 151,
                            38 => 215,
                            _ => 407,
                        };
                        x_form(v, 29, 30, xo)
                    } else {
                        d_form(op, v, 29, 0)
                    });
                    w
                }),
            // Load with update, then use the updated base.
            (r(), r()).prop_map(|(x, v)| vec![
                21 << 26 | x << 21 | 29 << 16 | 20 << 6 | 29 << 1,
                x_form(29, 29, 31, 266),
                d_form(33, v, 29, 8),
                x_form(v, 29, v, 266),
            ]),
            // A compare and a branch over the next instruction.
            (r(), r(), any::<bool>(), 0u32..4).prop_map(|(a, b, imm, cond)| {
                let cmp = if imm {
                    d_form(11, 0, a, b)
                } else {
                    x_form(0, a, b, 0)
                };
                vec![
                    cmp,
                    16 << 26 | 12 << 21 | cond << 16 | 8,
                    d_form(14, a, a, 1),
                ]
            }),
            // Through CTR and LR.
            (r(), r()).prop_map(|(s, d)| vec![
                x_form(s, 9, 0, 467),
                x_form(d, 9, 0, 339),
                x_form(s, 8, 0, 467),
                x_form(d, 8, 0, 339),
            ]),
        ]
    }

    fn machine(code: &[u32], regs: &[u32; 5]) -> (Cpu, TestBus) {
        let mut bus = TestBus::new(1 << 20);
        bus.load_words(0x1000, code);
        let data: Vec<u32> = (0..1100u32).map(|k| k.wrapping_mul(0x9E37_79B9)).collect();
        bus.load_words(DATA, &data);
        let mut cpu = Cpu::new(CpuConfig {
            user_mode: true,
            ..CpuConfig::default()
        });
        cpu.gpr[3..8].copy_from_slice(regs);
        cpu.gpr[30] = 4;
        cpu.gpr[31] = DATA;
        cpu.nip = 0x1000;
        (cpu, bus)
    }

    fn state(cpu: &Cpu, bus: &TestBus) -> (Vec<u32>, u32, u32, u32, u32, Vec<Option<u32>>) {
        let mem = (DATA..DATA + 0x1010)
            .step_by(4)
            .map(|a| bus.ram.read_u32(a))
            .collect();
        (cpu.gpr.to_vec(), cpu.cr(), cpu.xer, cpu.ctr, cpu.lr, mem)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn fused_and_forwarded_runs_match_one_instruction_at_a_time(
            pieces in prop::collection::vec(piece(), 1..40),
            regs in any::<[u32; 5]>(),
        ) {
            let mut code: Vec<u32> = pieces.concat();
            code.push(SC);
            let (mut fast, mut fast_bus) = machine(&code, &regs);
            prop_assert_eq!(fast.run(&mut fast_bus, u64::MAX), Exit::Syscall);
            let (mut slow, mut slow_bus) = machine(&code, &regs);
            loop {
                let until = slow.now_ns() + 10;
                match slow.run(&mut slow_bus, until) {
                    Exit::Deadline => continue,
                    exit => {
                        prop_assert_eq!(exit, Exit::Syscall);
                        break;
                    }
                }
            }
            prop_assert_eq!(slow.icount, fast.icount);
            prop_assert_eq!(state(&slow, &slow_bus), state(&fast, &fast_bus));
        }
    }
}

/// A second bus type: the same RAM, seen through another type.
struct OtherBus(TestBus);

// SAFETY: `ram` returns the inner `TestBus`'s, which is a valid `Bus`.
#[allow(unsafe_code)]
unsafe impl crate::Bus for OtherBus {
    fn ram(&mut self) -> &mut GuestRam {
        self.0.ram()
    }
    fn read(&mut self, pa: u32, size: u32, now: u64) -> u32 {
        self.0.read(pa, size, now)
    }
    fn write(&mut self, pa: u32, size: u32, value: u32, now: u64) {
        self.0.write(pa, size, value, now)
    }
    fn take_pins(&mut self) -> Option<u32> {
        self.0.take_pins()
    }
    fn stop_requested(&mut self) -> bool {
        self.0.stop_requested()
    }
}

#[test]
fn a_cpu_run_on_another_bus_type_translates_its_blocks_again() {
    // Ops hold their handlers' addresses for the bus type they were built for.
    let (mut cpu, bus) = user("li r3,0\n li r4,10\n 1: addi r3,r3,1\n cmpw r3,r4\n blt 1b\n sc");
    let mut bus = OtherBus(bus);
    assert_eq!(cpu.run(&mut bus, u64::MAX), Exit::Syscall);
    assert_eq!(cpu.gpr[3], 10);
    assert!(!cpu.blocks.is_empty());
    // The same code, not rewritten, so only the bus type tells the blocks apart.
    let mut bus = bus.0;
    cpu.nip = 0x1000;
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], 10);
}

#[test]
fn unconditional_blr_and_bctr_forms_branch_and_link_like_bclr_and_bcctr() {
    use crate::decode::{decode, F_LK};
    // BO = 0b10100 (branch always) decodes to the ops with no BO to test.
    assert_eq!(decode(0x4e80_0020).op, Op::Blr); // blr
    assert_eq!(decode(0x4e80_0420).op, Op::Bctr); // bctr
    assert_eq!(decode(0x4e80_0421).f & F_LK, F_LK); // bctrl
    assert_eq!(decode(0x4c82_0020).op, Op::Bclr); // bnelr
    assert_eq!(decode(0x4e00_0020).op, Op::Bclr); // bdnzlr
    let src = "li r3,0\n bl 1f\n addi r3,r3,1\n bl 3f\n \
               2: mflr r9\n addi r9,r9,(4f-2b)\n mtctr r9\n bctrl\n cmpw r3,r3\n bnelr\n sc\n \
               1: addi r3,r3,10\n blr\n \
               3: b 2b\n \
               4: mflr r4\n blrl\n";
    let (mut cpu, mut bus) = user(src);
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!(cpu.gpr[3], 11);
    // bctrl linked to the cmpw after it; blrl returned there and linked to
    // the instruction after itself.
    let after_bctrl = 0x1000 + 4 * 8;
    assert_eq!(cpu.gpr[4], after_bctrl);
    assert_eq!(cpu.lr, 0x1000 + 4 * 16);
}

#[test]
fn a_leaf_call_returns_inside_its_block_and_a_changed_lr_leaves_it() {
    // li, bl, [addi, blr], addi, bl, [mflr, addi, mtlr, blr], li, sc
    let src = "li r3,1\n bl 1f\n addi r3,r3,100\n bl 2f\n li r5,7\n sc\n \
               1: addi r3,r3,10\n blr\n \
               2: mflr r4\n addi r4,r4,4\n mtlr r4\n blr";
    let (mut cpu, mut bus) = user(src);
    let ops: Vec<_> = crate::translate::translate_block(&mut bus, 0x1000, 0)
        .iter()
        .map(|i| i.op)
        .collect();
    // The first call returns in the block; the second's blr is a Ret too, but
    // its guard fails at run time (LR was moved past the `li`).
    assert_eq!(
        ops,
        [
            Op::Li,
            Op::Goto,
            Op::Addi,
            Op::Ret,
            Op::Addi,
            Op::Goto,
            Op::Mflr,
            Op::Addi
        ]
        .into_iter()
        .chain([Op::Mtlr, Op::Ret, Op::Li, Op::Sc])
        .collect::<Vec<_>>()
    );
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[3], cpu.gpr[5]), (111, 0));
    assert_eq!(cpu.lr, 0x1014);
    // li, bl, addi, blr, addi, bl, mflr, addi, mtlr, blr, sc
    assert_eq!(cpu.now_ns, 11 * cpu.cfg.ns_per_insn);
}

#[test]
fn unaligned_accesses_within_a_cached_page_read_and_write_the_right_bytes() {
    // The aligned accesses fill the TLB; the unaligned ones then miss its fast
    // check and take the page's entry on the slow path.
    let src = "li r3,0x2000\n lis r4,0x1122\n ori r4,r4,0x3344\n stw r4,0(r3)\n \
               lis r9,0x5566\n ori r9,r9,0x7788\n stw r9,4(r3)\n lwz r0,0(r3)\n \
               lwz r5,1(r3)\n lhz r6,3(r3)\n stw r4,2(r3)\n sth r4,5(r3)\n \
               lwz r7,0(r3)\n lwz r8,4(r3)\n sc";
    let (mut cpu, mut bus) = user(src);
    run_to_sc(&mut cpu, &mut bus);
    assert_eq!((cpu.gpr[5], cpu.gpr[6]), (0x2233_4455, 0x4455));
    assert_eq!((cpu.gpr[7], cpu.gpr[8]), (0x1122_1122, 0x3333_4488));
}
