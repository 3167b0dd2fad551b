#!/usr/bin/env python3
"""A/B: two picovmm binaries on the same guests, whole runs alternating in one invocation.

    python3 bench/ab.py OLD NEW [--rounds N]

For each case, OLD and NEW run one after the other, round after round, so that drift in the
machine's speed falls on both alike; prints the median wall time of each and the ratio NEW/OLD.
Build both in release mode first (for OLD, a worktree of the older
commit: `git worktree add /tmp/old COMMIT && cargo build --release -p vmm-cli` there).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (name, arguments after the binary, expected exit status)
CASES = [
    ("sample (hello.bin)", ["run", "--image", "guests/hello/hello.bin"], 0),
    ("sample, isa-debug-exit", ["run", "--image", "guests/bench/hello-exit.bin"], 1),
    ("BIOS boot sector to its screen", ["run", "--drive", "guests/bench/bios-hello.bin,readonly"], 1),
    ("4,000 int 10h teletype calls", ["run", "--drive", "guests/bench/teletype-loop.bin,readonly"], 1),
    ("100,000 port writes", ["run", "--image", "guests/bench/port-loop.bin"], 0),
]


def run_once(binary, args, expect):
    """Wall seconds of one whole run."""
    start = time.perf_counter()
    proc = subprocess.Popen([binary] + args, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    stderr = proc.stderr.read() if proc.stderr else b""
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != expect:
        sys.exit(f"ab: {binary} {' '.join(args)} exited {code}, expected {expect}\n"
                 + stderr.decode(errors="replace"))
    return wall


def main():
    # Builds before and after the default became `auto` must run the same backend.
    os.environ.setdefault("PICOVMM_ACCEL", "kvm")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--rounds", type=int, default=41)
    args = parser.parse_args()
    print(f"{'case':34} {'old ms':>8} {'new ms':>8} {'new/old':>8}")
    for name, case, expect in CASES:
        times = {"old": [], "new": []}
        for _ in range(args.rounds):
            for which in ("old", "new"):
                times[which].append(run_once(getattr(args, which), case, expect))
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        print(f"{name:34} {old * 1e3:8.2f} {new * 1e3:8.2f} {new / old:8.3f}")


if __name__ == "__main__":
    main()
