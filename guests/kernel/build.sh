#!/bin/sh
# Builds tinyos: a 1.44 MB floppy image whose boot sector loads the 32-bit C kernel.
#   sh guests/kernel/build.sh OUT_DIR      (needs nasm and a C compiler with -m32)
#   picovmm run --drive OUT_DIR/tinyos.img,floppy -m 4M
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-.}
mkdir -p "$out"
nasm -f bin -I "$here/../include/" "$here/boot.asm" -o "$out/boot.bin"
cc -m32 -march=i386 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
   -fno-asynchronous-unwind-tables -mgeneral-regs-only -O2 -Wall -Wextra \
   -c "$here/kernel.c" -o "$out/kernel.o"
cc -m32 -nostdlib -no-pie -Wl,--build-id=none -T "$here/link.ld" -o "$out/kernel.elf" "$out/kernel.o"
objcopy -O binary "$out/kernel.elf" "$out/kernel.bin"
size=$(wc -c < "$out/kernel.bin")
if [ "$size" -gt 32768 ]; then
  echo "build.sh: the kernel is $size bytes; the boot sector loads 32768" >&2
  exit 1
fi
cat "$out/boot.bin" "$out/kernel.bin" > "$out/tinyos.img"
truncate -s 1474560 "$out/tinyos.img"
cp "$here/tinyos.test.toml" "$out/"
cp "$here/../../docs/images/tinyos.png" "$out/" 2>/dev/null || true
