"""`picovmm test` against the usual way: the project's own suite with one job and with one per
CPU, and three checks (a boot sector's screen, a REPL typed into, a guest's exit status) each
done by `picovmm test` and by QEMU + SeaBIOS driven over its human monitor, as test scripts
drive it. QEMU gets its best case: the monitor is polled for the screen every 10 ms (reading
text memory with `xp`) instead of the usual fixed sleeps. Used by bench.py; runs alone too:

    python3 bench/testrun.py [--rounds N]
"""

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PICOVMM = os.path.join(ROOT, "target/release/picovmm")
PLUGINS = os.path.join(ROOT, "target/release/deps")
DEADLINE = 60

CHECKS = {
    "hello: boot, screen shows the greeting": (
        "guests/hello/hello.bin",
        '[[test]]\nname = "t"\nsteps = [{ screen = "Hello World from picovmm" }]\n',
        [("screen", "Hello World from picovmm")],
    ),
    "repl: boot a disk, type a line, read the answer": (
        "guests/bios/repl.bin",
        '[[test]]\nname = "t"\nsteps = [{ screen = ">" }, { type = "hello\\n" }, { screen = "HELLO (5)" }]\n',
        [("screen", ">"), ("type", "hello\n"), ("screen", "HELLO (5)")],
    ),
    "exit-code: boot, the guest's exit status": (
        "guests/tests/exit-code.bin",
        '[[test]]\nname = "t"\nsteps = [{ exit = 0x2a }]\n',
        [("status", 85)],
    ),
}


def timed(argv, cwd=None):
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(argv)} failed:\n{proc.stdout.decode(errors='replace')}")
    return wall


class Monitor:
    """QEMU's human monitor on a Unix socket."""

    def __init__(self, path):
        start = time.monotonic()
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() - start > DEADLINE:
                    raise
                time.sleep(0.002)
        self.until_prompt()

    def until_prompt(self):
        data = b""
        while not data.endswith(b"(qemu) "):
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        return data.decode(errors="replace")

    def command(self, line):
        self.sock.sendall(line.encode() + b"\n")
        return self.until_prompt()

    def screen(self):
        out = self.command("xp /2000hx 0xb8000")
        words = re.findall(r"0x([0-9a-f]{4})\b", out.split("\n", 1)[-1])
        return "".join(chr(int(w, 16) & 0xFF) for w in words)


KEYS = {" ": "spc", "\n": "ret"}


def qemu_check(image, steps, workdir):
    disk = os.path.join(workdir, "disk.img")
    with open(disk, "wb") as f:
        f.write(open(os.path.join(ROOT, image), "rb").read().ljust(1 << 20, b"\0"))
    mon = os.path.join(workdir, "mon.sock")
    argv = ["qemu-system-x86_64", "-accel", "kvm", "-machine", "pc", "-m", "16", "-display", "none",
            "-serial", "none", "-no-reboot", "-drive", f"format=raw,file={disk},if=ide",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-monitor", f"unix:{mon},server=on,wait=off"]
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        monitor = None
        for kind, value in steps:
            if kind == "status":
                if proc.wait(timeout=DEADLINE) != value:
                    sys.exit("bench: QEMU's exit status differs")
                continue
            monitor = monitor or Monitor(mon)
            if kind == "screen":
                while value not in monitor.screen():
                    if time.perf_counter() - start > DEADLINE:
                        sys.exit(f"bench: QEMU never showed {value!r}")
                    time.sleep(0.01)
            else:
                for c in value:
                    monitor.command(f"sendkey {KEYS.get(c, c)}")
        if monitor:
            monitor.command("quit")
        proc.wait(timeout=DEADLINE)
    finally:
        proc.kill()
        proc.wait()
    return time.perf_counter() - start


def measure(rounds, use_qemu):
    """Prints the figures; returns table rows."""
    rows = []
    cpus = os.cpu_count() or 1
    suite = {"--jobs 1": [], f"--jobs {cpus}": []}
    tests = 0
    for _ in range(rounds):
        for jobs in suite:
            argv = [PICOVMM, "test", "tests", "--plugin-dir", PLUGINS] + jobs.split()
            suite[jobs].append(timed(argv, cwd=ROOT))
    listed = subprocess.run([PICOVMM, "test", "tests", "--list"], cwd=ROOT, capture_output=True, text=True)
    tests = len(listed.stdout.splitlines())
    print(f"\npicovmm test, the project's suite ({tests} tests), {rounds} alternating rounds (whole process, median):")
    for jobs, samples in suite.items():
        ms = statistics.median(samples) * 1e3
        print(f"  {jobs:10} {ms:8.1f} ms  ({ms / tests:.1f} ms a test)")
        rows.append((f"picovmm test, own suite ({tests} tests) {jobs}", f"{ms:.0f} ms", f"{ms / tests:.1f} ms a test"))
    with tempfile.TemporaryDirectory(prefix="picovmm-testrun-") as workdir:
        print(f"\none check, {rounds} alternating rounds (whole process, median):")
        for name, (image, text, steps) in CHECKS.items():
            path = os.path.join(workdir, "check.test.toml")
            with open(path, "w") as f:
                f.write(f'[machine]\nimage = "{os.path.join(ROOT, image)}"\n\n' if "repl" not in name
                        else f'[machine]\ndrives = ["{os.path.join(ROOT, image)},readonly"]\n\n')
                f.write(text)
            pico, qemu = [], []
            for r in range(rounds):
                pico.append(timed([PICOVMM, "test", path, "--jobs", "1"]))
                if use_qemu and r < 3:
                    qemu.append(qemu_check(image, steps, workdir))
            p = statistics.median(pico) * 1e3
            line = f"  {name:50} picovmm test {p:7.1f} ms"
            comparison = "QEMU not run"
            if qemu:
                q = statistics.median(qemu) * 1e3
                line += f"   QEMU + SeaBIOS over the monitor {q:7.0f} ms  ({q / p:.0f}x)"
                comparison = f"QEMU + SeaBIOS, monitor polled: {q:.0f} ms ({q / p:.0f}x)"
            print(line)
            rows.append((f"test check, {name}", f"{p:.1f} ms", comparison))
    return rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    measure(args.rounds, shutil.which("qemu-system-x86_64") is not None)
