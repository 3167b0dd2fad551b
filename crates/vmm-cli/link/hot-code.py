#!/usr/bin/env python3
"""Writes hot-code.ld: the functions common runs of picovmm execute, placed first in its code.

    python3 crates/vmm-cli/link/hot-code.py      (needs valgrind; builds picovmm in release)

Runs a release build made without this script's own work (PICOVMM_HOT_CODE=off, in
target/hot-code: valgrind names no function placed in `.text.hot`) under valgrind's callgrind
on the sample and on a BIOS boot sector, with each backend, and lists every function of picovmm's own binary that ran, as a linker script
that puts their sections (`.text.NAME`, one per function) in one output section before
`.text`. Names are matched without their hash (`17h...E`), so a rebuild, another toolchain or
a changed generic keeps most of the list; a name that matches nothing costs nothing. Rerun it
when the run's path changes much (the peak RSS in `bash bench/run` says so).

The exact names are those of `cargo build --release -p vmm-cli` (what `cargo install` and
install.sh build): a build that also builds other packages in the same invocation (`cargo
build --release` at the workspace's root) unifies the dependencies' features, which changes the
names' hashes; that build's hot code is then found by the names without the hash only.
"""

import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
OUT = os.path.join(ROOT, "crates/vmm-cli/link/hot-code.ld")
TARGET = os.path.join(ROOT, "target/hot-code")
BINARY = os.path.join(TARGET, "release/picovmm")
RUNS = [
    ["run", "--image", "guests/hello/hello.bin"],
    ["run", "--drive", "guests/bench/bios-hello.bin,readonly"],
]
# A Rust symbol (legacy mangling) or a C one: what a section pattern can name.
SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_$.]*$")


def functions_run(argv, accel):
    """The functions of picovmm's binary that ran in one run, in the order callgrind met them."""
    with tempfile.NamedTemporaryFile(suffix=".callgrind") as out:
        subprocess.run(["valgrind", "--tool=callgrind", "--demangle=no",
                        f"--callgrind-out-file={out.name}", BINARY, *argv],
                       cwd=ROOT, env=dict(os.environ, PICOVMM_ACCEL=accel),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        objects, names, found = {}, {}, []
        current = None
        for line in open(out.name, errors="replace"):
            if line.startswith("ob="):
                current = define(objects, line[3:].strip())
            elif line.startswith("cob="):
                define(objects, line[4:].strip())
            elif line.startswith("cfn="):
                define(names, line[4:].strip())
            elif line.startswith("fn="):
                name = define(names, line[3:].strip())
                if current == BINARY and name not in found:
                    found.append(name)
        return found


def define(table, text):
    """Callgrind's name compression: `(n) name` defines n, a later `(n)` refers to it (objects
    and functions named first where they were called count too)."""
    match = re.match(r"^\((\d+)\)\s*(.*)$", text)
    if not match:
        return text
    if match.group(2):
        table[match.group(1)] = match.group(2)
    return table.get(match.group(1), "")


def loose(name):
    """The function's name without its hash (and without the suffix LTO gives a function it
    made local): what still names it after another toolchain's build, and names every
    instantiation of a generic too."""
    pattern = re.sub(r"17h[0-9a-f]{16}E(\.llvm\.\d+)?$", "17h*", name)
    return re.sub(r"\.llvm\.\d+$", "*", pattern)


def main():
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "vmm-cli"], cwd=ROOT, check=True,
                   env=dict(os.environ, PICOVMM_HOT_CODE="off", CARGO_TARGET_DIR=TARGET))
    exact, loose_names = [], []
    for accel in ("interp", "kvm"):
        for argv in RUNS:
            names = functions_run(argv, accel)
            if len(names) < 100:
                sys.exit(f"hot-code.py: only {len(names)} functions ran in `picovmm "
                         f"{' '.join(argv)}` under {accel}: the run failed under valgrind")
            for name in filter(SYMBOL.match, names):
                if name not in exact:
                    exact.append(name)
                if loose(name) not in loose_names:
                    loose_names.append(loose(name))
    with open(OUT, "w") as f:
        f.write("/* The functions common runs execute, first in the code: written by hot-code.py\n"
                "   (which says how and why); linked by crates/vmm-cli/build.rs. */\n")
        f.write("SECTIONS\n{\n")
        # By exact name: the functions themselves, tight (a build by the same toolchain).
        write_section(f, ".text.hot", exact)
        # Without the hash: what the exact names missed (another toolchain's build), and the
        # other instantiations of the generics among them, kept near.
        write_section(f, ".text.warm", loose_names)
        f.write("}\nINSERT BEFORE .text;\n")
    print(f"hot-code.py: {len(exact)} functions in {os.path.relpath(OUT, ROOT)}")


def write_section(f, section, names):
    """An output section of the functions named (LLVM puts one it thinks cold in
    .text.unlikely.NAME)."""
    f.write(f"  {section} : {{\n")
    for name in names:
        f.write(f"    *(.text.{name} .text.unlikely.{name})\n")
    f.write("  }\n")


if __name__ == "__main__":
    main()
