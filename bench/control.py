"""The control socket: a query-status round trip on a live machine, idle and busy, against
QEMU's QMP doing the same; and what an idle control socket costs the guest (port exits with
and without --control). Used by bench.py."""

import json
import os
import socket
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PANEL = os.path.join(ROOT, "guests/control/panel.bin")  # idles in sti; hlt between ticks
SPIN = os.path.join(ROOT, "guests/hostile/spin.bin")  # jmp $: always busy
REQUESTS = 2000


class Client:
    def __init__(self, path, deadline=30):
        start = time.monotonic()
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(path)
                break
            except OSError:
                if time.monotonic() - start > deadline:
                    raise
                time.sleep(0.005)
        self.lines = self.sock.makefile("rw")
        json.loads(self.lines.readline())

    def execute(self, name):
        self.lines.write(json.dumps({"execute": name}) + "\n")
        self.lines.flush()
        while True:
            reply = json.loads(self.lines.readline())
            if "event" not in reply:
                return reply

    def close(self):
        self.sock.close()


def round_trips(path, n):
    """Median and 99th percentile of n query-status round trips, in microseconds."""
    client = Client(path)
    client.execute("qmp_capabilities")
    times = []
    for _ in range(n):
        start = time.perf_counter()
        client.execute("query-status")
        times.append((time.perf_counter() - start) * 1e6)
    client.close()
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99)]


def picovmm_round_trips(picovmm, image, n, workdir):
    path = os.path.join(workdir, "bench.sock")
    proc = subprocess.Popen([picovmm, "run", "--image", image, "--control", f"unix:{path}",
                             "--timeout", "120s"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return round_trips(path, n)
    finally:
        proc.kill()
        proc.wait()


def qemu_round_trips(image, n, workdir):
    disk = os.path.join(workdir, "qmp.img")
    with open(disk, "wb") as f:
        f.write(open(image, "rb").read().ljust(1 << 20, b"\0"))
    path = os.path.join(workdir, "qmp.sock")
    proc = subprocess.Popen([
        "qemu-system-x86_64", "-accel", "kvm", "-machine", "pc", "-m", "16", "-display", "none",
        "-serial", "none", "-monitor", "none", "-drive", f"format=raw,file={disk},if=ide",
        "-qmp", f"unix:{path},server=on,wait=off",
    ], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return round_trips(path, n)
    finally:
        proc.kill()
        proc.wait()


def measure(picovmm, use_qemu, quick):
    """{name: (median us, p99 us)} for the round trips."""
    n = 500 if quick else REQUESTS
    results = {}
    with tempfile.TemporaryDirectory(prefix="picovmm-control-") as workdir:
        for state, image in (("idle", PANEL), ("busy", SPIN)):
            results[f"picovmm, guest {state}"] = picovmm_round_trips(picovmm, image, n, workdir)
            if use_qemu:
                results[f"QEMU QMP, guest {state}"] = qemu_round_trips(image, n, workdir)
    return results
