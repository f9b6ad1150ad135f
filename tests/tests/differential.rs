//! One test per guest program in guest/cpu/: stdout under qemu-ppc must
//! equal stdout under beige's CPU, line for line.

use beige_tests::harness::compare;
use beige_tests::toolchain::Toolchain;

fn check(program: &str) {
    let Some(tc) = Toolchain::for_tests() else {
        return;
    };
    let elf = tc
        .build_cpu_program(program)
        .unwrap_or_else(|e| panic!("{e}"));
    if let Err(report) = compare(&tc, &elf) {
        panic!("{program}: beige and qemu-ppc disagree\n{report}");
    }
}

#[test]
fn int_arith_matches_qemu() {
    check("int_arith");
}

#[test]
fn rotate_shift_matches_qemu() {
    check("rotate_shift");
}

#[test]
fn compare_cr_matches_qemu() {
    check("compare_cr");
}

#[test]
fn branch_matches_qemu() {
    check("branch");
}

#[test]
fn load_store_matches_qemu() {
    check("load_store");
}

#[test]
fn string_multiple_matches_qemu() {
    check("string_multiple");
}

#[test]
fn atomic_cache_matches_qemu() {
    check("atomic_cache");
}

#[test]
fn fp_arith_matches_qemu() {
    check("fp_arith");
}

#[test]
fn syscalls_match_qemu() {
    check("syscalls");
}

#[test]
fn workload_matches_qemu() {
    check("workload");
}

#[test]
fn self_modifying_code_matches_qemu() {
    check("smc");
}
