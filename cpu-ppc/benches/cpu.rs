//! Guest MIPS of the interpreter on three user-mode loops: integer ALU, load/store,
//! and branchy code. Criterion's "elements" throughput is retired guest instructions.

use std::process::Command;

use cpu_ppc::{Bus, Cpu, CpuConfig, Exit, GuestRam};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

struct RamBus(GuestRam);

// SAFETY: `ram` returns the bus's own RAM, never replaced.
#[allow(unsafe_code)]
unsafe impl Bus for RamBus {
    fn ram(&mut self) -> &mut GuestRam {
        &mut self.0
    }
    fn read(&mut self, _pa: u32, _size: u32, _now: u64) -> u32 {
        0
    }
    fn write(&mut self, _pa: u32, _size: u32, _value: u32, _now: u64) {}
    fn take_pins(&mut self) -> Option<u32> {
        None
    }
    fn stop_requested(&mut self) -> bool {
        false
    }
}

fn asm(src: &str) -> Vec<u32> {
    let dir = std::env::temp_dir().join(format!("beige-cpu-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (s, o, bin) = (dir.join("b.s"), dir.join("b.o"), dir.join("b.bin"));
    std::fs::write(&s, format!(".text\n{src}\n")).unwrap();
    let ok = Command::new("powerpc-linux-gnu-as")
        .args(["-mregnames", "-o"])
        .arg(&o)
        .arg(&s)
        .status()
        .expect("powerpc-linux-gnu-as is needed for this benchmark")
        .success();
    assert!(ok);
    let ok = Command::new("powerpc-linux-gnu-objcopy")
        .args(["-O", "binary", "-j", ".text"])
        .arg(&o)
        .arg(&bin)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    std::fs::read(&bin)
        .unwrap()
        .chunks(4)
        .map(|c| u32::from_be_bytes(c.try_into().unwrap()))
        .collect()
}

const ITERS: u32 = 200_000;

/// Integer ALU: 7 instructions per iteration.
const INT_LOOP: &str = "
    lis r4, ITERS@h
    ori r4, r4, ITERS@l
    mtctr r4
1:  addi r5, r5, 1
    xor r6, r6, r5
    rlwinm r7, r6, 3, 0, 28
    add r8, r7, r5
    subf. r9, r8, r6
    mullw r10, r9, r5
    bdnz 1b
    sc";

/// Load/store: copy and sum a 4 KB buffer, 8 instructions per iteration.
const MEM_LOOP: &str = "
    lis r4, ITERS@h
    ori r4, r4, ITERS@l
    mtctr r4
    lis r20, 0x10
    lis r21, 0x11
1:  rlwinm r3, r5, 2, 20, 29
    lwzx r6, r20, r3
    add r7, r7, r6
    stwx r7, r21, r3
    lbz r8, 3(r21)
    stb r8, 7(r20)
    addi r5, r5, 1
    bdnz 1b
    sc";

/// Branchy: data-dependent conditional branches and a call per iteration,
/// 12 instructions per iteration on average.
const BRANCH_LOOP: &str = "
    lis r4, ITERS@h
    ori r4, r4, ITERS@l
    mtctr r4
1:  addi r5, r5, 1
    andi. r6, r5, 3
    beq 2f
    cmpwi r6, 2
    blt 3f
    addi r7, r7, 2
    b 4f
2:  addi r7, r7, 1
    b 4f
3:  subi r7, r7, 1
4:  bl 5f
    bdnz 1b
    sc
5:  xor r8, r8, r7
    blr";

fn bench_program(c: &mut Criterion, name: &str, src: &str) {
    let src = src.replace("ITERS", &ITERS.to_string());
    let words = asm(&src);
    let mut bus = RamBus(GuestRam::new(4 << 20));
    for (k, w) in words.iter().enumerate() {
        bus.0.write_u32(0x1000 + 4 * k as u32, *w);
    }
    // Count the instructions once to report guest MIPS.
    let mut cpu = Cpu::new(CpuConfig {
        user_mode: true,
        ..CpuConfig::default()
    });
    cpu.nip = 0x1000;
    assert_eq!(cpu.run(&mut bus, u64::MAX), Exit::Syscall);
    let insns = cpu.icount;

    let mut g = c.benchmark_group("guest");
    g.throughput(Throughput::Elements(insns));
    g.sample_size(10);
    g.bench_function(name, |b| {
        b.iter(|| {
            cpu.nip = 0x1000;
            cpu.gpr = [0; 32];
            let exit = cpu.run(&mut bus, u64::MAX);
            assert_eq!(exit, Exit::Syscall);
        })
    });
    g.finish();
}

fn benches(c: &mut Criterion) {
    bench_program(c, "int_loop", INT_LOOP);
    bench_program(c, "load_store_loop", MEM_LOOP);
    bench_program(c, "branchy_loop", BRANCH_LOOP);
}

criterion_group!(cpu, benches);
criterion_main!(cpu);
