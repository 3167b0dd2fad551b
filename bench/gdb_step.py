#!/usr/bin/env python3
"""Single-step latency through a gdb stub: picovmm's (--gdb) against QEMU's (-gdb), on the same
spinning boot sector. A minimal remote-protocol client sends `s` packets and waits for each stop
reply, so the figure is the stub's and the VMM's, not gdb's. Run by bench.py; standalone:

    python3 bench/gdb_step.py [--steps N] [--rounds N]
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PICOVMM = os.path.join(ROOT, "target/release/picovmm")
SPIN = os.path.join(ROOT, "guests/hostile/spin.bin")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connect(port, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
            # gdb sets TCP_NODELAY too: without it every step waits for a delayed ACK (40 ms).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


class Remote:
    """Just enough of gdb's remote serial protocol: packets, acks."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def packet(self, payload):
        body = payload.encode()
        self.sock.sendall(b"$" + body + b"#%02x" % (sum(body) & 0xFF))
        return self.reply()

    def reply(self):
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start + 1) if start >= 0 else -1
            if start >= 0 and end >= 0 and len(self.buf) >= end + 3:
                body = self.buf[start + 1:end]
                self.buf = self.buf[end + 3:]
                self.sock.sendall(b"+")
                return body
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError("the stub closed the connection")
            self.buf += chunk


def steps_per_second(argv, port, steps):
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        remote = Remote(connect(port))
        remote.packet("?")
        remote.packet("s")  # warm up
        start = time.perf_counter()
        for _ in range(steps):
            reply = remote.packet("s")
            if not reply.startswith((b"S", b"T")):
                raise RuntimeError(f"unexpected reply to a step: {reply!r}")
        elapsed = time.perf_counter() - start
        remote.sock.sendall(b"$k#6b")
        return steps / elapsed
    finally:
        proc.kill()
        proc.wait()


def picovmm_argv(port):
    return [PICOVMM, "run", "--image", SPIN, "--gdb", f"127.0.0.1:{port}", "--gdb-wait",
            "--screen", "none"]


def qemu_argv(port, disk):
    return ["qemu-system-x86_64", "-accel", "kvm", "-machine", "pc", "-m", "16", "-display",
            "none", "-serial", "none", "-monitor", "none", "-S", "-gdb", f"tcp:127.0.0.1:{port}",
            "-drive", f"format=raw,file={disk},if=ide"]


def measure(steps, rounds):
    """Median steps per second for each stub, alternating rounds."""
    workdir = tempfile.mkdtemp(prefix="picovmm-gdb-bench-")
    disk = os.path.join(workdir, "disk.img")
    with open(disk, "wb") as f:
        f.write(open(SPIN, "rb").read().ljust(1 << 20, b"\0"))
    contenders = [("picovmm --gdb", picovmm_argv)]
    if shutil.which("qemu-system-x86_64"):
        contenders.append(("QEMU -gdb (-accel kvm)", lambda p: qemu_argv(p, disk)))
    results = {name: [] for name, _ in contenders}
    for _ in range(rounds):
        for name, argv in contenders:
            port = free_port()
            results[name].append(steps_per_second(argv(port), port, steps))
    shutil.rmtree(workdir, ignore_errors=True)
    return {name: statistics.median(v) for name, v in results.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for name, rate in measure(args.steps, args.rounds).items():
        print(f"{name:24} {rate:8.0f} steps/s  {1e6 / rate:7.1f} us per step")


if __name__ == "__main__":
    main()
