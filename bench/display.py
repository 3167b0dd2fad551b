"""The live display's cost, measured in a pseudo-terminal (100x30): host CPU of the whole
picovmm process with and without --display terminal while the guest idles for 3 s, and while
it rewrites the screen as fast as it can; and the guest's own speed (run time of a fixed amount
of screen rewriting) with and without the view. Whole runs, alternating, medians."""

import fcntl
import os
import pty
import statistics
import struct
import subprocess
import termios
import threading
import time


def run_in_pty(argv):
    """Runs argv with a pty as stdin and stdout (drained); returns (wall s, user+sys CPU s)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    drained = threading.Event()

    def drain():
        try:
            while os.read(master, 65536):
                pass
        except OSError:
            pass
        drained.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=subprocess.DEVNULL)
    _, _, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    os.close(slave)
    drained.wait(2)
    os.close(master)
    return wall, usage.ru_utime + usage.ru_stime


def guest_run_ms(picovmm, guest, display, rounds):
    """Median run time (the guest's own, from --stats-json) of `guest`, with or without the view."""
    out = []
    for _ in range(rounds):
        path = f"/tmp/picovmm-bench-display-{os.getpid()}.json"
        argv = [picovmm, "run", "--image", guest, "--screen", "none", "--stats-json", path]
        # In a pty the live view is the default: the baseline turns it off.
        argv += ["--display", "terminal" if display else "none"]
        run_in_pty(argv)
        import json
        with open(path) as f:
            out.append(json.load(f)["run_ns"] / 1e6)
        os.unlink(path)
    return statistics.median(out)


def measure(picovmm, idle_guest, writer_guest, rounds):
    """Medians in ms: {name: (wall, cpu)} for the idle and the writing guest, with and without
    the view."""
    cases = {
        "idle 3 s, no display": [picovmm, "run", "--image", idle_guest, "--timeout", "3s", "--screen", "none",
                                 "--display", "none"],
        "idle 3 s, --display terminal": [picovmm, "run", "--image", idle_guest, "--timeout", "3s",
                                         "--screen", "none", "--display", "terminal"],
        "screen rewriting, no display": [picovmm, "run", "--image", writer_guest, "--screen", "none",
                                         "--display", "none"],
        "screen rewriting, --display terminal": [picovmm, "run", "--image", writer_guest, "--screen", "none",
                                                 "--display", "terminal"],
    }
    samples = {name: [] for name in cases}
    for _ in range(rounds):
        for name, argv in cases.items():
            samples[name].append(run_in_pty(argv))
    return {
        name: (statistics.median(s[0] for s in runs) * 1e3, statistics.median(s[1] for s in runs) * 1e3)
        for name, runs in samples.items()
    }
