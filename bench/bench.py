#!/usr/bin/env python3
"""picovmm benchmarks, run by bench/run (which builds what this needs).

Each benchmark runs its contenders in alternation, round after round, in one invocation, so
that drift in the machine's speed falls on all of them alike. Times are whole-process wall
times (fork to exit); peak RSS comes from wait4(2) for each process. Prints medians, ratios,
picovmm's exit counts (from --stats-json) and a Markdown table for docs/performance.md.
"""

import argparse
import json
import os
import platform
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import osboot

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PICOVMM = os.path.join(ROOT, "target/release/picovmm")
BASELINE = os.path.join(ROOT, "target/bench/pico")
SAMPLE = os.path.join(ROOT, "guests/hello/hello.bin")
SAMPLE_EXIT = os.path.join(ROOT, "guests/bench/hello-exit.bin")
PORT_LOOP = os.path.join(ROOT, "guests/bench/port-loop.bin")
PORT_WRITES = 100_000
DISPATCH = os.path.join(ROOT, "target/release/examples/dispatch")
LATCH_PLUGIN = os.path.join(ROOT, "target/bench/liblatch.so")
PORT_LOOP_PLUGIN = os.path.join(ROOT, "bench/machines/port-loop-plugin.toml")
IRQCHIP = os.path.join(ROOT, "target/bench/irqchip")
PIT_1KHZ = os.path.join(ROOT, "guests/irq/pit-1khz.bin")
PIT_TICKS = 600
IRQ_LATENCY = os.path.join(ROOT, "guests/bench/irq-latency.bin")
PIT_HZ = 1_193_182
BIOS_HELLO = os.path.join(ROOT, "guests/bench/bios-hello.bin")
TELETYPE_LOOP = os.path.join(ROOT, "guests/bench/teletype-loop.bin")
TELETYPE_CALLS = 4000
PALETTE = os.path.join(ROOT, "guests/display/palette.bin")
SCREEN_WRITER = os.path.join(ROOT, "guests/bench/screen-writer.bin")
MIPS_LOOP = os.path.join(ROOT, "guests/bench/mips-loop.bin")
SIEVE = os.path.join(ROOT, "guests/bench/sieve.bin")
VGA_FILL = os.path.join(ROOT, "guests/bench/vga-fill.bin")
VGA_FILL_13H = os.path.join(ROOT, "guests/bench/vga-fill13.bin")
VGA_FILLS = 4
A20_TOGGLE = os.path.join(ROOT, "guests/bench/a20-toggle.bin")
VBE_FRAME = os.path.join(ROOT, "guests/bios/vbe.bin")
FLOPPY_READ = os.path.join(ROOT, "guests/bench/floppy-read.bin")
FLOPPY_SECTORS = 2 * 2880
PM_LOOP = os.path.join(ROOT, "guests/bench/pm-loop.bin")
PAGING_LOOP = os.path.join(ROOT, "guests/bench/paging-loop.bin")
A20_SWITCHES = 2000


class Sample:
    """One run: wall time and user-space CPU time, in seconds."""

    def __init__(self, wall, user, sys_=0.0):
        self.wall, self.user, self.sys = wall, user, sys_


def run_once(argv, expect_status):
    """Runs argv and times it. Fails on an unexpected exit status."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != expect_status:
        sys.exit(f"bench: {' '.join(argv)} exited {code}, expected {expect_status}\n"
                 + stderr.decode(errors="replace"))
    return Sample(wall, usage.ru_utime, usage.ru_stime)


def peak_rss_kib(argv, runs=5):
    """Median peak RSS of argv, measured by GNU time. (A child forked from Python would report
    Python's own RSS: the kernel keeps the high-water mark of the memory image it exec'ed from.)"""
    values = []
    for _ in range(runs):
        proc = subprocess.run(["/usr/bin/time", "-f", "%M"] + argv, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, check=False)
        values.append(int(proc.stderr.decode().strip().splitlines()[-1]))
    return statistics.median(values)


def alternate(contenders, rounds):
    """contenders: list of (name, argv, expected status, rounds or None). Returns per-name samples."""
    samples = {name: [] for name, *_ in contenders}
    for r in range(rounds):
        for name, argv, status, limit in contenders:
            if limit is None or r < limit:
                samples[name].append(run_once(argv, status))
    return samples


def median_ms(samples):
    return statistics.median(s.wall for s in samples) * 1e3


def median_user_us(samples):
    return statistics.median(s.user for s in samples) * 1e6


def latency_us(argv):
    """Runs the irq-latency guest; returns {idle,busy: (avg, max)} in microseconds."""
    out = subprocess.run(argv, capture_output=True, text=True, check=False).stdout.split()
    values = {}
    for i in (0, 3):
        avg, mx = int(out[i + 1], 16), int(out[i + 2], 16)
        values[out[i]] = (avg / PIT_HZ * 1e6, mx / PIT_HZ * 1e6)
    return values


def stats_json(argv):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        subprocess.run(argv + ["--stats-json", f.name], stdout=subprocess.DEVNULL, check=False)
        return json.load(open(f.name))


def machine_line():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    modules = [m for m in ("kvm_intel", "kvm_amd", "kvm_pvm") if os.path.exists(f"/sys/module/{m}")]
    return f"{cpu}, {os.cpu_count()} cores, Linux {platform.release()}, KVM module {', '.join(modules) or 'kvm'}"


def qemu_argv(disk):
    return [
        "qemu-system-x86_64", "-accel", "kvm", "-machine", "pc", "-m", "16",
        "-display", "none", "-serial", "none", "-monitor", "none", "-no-reboot",
        "-drive", f"format=raw,file={disk},if=ide",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
    ]


def qemu_tcg_argv(disk):
    return [a if a != "kvm" else "tcg" for a in qemu_argv(disk)]


def cpu_backends(rounds, use_qemu, workdir):
    """The CPU backends on plain real-mode code and on a BIOS boot sector, against QEMU."""
    rows = []
    mips_disk = os.path.join(workdir, "mips.img")
    with open(mips_disk, "wb") as f:
        f.write(open(MIPS_LOOP, "rb").read().ljust(1 << 20, b"\0"))
    contenders = [
        ("picovmm --accel kvm", [PICOVMM, "run", "--accel", "kvm", "--image", MIPS_LOOP], 0x21, None),
        ("picovmm --accel interp", [PICOVMM, "run", "--accel", "interp", "--image", MIPS_LOOP], 0x21, None),
    ]
    if use_qemu:
        contenders.append(("QEMU -accel tcg (SeaBIOS, disk)", qemu_tcg_argv(mips_disk), 0x21, None))
        contenders.append(("QEMU -accel kvm (SeaBIOS, disk)", qemu_argv(mips_disk), 0x21, 3))
    samples = alternate(contenders, rounds)
    stats = stats_json([PICOVMM, "run", "--accel", "interp", "--image", MIPS_LOOP])
    instructions = stats["instructions"]
    print(f"\nCPU: {instructions:,} real-mode instructions (add; dec; jnz), {rounds} alternating "
          "rounds (whole process, median; QEMU's includes SeaBIOS's boot):")
    for name, *_ in contenders:
        ms = median_ms(samples[name])
        print(f"  {name:34} {ms:9.1f} ms  {instructions / ms / 1e3:8.0f} MIPS")
        rows.append((f"CPU loop, {name}", f"{ms:.1f} ms", f"{instructions / ms / 1e3:.0f} MIPS"))
    interp_run = statistics.median(
        stats_json([PICOVMM, "run", "--accel", "interp", "--image", MIPS_LOOP])["run_ns"] / 1e6
        for _ in range(5)
    )
    print(f"  the interpreter's run loop alone: {interp_run:.1f} ms, {instructions / interp_run / 1e3:.0f} MIPS")
    rows.append(("CPU loop, the interpreter's run loop alone", f"{interp_run:.1f} ms",
                 f"{instructions / interp_run / 1e3:.0f} MIPS"))
    rows += sieve_backends(rounds, use_qemu, workdir)
    bios_disk = os.path.join(workdir, "bios-hello-cpu.img")
    with open(bios_disk, "wb") as f:
        f.write(open(BIOS_HELLO, "rb").read().ljust(1 << 20, b"\0"))
    boots = [
        ("picovmm --accel kvm", [PICOVMM, "run", "--accel", "kvm", "--drive", bios_disk + ",readonly"], 1, None),
        ("picovmm --accel interp", [PICOVMM, "run", "--accel", "interp", "--drive", bios_disk + ",readonly"], 1, None),
    ]
    if use_qemu:
        boots.append(("QEMU -accel tcg (SeaBIOS)", qemu_tcg_argv(bios_disk), 1, 3))
    boot_samples = alternate(boots, rounds)
    print(f"\nBIOS boot sector to its first screen, by backend, {rounds} rounds (whole process, median):")
    for name, *_ in boots:
        ms = median_ms(boot_samples[name])
        print(f"  {name:34} {ms:9.2f} ms")
        rows.append((f"BIOS boot sector to first screen, {name}", f"{ms:.2f} ms", "whole process"))
    if use_qemu:
        # QEMU's loop alone: its whole run less its boot of the BIOS boot sector.
        loop = median_ms(samples["QEMU -accel tcg (SeaBIOS, disk)"]) - median_ms(boot_samples["QEMU -accel tcg (SeaBIOS)"])
        if loop > 0:
            print(f"  QEMU -accel tcg, the loop alone (its run less its boot): {loop:.1f} ms, "
                  f"{instructions / loop / 1e3:.0f} MIPS")
            rows.append(("CPU loop, QEMU -accel tcg alone (run less boot)", f"{loop:.1f} ms",
                         f"{instructions / loop / 1e3:.0f} MIPS"))
    return rows


def sieve_backends(rounds, use_qemu, workdir):
    """Code with loads, stores, calls and the stack (the sieve), by backend, against QEMU."""
    disk = os.path.join(workdir, "sieve.img")
    with open(disk, "wb") as f:
        f.write(open(SIEVE, "rb").read().ljust(1 << 20, b"\0"))
    # Not under this host's KVM, which emulates each real-mode instruction (about 9 s a run).
    contenders = [
        ("picovmm --accel interp", [PICOVMM, "run", "--accel", "interp", "--image", SIEVE], 0x21, None),
    ]
    if use_qemu:
        contenders.append(("QEMU -accel tcg (SeaBIOS, disk)", qemu_tcg_argv(disk), 0x21, None))
    samples = alternate(contenders, rounds)
    instructions = stats_json([PICOVMM, "run", "--accel", "interp", "--image", SIEVE])["instructions"]
    print(f"\nCPU with memory: the sieve (guests/bench/sieve.bin), {instructions:,} real-mode "
          f"instructions, {rounds} alternating rounds (whole process, median):")
    rows = []
    for name, *_ in contenders:
        ms = median_ms(samples[name])
        print(f"  {name:34} {ms:9.1f} ms  {instructions / ms / 1e3:8.0f} MIPS")
        rows.append((f"sieve, {name}", f"{ms:.1f} ms", f"{instructions / ms / 1e3:.0f} MIPS"))
    return rows


def vga_and_a20(rounds, use_qemu, workdir):
    """Filling a planar screen (every byte an MMIO access) against mode 13h's plain memory, by
    backend and against QEMU; switching the A20 gate."""
    rows = []
    rounds = max(3, rounds // 4)
    contenders = []
    for label, guest in (("mode 12h", VGA_FILL), ("mode 13h", VGA_FILL_13H), ("VESA 800x600x32", VBE_FRAME)):
        for accel in ("kvm", "interp"):
            contenders.append((f"{label}, picovmm --accel {accel}",
                               [PICOVMM, "run", "--accel", accel, "--image", guest, "--screen", "none"], 0x21, None))
        if use_qemu:
            disk = os.path.join(workdir, os.path.basename(guest) + ".img")
            with open(disk, "wb") as f:
                f.write(open(guest, "rb").read().ljust(1 << 20, b"\0"))
            contenders.append((f"{label}, QEMU -accel tcg (SeaBIOS)", qemu_tcg_argv(disk), 0x21, 3))
    samples = alternate(contenders, rounds)
    print(f"\nVGA: {VGA_FILLS} whole-screen fills with rep stosw, {rounds} alternating rounds "
          "(whole process, median; mode 12h through the planes, 13h plain memory; the VESA row is "
          "one 800x600x32 frame, two banks and the rest through the linear frame buffer):")
    for name, argv, *_ in contenders:
        ms = median_ms(samples[name])
        note = ""
        if "picovmm" in name:
            st = stats_json(argv)
            note = (f"  {st['exits']['total']:,} exits, {st['exits'].get('mmio_write', 0):,} MMIO writes, "
                    f"run loop {st['run_ns'] / 1e6:.1f} ms")
        print(f"  {name:40} {ms:9.1f} ms{note}")
        what = "a VESA frame" if "VESA" in name else f"{VGA_FILLS} screen fills"
        rows.append((f"{what}, {name}", f"{ms:.1f} ms", note.strip() or "whole process"))
    print(f"\nA20: {A20_SWITCHES:,} switches through port 0x92 (run loop, median of 5):")
    for accel in ("kvm", "interp"):
        runs = [stats_json([PICOVMM, "run", "--accel", accel, "--image", A20_TOGGLE]) for _ in range(5)]
        run_ms = statistics.median(r["run_ns"] for r in runs) / 1e6
        print(f"  picovmm --accel {accel:7} {run_ms:8.1f} ms  {run_ms * 1e3 / A20_SWITCHES:6.1f} us a switch "
              "(its port exits included)")
        rows.append((f"A20 switch, picovmm --accel {accel}", f"{run_ms * 1e3 / A20_SWITCHES:.1f} us",
                     "port exit included"))
    return rows


def disk_reads(rounds, use_qemu, workdir):
    """int 13h: a guest reading a whole 1.44 MB floppy twice, a track a call, against QEMU."""
    rows = []
    image = os.path.join(workdir, "floppy-read.img")
    with open(image, "wb") as f:
        f.write(open(FLOPPY_READ, "rb").read().ljust(1474560, b"\0"))
    contenders = [
        (f"picovmm --accel {a}", [PICOVMM, "run", "--accel", a, "--drive", image + ",readonly"], 0x21, None)
        for a in ("kvm", "interp")
    ]
    if use_qemu:
        qemu = [a if a != "kvm" else "tcg" for a in qemu_argv(image)]
        qemu = [a.replace("if=ide", "if=floppy") for a in qemu]
        contenders.append(("QEMU -accel tcg (SeaBIOS, its FDC)", qemu, 0x21, None))
    samples = alternate(contenders, rounds)
    print(f"\nint 13h: {FLOPPY_SECTORS:,} sectors read from a 1.44 MB floppy, a track a call, "
          f"{rounds} alternating rounds (whole process, median; QEMU's includes SeaBIOS's boot):")
    for name, argv, *_ in contenders:
        ms = median_ms(samples[name])
        note = ""
        if "picovmm" in name:
            run_ms = stats_json(argv)["run_ns"] / 1e6
            note = f", {FLOPPY_SECTORS / run_ms * 1e3:,.0f} sectors/s in the run loop ({run_ms:.1f} ms)"
        print(f"  {name:36} {ms:8.1f} ms  {FLOPPY_SECTORS / ms * 1e3:10,.0f} sectors/s whole process{note}")
        rows.append((f"int 13h floppy reads, {name}", f"{FLOPPY_SECTORS / ms * 1e3:,.0f} sectors/s",
                     f"{ms:.1f} ms for {FLOPPY_SECTORS:,} sectors, whole process{note}"))
    return rows


def protected_mode(rounds, use_qemu, workdir):
    """32-bit protected mode with paging on (no PAE): a compute loop and a walk over 1024 pages,
    the interpreter against QEMU's TCG (this host's KVM has no 32-bit paging without PAE)."""
    rows = []
    for title, guest in (("compute loop", PM_LOOP), ("page walk", PAGING_LOOP)):
        disk = os.path.join(workdir, os.path.basename(guest) + ".img")
        with open(disk, "wb") as f:
            f.write(open(guest, "rb").read().ljust(1 << 20, b"\0"))
        argv = [PICOVMM, "run", "--accel", "interp", "--image", guest]
        contenders = [("picovmm --accel interp", argv, (0x21 << 1) | 1, None)]
        if use_qemu:
            contenders.append(("QEMU -accel tcg (SeaBIOS, disk)", qemu_tcg_argv(disk), (0x21 << 1) | 1, None))
        samples = alternate(contenders, rounds)
        stats = stats_json(argv)
        instructions, run_ms = stats["instructions"], stats["run_ns"] / 1e6
        print(f"\nprotected mode with paging, {title}: {instructions:,} instructions, {rounds} "
              "alternating rounds (whole process, median; QEMU's includes SeaBIOS's boot):")
        for name, *_ in contenders:
            ms = median_ms(samples[name])
            print(f"  {name:34} {ms:9.1f} ms  {instructions / ms / 1e3:8.0f} MIPS")
            rows.append((f"protected mode, {title}: {name}", f"{ms:.1f} ms",
                         f"{instructions / ms / 1e3:.0f} MIPS whole process"))
        print(f"  the interpreter's run loop alone: {run_ms:.1f} ms, {instructions / run_ms / 1e3:.0f} MIPS")
    return rows


def until_output(argv, marker, limit=30.0):
    """Seconds from starting `argv` until `marker` appears on its standard output (None if it
    does not within `limit`); the process is killed then."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    seen = b""
    while marker not in seen:
        ready, _, _ = select.select([proc.stdout], [], [], max(0.0, limit - (time.perf_counter() - start)))
        chunk = os.read(proc.stdout.fileno(), 4096) if ready else b""
        if not chunk:
            break
        seen += chunk
    wall = time.perf_counter() - start
    proc.kill()
    proc.wait()
    return wall if marker in seen else None


def built(argv, failure):
    """Runs a guest's build script; on failure prints `failure` with its last line of errors."""
    build = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if build.returncode != 0:
        last = (build.stderr.decode(errors="replace").strip().splitlines() or [""])[-1]
        print(f"\n{failure}: {last}")
    return build.returncode == 0


def os_boot(rounds, use_qemu, workdir):
    """A hobby OS from power-on to its prompt: tinyos (guests/kernel: its boot sector, a C kernel
    with paging, the PIT and the keyboard) built with cc -m32, until "tinyos> " on COM1."""
    out = os.path.join(workdir, "tinyos")
    if not built(["sh", os.path.join(ROOT, "guests/kernel/build.sh"), out],
                 "OS boot: tinyos did not build (it needs cc -m32: apt-get install gcc-multilib)"):
        return []
    image = os.path.join(out, "tinyos.img")
    contenders = [("picovmm (auto: the interpreter here)",
                   [PICOVMM, "run", "--accel", "auto", "--drive", image + ",floppy", "-m", "4M"])]
    if use_qemu:
        contenders.append(("QEMU -accel tcg (SeaBIOS)", [
            "qemu-system-x86_64", "-accel", "tcg", "-machine", "pc", "-m", "4",
            "-drive", f"file={image},format=raw,if=floppy", "-display", "none",
            "-serial", "stdio", "-monitor", "none", "-no-reboot"]))
    samples = {name: [] for name, _ in contenders}
    for _ in range(rounds):
        for name, argv in contenders:
            wall = until_output(argv, b"tinyos> ")
            if wall is None:
                sys.exit(f"bench: {name} did not reach the tinyos prompt")
            samples[name].append(wall)
    print(f"\nOS boot: tinyos from power-on to its prompt on COM1, {rounds} alternating rounds "
          "(median):")
    rows = []
    for name, _ in contenders:
        ms = statistics.median(samples[name]) * 1e3
        print(f"  {name:38} {ms:9.2f} ms")
        rows.append((f"tinyos to its prompt, {name}", f"{ms:.2f} ms", "power-on to prompt"))
    if use_qemu:
        ratio = statistics.median(samples[contenders[1][0]]) / statistics.median(samples[contenders[0][0]])
        print(f"  QEMU takes {ratio:.0f}x as long")
        rows.append(("tinyos to its prompt, QEMU / picovmm", f"{ratio:.0f}x", "whole boot"))
    return rows


def linux_boot(rounds, use_qemu):
    """Debian's Linux 6.1 for i686 (guests/linux/build.sh: SYSLINUX, the kernel, an initramfs
    whose /init prints and powers off), from power-on to the kernel's "reboot:" line on COM1."""
    out = os.path.join(ROOT, "target", "linux")
    if not built(["bash", os.path.join(ROOT, "guests/linux/build.sh"), out],
                 "Linux boot: the disk did not build"):
        return []
    image = os.path.join(out, "linux.img")
    contenders = [("picovmm (auto: the interpreter here)",
                   [PICOVMM, "run", "--accel", "auto", "-m", "128M", "--drive", image + ",snapshot",
                    "--screen", "none"])]
    if use_qemu:
        contenders.append(("QEMU -accel tcg (SeaBIOS)", [
            "qemu-system-i386", "-accel", "tcg", "-m", "128",
            "-drive", f"file={image},format=raw,snapshot=on", "-display", "none",
            "-serial", "stdio", "-monitor", "none", "-no-reboot"]))
    samples = {name: [] for name, _ in contenders}
    for _ in range(rounds):
        for name, argv in contenders:
            wall = until_output(argv, b"reboot: ", limit=600.0)
            if wall is None:
                sys.exit(f"bench: {name} did not get to the kernel's power-off")
            samples[name].append(wall)
    print(f"\nLinux boot: Debian's 686 kernel to its /init and power-off, {rounds} alternating "
          "rounds (median):")
    rows = []
    for name, _ in contenders:
        s_ = statistics.median(samples[name])
        print(f"  {name:38} {s_:9.1f} s")
        rows.append((f"Linux 6.1 i686 to power-off, {name}", f"{s_:.1f} s", "power-on to power-off"))
    return rows


def control_socket(rounds, use_qemu, quick, workdir):
    """query-status round trips against QEMU's QMP; port exits with an idle socket."""
    import control  # noqa: E402 (bench/control.py, beside this file)

    rows = []
    trips = control.measure(PICOVMM, use_qemu, quick)
    print("\ncontrol socket, query-status round trips on one connection (median, 99th percentile):")
    for name, (median, p99) in trips.items():
        print(f"  {name:28} {median:8.1f} us  p99 {p99:8.1f} us")
        rows.append((f"query-status round trip: {name}", f"{median:.1f} us", f"p99 {p99:.1f} us"))
    sock = os.path.join(workdir, "idle.sock")
    port_rounds = max(5, rounds // 2)
    port = alternate([
        ("without --control", [PICOVMM, "run", "--image", PORT_LOOP], 0, None),
        ("with an idle --control", [PICOVMM, "run", "--image", PORT_LOOP, "--control", f"unix:{sock}"], 0, None),
    ], port_rounds)
    plain, idle = median_ms(port["without --control"]), median_ms(port["with an idle --control"])
    print(f"  {PORT_WRITES} port exits: {plain:.1f} ms without --control, {idle:.1f} ms with an idle socket "
          f"({idle / plain:.3f}x), {port_rounds} alternating rounds")
    rows.append(("port exits with an idle control socket", f"{idle:.1f} ms", f"{idle / plain:.3f}x without ({plain:.1f} ms)"))
    return rows


def main():
    # picovmm's default backend is `auto`; the figures below compare KVM with the C baseline and
    # QEMU -accel kvm, so they ask for KVM unless told otherwise. The CPU, VGA and int 13h
    # sections name each backend on their command lines.
    os.environ.setdefault("PICOVMM_ACCEL", "kvm")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=21, help="rounds of the sample benchmark")
    parser.add_argument("--quick", action="store_true", help="7 rounds, no QEMU")
    parser.add_argument("--linux", action="store_true",
                        help="only the Linux boot (minutes a round: downloads Debian's i686 kernel once)")
    parser.add_argument("--os", metavar="IMAGE",
                        help="only an OS of yours from power-on to its prompt (with --prompt), "
                             "picovmm's backends against QEMU TCG and KVM")
    parser.add_argument("--prompt", metavar="TEXT", help="what --os waits for on the text screen")
    args = parser.parse_args()
    if args.os:
        if not args.prompt:
            parser.error("--os needs --prompt TEXT: what the OS shows when it is up")
        for name, value, note in osboot.measure(PICOVMM, args.os, args.prompt, 3 if args.quick else 7):
            print(f"| {name} | {value} | {note} |")
        return
    if args.linux:
        have_qemu = shutil.which("qemu-system-i386") is not None
        for name, value, note in linux_boot(1 if args.quick else 3, have_qemu):
            print(f"| {name} | {value} | {note} |")
        return
    rounds = 7 if args.quick else args.rounds
    use_qemu = not args.quick and shutil.which("qemu-system-x86_64") is not None

    print(f"machine: {machine_line()}")
    rows = []

    # 1. The sample boot sector, whole process.
    workdir = tempfile.mkdtemp(prefix="picovmm-bench-")
    disk = os.path.join(workdir, "disk.img")
    with open(disk, "wb") as f:
        f.write(open(SAMPLE_EXIT, "rb").read().ljust(1 << 20, b"\0"))
    contenders = [
        ("picovmm", [PICOVMM, "run", "--image", SAMPLE], 0, None),
        ("picovmm, default backend", [PICOVMM, "run", "--accel", "auto", "--image", SAMPLE], 0, None),
        ("picovmm --vga-mode trap", [PICOVMM, "run", "--image", SAMPLE, "--vga-mode", "trap"], 0, None),
        ("C baseline (memory-backed VGA)", [BASELINE, SAMPLE], 0, None),
    ]
    if use_qemu:
        # QEMU + SeaBIOS takes seconds; it runs in the first rounds only.
        contenders.append(("QEMU -accel kvm (SeaBIOS, disk)", qemu_argv(disk), 1, 3))
    samples = alternate(contenders, rounds)
    base = median_ms(samples["C baseline (memory-backed VGA)"])
    print(f"\nsample boot sector, {rounds} alternating rounds (whole process, median):")
    for name, *_ in contenders:
        ms = median_ms(samples[name])
        print(f"  {name:34} {ms:9.2f} ms  {ms / base:6.2f}x baseline  (n={len(samples[name])})")
    mem = stats_json([PICOVMM, "run", "--image", SAMPLE])
    trap = stats_json([PICOVMM, "run", "--image", SAMPLE, "--vga-mode", "trap"])
    setup_ms = statistics.median(
        stats_json([PICOVMM, "run", "--image", SAMPLE])["setup_ns"] / 1e6 for _ in range(5)
    )
    auto_setup_ms = statistics.median(
        stats_json([PICOVMM, "run", "--accel", "auto", "--image", SAMPLE])["setup_ns"] / 1e6
        for _ in range(5)
    )
    print(f"  exits: picovmm {mem['exits']['total']}, trap mode {trap['exits']['total']}")
    print(f"  picovmm setup, /dev/kvm to first KVM_RUN: {setup_ms:.2f} ms (median of 5)")
    print(f"  picovmm setup to the first instruction, default backend: {auto_setup_ms:.2f} ms (median of 5)")
    pv = median_ms(samples["picovmm"])
    rows += [
        ("sample: picovmm, whole process", f"{pv:.2f} ms", f"{pv / base:.2f}x the C baseline ({base:.2f} ms)"),
        ("sample: picovmm exits", str(mem["exits"]["total"]), f"trap mode: {trap['exits']['total']}"),
        ("sample: picovmm --vga-mode trap", f"{median_ms(samples['picovmm --vga-mode trap']):.2f} ms",
         f"{median_ms(samples['picovmm --vga-mode trap']) / base:.2f}x the C baseline"),
        ("picovmm setup to first KVM_RUN", f"{setup_ms:.2f} ms", "median of 5"),
        ("sample: picovmm, default backend", f"{median_ms(samples['picovmm, default backend']):.2f} ms",
         f"{median_ms(samples['picovmm, default backend']) / base:.2f}x the C baseline; "
         f"setup {auto_setup_ms:.2f} ms"),
    ]
    if use_qemu:
        q = median_ms(samples["QEMU -accel kvm (SeaBIOS, disk)"])
        rows.append(("sample: QEMU -accel kvm", f"{q:.0f} ms", f"{q / pv:.0f}x picovmm"))

    # 2. Peak RSS of the default machine.
    rss = peak_rss_kib([PICOVMM, "run", "--image", SAMPLE]) / 1024
    auto_rss = peak_rss_kib([PICOVMM, "run", "--accel", "auto", "--image", SAMPLE]) / 1024
    base_rss = peak_rss_kib([BASELINE, SAMPLE]) / 1024
    print(f"\npeak RSS, default machine (640 KiB RAM + 32 KiB VGA mapped, median of 5): "
          f"picovmm {rss:.2f} MiB, default backend {auto_rss:.2f} MiB, C baseline {base_rss:.2f} MiB")
    rows.append(("peak RSS, default machine (whole process)", f"{rss:.2f} MiB",
                 f"default backend {auto_rss:.2f} MiB; C baseline {base_rss:.2f} MiB"))

    # 3. Port-exit throughput.
    port_rounds = max(5, rounds // 2)
    port = alternate([
        ("picovmm", [PICOVMM, "run", "--image", PORT_LOOP], 0, None),
        ("C baseline", [BASELINE, PORT_LOOP], 0, None),
    ], port_rounds)
    exits = stats_json([PICOVMM, "run", "--image", PORT_LOOP])["exits"]["total"]
    p_ms, c_ms = median_ms(port["picovmm"]), median_ms(port["C baseline"])
    print(f"\nport-exit throughput, {PORT_WRITES} outs, {port_rounds} alternating rounds (whole process, median):")
    print(f"  picovmm    {p_ms:9.1f} ms  {exits / (p_ms / 1e3):10.0f} exits/s  ({exits} exits)")
    print(f"  C baseline {c_ms:9.1f} ms  {exits / (c_ms / 1e3):10.0f} exits/s")
    print(f"  picovmm / C baseline: {p_ms / c_ms:.3f} (wall time; the kernel's share varies from run to run)")
    p_user, c_user = median_user_us(port["picovmm"]) / exits, median_user_us(port["C baseline"]) / exits
    print(f"  user-space CPU per exit: picovmm {p_user:.2f} us, C baseline {c_user:.2f} us")
    rows.append(("port exits: picovmm", f"{exits / (p_ms / 1e3):.0f} exits/s",
                 f"{p_ms / c_ms:.3f}x the C baseline's time ({exits / (c_ms / 1e3):.0f} exits/s)"))
    rows.append(("port exits: user-space CPU per exit", f"{p_user:.2f} us", f"C baseline {c_user:.2f} us"))

    # 4. A port access dispatched to a plugin, against the same access to a built-in device.
    out = subprocess.run([DISPATCH, LATCH_PLUGIN], capture_output=True, text=True, check=True).stdout
    ns = dict(line.split() for line in out.splitlines())
    builtin_ns, plugin_ns = float(ns["builtin_ns"]), float(ns["plugin_ns"])
    exit_ns = 1e9 / (exits / (p_ms / 1e3))
    print(f"\nport write through the I/O bus, no KVM (median of 5 x 10M): built-in {builtin_ns:.1f} ns, "
          f"plugin {plugin_ns:.1f} ns: +{plugin_ns - builtin_ns:.1f} ns, "
          f"{(plugin_ns - builtin_ns) / exit_ns * 100:.3f}% of a port exit ({exit_ns / 1e3:.1f} us)")
    rows.append(("port write dispatch, plugin vs built-in", f"{plugin_ns:.1f} ns vs {builtin_ns:.1f} ns",
                 f"+{plugin_ns - builtin_ns:.1f} ns = {(plugin_ns - builtin_ns) / exit_ns * 100:.3f}% of an exit"))
    guest = alternate([
        ("built-in", [PICOVMM, "run", "--image", PORT_LOOP], 0, None),
        ("plugin", [PICOVMM, "run", PORT_LOOP_PLUGIN], 0, None),
    ], port_rounds)
    b_ms, pl_ms = median_ms(guest["built-in"]), median_ms(guest["plugin"])
    b_user, pl_user = median_user_us(guest["built-in"]) / exits, median_user_us(guest["plugin"]) / exits
    print(f"{PORT_WRITES} port writes from a guest, {port_rounds} alternating rounds: built-in {b_ms:.1f} ms, "
          f"plugin {pl_ms:.1f} ms ({pl_ms / b_ms:.3f}x); user CPU per exit {b_user:.2f} us vs {pl_user:.2f} us")
    rows.append(("guest: 100,000 port writes, plugin vs built-in", f"{pl_ms:.1f} ms vs {b_ms:.1f} ms",
                 f"{pl_ms / b_ms:.3f}x; user CPU per exit {pl_user:.2f} us vs {b_user:.2f} us"))

    # 5. Timer interrupts: picovmm's userspace PIC and PIT against KVM's in-kernel ones.
    irq_rounds = 3 if args.quick else 7
    ticks = alternate([
        ("picovmm", [PICOVMM, "run", "--image", PIT_1KHZ], 0x21, None),
        ("picovmm, default", [PICOVMM, "run", "--accel", "auto", "--image", PIT_1KHZ], 0x21, None),
        ("in-kernel irqchip", [IRQCHIP, PIT_1KHZ], 0x21, None),
    ], irq_rounds)
    irq_stats = stats_json([PICOVMM, "run", "--image", PIT_1KHZ])
    print(f"\n{PIT_TICKS} timer interrupts at 1 kHz idling in sti; hlt, {irq_rounds} alternating rounds "
          "(whole process, median; CPU = user + system):")
    for name, samples in ticks.items():
        wall = median_ms(samples)
        cpu = statistics.median(s.user + s.sys for s in samples) * 1e3 / PIT_TICKS * 1000
        print(f"  {name:18} {wall:8.1f} ms wall  {cpu:6.1f} ms CPU per 1,000 ticks")
        rows.append((f"1,000 timer ticks in sti; hlt: {name}", f"{cpu:.1f} ms CPU",
                     f"{wall / PIT_TICKS * 1000:.0f} ms wall per 1,000 ticks"))
    print(f"  picovmm exits for {PIT_TICKS} ticks: {irq_stats['exits']['total']} "
          f"({irq_stats['exits']['hlt']} hlt, {irq_stats['exits']['io_out']} port writes); "
          f"interrupts injected {irq_stats['interrupts']}")
    for name, argv in (("picovmm", [PICOVMM, "run", "--image", IRQ_LATENCY]),
                       ("in-kernel irqchip", [IRQCHIP, IRQ_LATENCY])):
        runs = [latency_us(argv) for _ in range(3 if args.quick else 5)]
        for state in ("idle", "busy"):
            avg = statistics.median(r[state][0] for r in runs)
            mx = max(r[state][1] for r in runs)
            print(f"  IRQ 0 edge to handler, {name}, guest {state}: {avg:.0f} us average, {mx:.0f} us worst")
            rows.append((f"timer interrupt latency, guest {state}: {name}", f"{avg:.0f} us average",
                         f"{mx:.0f} us worst of {len(runs)} x 100"))

    # 6. Single-step latency through the gdb stub, picovmm's against QEMU's.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import gdb_step  # noqa: E402 (bench/gdb_step.py, beside this file)

    rates = gdb_step.measure(2000, 1 if args.quick else 3)
    print("\nsingle-step through the gdb stub, 2,000 `s` packets on a spinning boot sector (median):")
    for name, rate in rates.items():
        print(f"  {name:24} {rate:8.0f} steps/s  {1e6 / rate:7.1f} us per step")
    pico_rate = rates.get("picovmm --gdb")
    qemu_rate = rates.get("QEMU -gdb (-accel kvm)")
    rows.append(("gdb single-step: picovmm", f"{pico_rate:.0f} steps/s",
                 f"QEMU {qemu_rate:.0f} steps/s ({pico_rate / qemu_rate:.1f}x)" if qemu_rate else "QEMU not installed"))

    # 7. The BIOS: a boot sector that prints with int 10h, booted from a disk image, against QEMU
    # with SeaBIOS; and the cost of one int 10h teletype call.
    bios_disk = os.path.join(workdir, "bios-hello.img")
    with open(bios_disk, "wb") as f:
        f.write(open(BIOS_HELLO, "rb").read().ljust(1 << 20, b"\0"))
    bios_contenders = [("picovmm --drive", [PICOVMM, "run", "--drive", bios_disk + ",readonly"], 1, None)]
    if use_qemu:
        bios_contenders.append(("QEMU -accel kvm (SeaBIOS)", qemu_argv(bios_disk), 1, 3))
    bios = alternate(bios_contenders, rounds)
    pb = median_ms(bios["picovmm --drive"])
    calls = stats_json([PICOVMM, "run", "--drive", bios_disk + ",readonly"])["exits"]["total"]
    print(f"\nBIOS boot sector to its first screen (int 10h teletype, 32 calls), {rounds} rounds "
          f"(whole process, median):")
    print(f"  picovmm --drive            {pb:9.2f} ms  ({calls} exits)")
    if use_qemu:
        qb = median_ms(bios["QEMU -accel kvm (SeaBIOS)"])
        print(f"  QEMU -accel kvm (SeaBIOS)  {qb:9.2f} ms  {qb / pb:6.0f}x picovmm  (n={len(bios['QEMU -accel kvm (SeaBIOS)'])})")
        rows.append(("BIOS boot sector to first screen: picovmm", f"{pb:.2f} ms", f"QEMU + SeaBIOS {qb:.0f} ms ({qb / pb:.0f}x)"))
    else:
        rows.append(("BIOS boot sector to first screen: picovmm", f"{pb:.2f} ms", "QEMU not run"))
    per_call = statistics.median(
        stats_json([PICOVMM, "run", "--drive", TELETYPE_LOOP + ",readonly"])["run_ns"] / TELETYPE_CALLS / 1e3
        for _ in range(5)
    )
    print(f"  one int 10h teletype call, {TELETYPE_CALLS} in a loop (run time / calls, median of 5): {per_call:.1f} us")
    rows.append(("int 10h teletype, one call (guest loop included)", f"{per_call:.1f} us", "a port exit alone: see port exits above"))

    # 8. The live display: its CPU while the guest idles and while it rewrites the screen, and
    # the guest's own speed with and without it (in a 100x30 pseudo-terminal).
    import display  # noqa: E402 (bench/display.py, beside this file)

    view_rounds = 3 if args.quick else 5
    cost = display.measure(PICOVMM, PALETTE, SCREEN_WRITER, view_rounds)
    print(f"\nlive display, {view_rounds} alternating rounds in a 100x30 pty (whole process, median):")
    for name, (wall, cpu) in cost.items():
        print(f"  {name:40} {wall:8.1f} ms wall  {cpu:7.1f} ms CPU")
    idle_view = cost["idle 3 s, --display terminal"][1] - cost["idle 3 s, no display"][1]
    busy_view = cost["screen rewriting, --display terminal"][1] - cost["screen rewriting, no display"][1]
    plain = statistics.median(display.guest_run_ms(PICOVMM, SCREEN_WRITER, False, 1) for _ in range(view_rounds))
    viewed = statistics.median(display.guest_run_ms(PICOVMM, SCREEN_WRITER, True, 1) for _ in range(view_rounds))
    print(f"  the view's CPU: {idle_view:.1f} ms over 3 s of an idle mode 13h guest; "
          f"{busy_view:.1f} ms while 500 screens are rewritten")
    print(f"  guest rewriting 500 screens: {plain:.1f} ms without the view, {viewed:.1f} ms with it "
          f"({(viewed / plain - 1) * 100:+.1f}%)")
    rows.append(("live display CPU, guest idle 3 s (mode 13h)", f"{idle_view:.1f} ms", "whole process, with minus without"))
    rows.append(("live display CPU, guest rewriting the screen", f"{busy_view:.1f} ms", "over 500 full screens"))
    rows.append(("guest speed under the live display", f"{(viewed / plain - 1) * 100:+.1f}%",
                 f"{viewed:.1f} ms vs {plain:.1f} ms for 500 screens"))

    # 9. Snapshots: writing one when the run ends, and restoring it to the first instruction,
    # against a cold boot of the same guest (whole process); file sizes.
    snap_rows = []
    for label, extra in (("default machine (640 KiB)", []), ("64 MiB", ["--memory", "64M"])):
        snap = os.path.join(workdir, "bench.snap")
        cold = [PICOVMM, "run", "--image", SAMPLE_EXIT, "--screen", "none"] + extra
        saving = cold + ["--snapshot-on-exit", snap]
        subprocess.run(saving, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        restore = [PICOVMM, "restore", snap, "--screen", "none"]
        r = alternate([
            ("cold boot", cold, 1, None),
            ("boot + snapshot", saving, 1, None),
            ("restore", restore, 0, None),
        ], rounds)
        size = os.path.getsize(snap) / 1024
        c, w, rs = (median_ms(r["cold boot"]), median_ms(r["boot + snapshot"]), median_ms(r["restore"]))
        print(f"\nsnapshot, {label}, {rounds} alternating rounds (whole process, median):")
        print(f"  cold boot {c:.2f} ms; with --snapshot-on-exit {w:.2f} ms (+{w - c:.2f} ms to write "
              f"{size:.0f} KiB); restore to the first instruction {rs:.2f} ms ({rs / c:.2f}x the cold boot)")
        snap_rows.append((f"snapshot, {label}: write", f"+{w - c:.2f} ms", f"{size:.0f} KiB file"))
        snap_rows.append((f"snapshot, {label}: restore (whole process)", f"{rs:.2f} ms", f"cold boot {c:.2f} ms"))
    rows += snap_rows

    # 10. The CPU backends.
    rows += cpu_backends(rounds, use_qemu, workdir)

    # 10b. The VGA's planar memory and the A20 gate; int 13h reads.
    rows += vga_and_a20(rounds, use_qemu, workdir)
    rows += disk_reads(rounds, use_qemu, workdir)
    rows += protected_mode(rounds, use_qemu, workdir)

    rows += os_boot(rounds, use_qemu, workdir)

    # 11. The control socket: a round trip, and what an idle socket costs the guest's exits.
    rows += control_socket(rounds, use_qemu, args.quick, workdir)

    # 12. picovmm test: the project's suite, and three checks against QEMU driven by its monitor.
    import testrun  # noqa: E402 (bench/testrun.py, beside this file)

    rows += testrun.measure(3 if args.quick else 5, use_qemu)

    print("\n| measurement | result | comparison |\n| --- | --- | --- |")
    for row in rows:
        print(f"| {row[0]} | {row[1]} | {row[2]} |")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
