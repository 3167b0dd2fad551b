"""An operating system from power-on to its prompt on the screen: picovmm (each backend this
host has) against QEMU (TCG and KVM), alternating, whole processes.

The image is the user's (a DOS floppy, a hard disk): `bench.py --os IMAGE --prompt TEXT`.
Each run starts the emulator with a control socket and ends when TEXT is on the VGA text
screen: picovmm's `screen-wait` answers then; QEMU's text screen is read from guest memory
(QMP `pmemsave` of 0xB8000) every few milliseconds. The image is never written (picovmm's
`snapshot` drive option, QEMU's `snapshot=on`).
"""

import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import tempfile
import time

FLOPPY_MAX = 2_949_120
TEXT_SCREEN = 0xB8000


def qmp_connect(path, deadline):
    """A QMP connection to the socket at `path` once it accepts one, past its greeting and
    capabilities negotiation; None if nothing listens there before `deadline`."""
    while time.perf_counter() < deadline:
        try:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(path)
        except OSError:
            sock.close()
            time.sleep(0.001)
            continue
        stream = sock.makefile("rw")
        stream.readline()
        qmp(stream, "qmp_capabilities")
        return sock, stream
    return None


def qmp(stream, command, **arguments):
    """Sends one QMP command and returns its reply (events before it are skipped)."""
    stream.write(json.dumps({"execute": command, "arguments": arguments}) + "\n")
    stream.flush()
    while True:
        line = stream.readline()
        if not line:
            raise ConnectionResetError(f"the emulator closed its QMP socket during {command}")
        reply = json.loads(line)
        if "return" in reply or "error" in reply:
            return reply


def screen_text(dump):
    """The 80x25 text screen in a dump of its memory, one line a row, trailing spaces trimmed
    (as picovmm's screen text is)."""
    chars = dump[0:4000:2].decode("cp437")
    return "\n".join(chars[row * 80:(row + 1) * 80].rstrip() for row in range(25))


@contextlib.contextmanager
def started(argv, sock_path, start, limit):
    """Starts `argv` (which serves QMP at `sock_path`) and yields a QMP stream to it, or None
    if nothing listens there within `limit` of `start`; the process is killed and the socket
    removed afterwards."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        connected = qmp_connect(sock_path, start + limit)
        yield connected[1] if connected else None
    finally:
        proc.kill()
        proc.wait()
        if os.path.exists(sock_path):
            os.unlink(sock_path)


def picovmm_until(argv, prompt, workdir, limit):
    """Seconds from starting picovmm until `prompt` is on its screen (None if not in `limit`)."""
    sock_path = os.path.join(workdir, "picovmm.sock")
    start = time.perf_counter()
    try:
        with started(argv + ["--control", f"unix:{sock_path}"], sock_path, start, limit) as qmp_stream:
            while qmp_stream and time.perf_counter() - start < limit:
                if "return" in qmp(qmp_stream, "screen-wait", text=prompt, timeout=250):
                    return time.perf_counter() - start
                if qmp(qmp_stream, "query-status")["return"].get("status") == "shutdown":
                    return None
            return None
    except OSError:
        # The run ended, and picovmm with it.
        return None


def qemu_until(argv, prompt, workdir, limit):
    """Seconds from starting QEMU until `prompt` is on its text screen (None if not in
    `limit`)."""
    sock_path = os.path.join(workdir, "qemu.sock")
    dump = os.path.join(workdir, "screen.bin")
    start = time.perf_counter()
    qemu = argv + ["-qmp", f"unix:{sock_path},server=on,wait=off"]
    with started(qemu, sock_path, start, limit) as qmp_stream:
        while qmp_stream and time.perf_counter() - start < limit:
            qmp(qmp_stream, "pmemsave", val=TEXT_SCREEN, size=4000, filename=dump)
            with open(dump, "rb") as f:
                if prompt in screen_text(f.read()):
                    return time.perf_counter() - start
            time.sleep(0.002)
        return None


def contenders(picovmm, image, use_qemu, kvm_usable):
    """(name, how to wait, argv) of each emulator and backend that can run here."""
    floppy = os.path.getsize(image) <= FLOPPY_MAX
    kind = "floppy" if floppy else "hd"
    pico = [picovmm, "run", "--drive", f"{image},snapshot,{kind}", "--screen", "none",
            "--display", "none", "-m", "16M"]
    found = [("picovmm --accel auto", picovmm_until, pico + ["--accel", "auto"]),
             ("picovmm --accel interp", picovmm_until, pico + ["--accel", "interp"])]
    if kvm_usable:
        found.append(("picovmm --accel kvm", picovmm_until, pico + ["--accel", "kvm"]))
    if use_qemu:
        qemu = ["qemu-system-i386", "-machine", "pc", "-m", "16", "-display", "none",
                "-monitor", "none", "-serial", "none", "-no-reboot",
                "-drive", f"file={image},format=raw,snapshot=on,if={'floppy' if floppy else 'ide'}",
                "-boot", "a" if floppy else "c"]
        found.append(("QEMU -accel tcg", qemu_until, qemu + ["-accel", "tcg"]))
        if kvm_usable:
            found.append(("QEMU -accel kvm", qemu_until, qemu + ["-accel", "kvm"]))
    return found


def measure(picovmm, image, prompt, rounds, limit=120.0):
    """Rows for the table: the median seconds to the prompt of each contender, and QEMU TCG's
    time over picovmm's default backend's. Trailing spaces of `prompt` are not compared (the
    screens' rows are trimmed)."""
    prompt = prompt.rstrip()
    if not os.path.isfile(image):
        raise SystemExit(f"bench: {image}: no such disk image")
    if not prompt:
        raise SystemExit("bench: --prompt is empty: say what the OS shows when it is up")
    use_qemu = shutil.which("qemu-system-i386") is not None
    kvm_usable = os.access("/dev/kvm", os.R_OK | os.W_OK)
    found = contenders(picovmm, image, use_qemu, kvm_usable)
    samples = {name: [] for name, _, _ in found}
    workdir = tempfile.mkdtemp(prefix="picovmm-osboot-")
    failed = set()
    for _ in range(rounds):
        for name, until, argv in found:
            if name in failed:
                continue
            wall = until(argv, prompt, workdir, limit)
            if wall is None:
                failed.add(name)
            else:
                samples[name].append(wall)
    shutil.rmtree(workdir, ignore_errors=True)
    label = os.path.basename(image)
    print(f"\n{label}: power-on to {prompt!r} on the screen, {rounds} alternating rounds (median):")
    rows = []
    for name, _, _ in found:
        if name in failed:
            print(f"  {name:28} did not show it (the run ended, or {limit:.0f} s passed)")
            rows.append((f"{label} to {prompt!r}, {name}", "did not get there", ""))
            continue
        ms = statistics.median(samples[name]) * 1e3
        print(f"  {name:28} {ms:10.1f} ms")
        rows.append((f"{label} to {prompt!r}, {name}", f"{ms:.1f} ms", "power-on to prompt"))
    if not {"QEMU -accel tcg", "picovmm --accel auto"} & failed and "QEMU -accel tcg" in samples:
        ratio = statistics.median(samples["QEMU -accel tcg"]) / statistics.median(
            samples["picovmm --accel auto"])
        print(f"  QEMU TCG takes {ratio:.2f}x picovmm's default backend's time")
        rows.append((f"{label} to its prompt, QEMU TCG / picovmm", f"{ratio:.2f}x", "whole boot"))
    return rows
