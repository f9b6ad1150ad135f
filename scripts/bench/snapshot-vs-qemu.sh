#!/bin/sh
# savevm/loadvm time and snapshot size at the OpenBIOS prompt with -m 256, beige
# against QEMU (migrate "exec:cat > file", and that stream after zstd -3).
#
#   scripts/bench/snapshot-vs-qemu.sh
#
# Targets (issue 5): save <= 0.25 s, load <= 0.15 s, file no larger than QEMU's
# stream after zstd -3. beige's numbers are the best of five in one process;
# QEMU's are wall time of the monitor command until it reports completion, measured over
# its monitor socket (one run each). Environment: QEMU (qemu-system-ppc), OPENBIOS, RAM_MIB.
set -eu
QEMU=${QEMU:-qemu-system-ppc}
OPENBIOS=${OPENBIOS:-/usr/share/qemu/openbios-ppc}
RAM_MIB=${RAM_MIB:-256}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

echo "building snapbench (release)..." >&2
(cd "$ROOT" && cargo build -q --release -p machine-g3beige --example snapbench)
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/examples/snapbench
BEIGE=$("$BIN" "$OPENBIOS" "$RAM_MIB" "$TMP/beige.zst")

echo "running $($QEMU --version | head -1)..." >&2
QEMU_OUT=$(python3 - "$QEMU" "$RAM_MIB" "$TMP" <<'PY'
import os, socket, subprocess, sys, time
qemu, ram, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
mig = os.path.join(tmp, "qemu.mig")

def start(name, extra):
    sock = os.path.join(tmp, name + ".sock")
    serial = os.path.join(tmp, name + ".serial")
    p = subprocess.Popen([qemu, "-M", "g3beige", "-m", ram, "-nographic",
                          "-monitor", "unix:%s,server,nowait" % sock,
                          "-serial", "file:" + serial] + extra,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    for _ in range(500):
        if os.path.exists(sock):
            break
        time.sleep(0.01)
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    mon = Monitor(s)
    mon.until_prompt()
    return p, mon, serial

class Monitor:
    def __init__(self, s):
        self.s, self.buf = s, b""
    def until_prompt(self):
        while b"(qemu) " not in self.buf:
            self.buf += self.s.recv(65536)
        out, self.buf = self.buf.split(b"(qemu) ", 1)
        return out.decode(errors="replace")
    def cmd(self, line):
        self.s.sendall(line.encode() + b"\n")
        return self.until_prompt()

def wait(pred, what, limit=60):
    end = time.time() + limit
    while not pred():
        if time.time() > end:
            sys.exit("QEMU: timed out waiting for " + what)
        time.sleep(0.002)

# savevm: boot to the prompt, stop, migrate to a file, poll until completed.
p, mon, serial = start("save", [])
wait(lambda: b"0 > " in open(serial, "rb").read(), "the OpenBIOS prompt", 120)
mon.cmd("stop")
# QEMU 7.2 caps migration at 128 MiB/s by default; lift it for a fair save time.
mon.cmd("migrate_set_parameter max-bandwidth 100G")
t0 = time.perf_counter()
# -d: HMP's blocking migrate only re-checks completion once a second.
mon.cmd('migrate -d "exec:cat > %s"' % mig)
wait(lambda: "completed" in mon.cmd("info migrate"), "migrate to complete")
save = [time.perf_counter() - t0]
p.kill(); p.wait()

# loadvm: a paused QEMU takes the stream with migrate_incoming.
p, mon, _ = start("load", ["-incoming", "defer"])
t0 = time.perf_counter()
mon.cmd('migrate_incoming "exec:cat %s"' % mig)
wait(lambda: "inmigrate" not in mon.cmd("info status"), "the incoming migration")
load = [time.perf_counter() - t0]
p.kill(); p.wait()
print("qemu save_s=%.3f load_s=%.3f size=%d" % (min(save), min(load), os.path.getsize(mig)))
PY
)
zstd -q -3 -f "$TMP/qemu.mig" -o "$TMP/qemu.mig.zst"
QZ=$(stat -c %s "$TMP/qemu.mig.zst")

echo "$BEIGE"
echo "$QEMU_OUT qemu_zstd3_size=$QZ"
python3 - "$BEIGE" "$QEMU_OUT" "$QZ" <<'PY'
import sys
def kv(s): return {k: float(v) for k, v in (w.split("=") for w in s.split()[1:])}
b, q, qz = kv(sys.argv[1]), kv(sys.argv[2]), float(sys.argv[3])
print("%-6s %10s %10s %14s" % ("", "save s", "load s", "file bytes"))
print("%-6s %10.3f %10.3f %14d" % ("beige", b["save_s"], b["load_s"], b["size"]))
print("%-6s %10.3f %10.3f %14d  (raw stream; %d after zstd -3)" % ("qemu", q["save_s"], q["load_s"], q["size"], qz))
print("ratios beige/qemu: save %.2f, load %.2f, size vs zstd -3 %.2f" % (
    b["save_s"] / q["save_s"], b["load_s"] / q["load_s"], b["size"] / qz))
ok = b["save_s"] <= 0.25 and b["load_s"] <= 0.15 and b["size"] <= qz
print("targets (save <= 0.25 s, load <= 0.15 s, size <= qemu zstd -3):", "met" if ok else "NOT met")
PY
