#!/usr/bin/env bash
# Times beige's CPU (user mode, the beige-user runner, release build) against
# qemu-ppc -cpu 750 on the same static binaries: an integer loop, a
# load/store loop, a branchy interpreter, an FP loop and a larger C workload
# (CRC, sort, integer and FP matrix multiply).
#
# Prints CPU seconds (user + sys) under each, beige's retired guest
# instructions, guest MIPS for both (same instruction count), and the speed
# ratio QEMU time / beige time (>1 means beige is faster). Outputs are
# compared too: a mismatch is flagged.
#
# usage: tests/bench/cpu-vs-qemu.sh [PROGRAM...]
#   SCALE=n multiplies every workload's iteration count (default 1).
#   REPEAT=n takes the best of n runs per emulator (default 1).
#   BEIGE_USER=path uses that beige-user binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/../.."

scale=${SCALE:-1}
repeat=${REPEAT:-1}
target=${CARGO_TARGET_DIR:-target}
out="$target/beige-bench"
mkdir -p "$out"

for tool in powerpc-linux-gnu-gcc qemu-ppc; do
  command -v "$tool" >/dev/null || { echo "$tool missing: run scripts/setup" >&2; exit 1; }
done

if [ -n "${BEIGE_USER:-}" ]; then
  beige=$BEIGE_USER
else
  echo "building beige-user (release)..." >&2
  cargo build --release -q -p beige-tests --bin beige-user
  beige="$target/release/beige-user"
fi

rt=tests/guest/cpu/rt
cflags=(-static -nostdlib -ffreestanding -O1 -mcpu=750 -fno-pie -no-pie
        -fno-stack-protector -fno-asynchronous-unwind-tables -Wl,--build-id=none -I"$rt")

# name, source, the define that sets its size, its default size.
programs=(
  "int_loop  tests/guest/bench/int_loop.c ITER 20000000"
  "mem_loop  tests/guest/bench/mem_loop.c ITER 400"
  "branchy   tests/guest/bench/branchy.c  ITER 300000"
  "fp_loop   tests/guest/bench/fp_loop.c  ITER 40"
  "workload  tests/guest/cpu/workload.c   ROUNDS 40"
)

calc() { awk "BEGIN { print $1 }"; }
# CPU time (user + sys) from bash's `time`: steadier than wall time on a
# shared machine. QEMU's TCG thread and beige are both single-threaded.
TIMEFORMAT='%3U %3S'
cputime() { awk '{ print $1 + $2 }' "$1"; }
best() { # best (lowest) of the numbers on stdin
  sort -g | head -1
}

printf '%-10s %11s %11s %14s %10s %10s %8s\n' program qemu_cpu_s beige_cpu_s guest_insns qemu_MIPS beige_MIPS ratio
for entry in "${programs[@]}"; do
  read -r name src define size <<<"$entry"
  if [ $# -gt 0 ] && [[ " $* " != *" $name "* ]]; then continue; fi
  size=$((size * scale))
  exe="$out/$name-$size"
  if [ ! -x "$exe" ] || [ "$src" -nt "$exe" ] || [ "$rt/rt.c" -nt "$exe" ]; then
    powerpc-linux-gnu-gcc "${cflags[@]}" "-D$define=$size" -o "$exe" \
      "$rt/start.S" "$rt/rt.c" "$src" -lgcc
  fi

  qtimes=() btimes=()
  for _ in $(seq "$repeat"); do
    { time qemu-ppc -cpu 750 "$exe" >"$out/$name.qemu.out"; } 2>"$out/$name.qemu.time"
    qtimes+=("$(cputime "$out/$name.qemu.time")")
    { time "$beige" --stats "$exe" >"$out/$name.beige.out" 2>"$out/$name.beige.err" || true; } \
      2>"$out/$name.beige.time"
    btimes+=("$(cputime "$out/$name.beige.time")")
  done
  qt=$(printf '%s\n' "${qtimes[@]}" | best)
  bt=$(printf '%s\n' "${btimes[@]}" | best)
  insns=$(sed -n 's/^beige-user: \([0-9]*\) instructions.*/\1/p' "$out/$name.beige.err")
  flag=""
  if ! cmp -s "$out/$name.qemu.out" "$out/$name.beige.out"; then
    flag="  OUTPUT DIFFERS ($(tail -1 "$out/$name.beige.err"))"
  fi
  if [ -z "$insns" ]; then insns=0; fi
  printf '%-10s %11.3f %11.3f %14d %10.1f %10.1f %7.3fx%s\n' "$name" "$qt" "$bt" "$insns" \
    "$(calc "$insns / $qt / 1e6")" "$(calc "$insns / $bt / 1e6")" "$(calc "$qt / $bt")" "$flag"
done
