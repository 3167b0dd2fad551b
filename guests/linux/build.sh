#!/usr/bin/env bash
# build.sh -- a disk that boots Debian's Linux 6.1 for i686 (the non-PAE kernel, package
# linux-image-*-686-unsigned) with SYSLINUX, and an initramfs whose /init (init.c, static
# glibc) prints a line, computes and powers the machine off. The kernel is downloaded from
# Debian's i386 archive with apt (its own state folder under DIR: the host's package setup is
# left as it is). Needs apt-get, dpkg-deb, gcc -m32 -static (gcc-multilib), cpio, mtools and
# syslinux.
#
#   bash guests/linux/build.sh DIR   # writes DIR/linux.img (32 MiB, FAT, no partitions); the
#                                    # kernel is downloaded once and kept in DIR
#   picovmm run -m 128M --drive DIR/linux.img,snapshot --screen none
set -euo pipefail
out=${1:?usage: bash guests/linux/build.sh DIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

if [ ! -f "$out/vmlinuz" ]; then
  state="$out/apt"
  mkdir -p "$state/lists/partial" "$state/archives/partial"
  apt=(-o Dir::State="$state" -o Dir::Cache="$state" -o APT::Architecture=i386
       -o APT::Architectures::=i386)
  # Other architectures' and third-party sources fail for i386; the Debian archive answers.
  apt-get "${apt[@]}" update -qq || true
  package=$(apt-cache "${apt[@]}" pkgnames linux-image- \
    | grep -E '^linux-image-[0-9.]+-[0-9]+-686-unsigned$' | sort -V | tail -1)
  [ -n "$package" ] || { echo "build.sh: no linux-image-*-686-unsigned in the i386 archive" >&2; exit 1; }
  (cd "$state" && apt-get "${apt[@]}" download -qq "$package")
  dpkg-deb -x "$state"/"$package"_*.deb "$out/root"
  cp "$out"/root/boot/vmlinuz-* "$out/vmlinuz"
  rm -rf "$out/root" "$state"/*.deb
fi

gcc -m32 -static -O2 -o "$out/init" "$here/init.c"
# The kernel's built-in initramfs has /dev/console; this one adds /init.
(cd "$out" && echo init | cpio -o -H newc --quiet | gzip > initrd.gz)
printf 'DEFAULT linux\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND console=ttyS0 panic=-1 quiet\n' \
  > "$out/syslinux.cfg"
rm -f "$out/linux.img"
truncate -s 32M "$out/linux.img"
mformat -i "$out/linux.img" -t 64 -h 16 -s 64 -H 0 ::
mcopy -i "$out/linux.img" "$out/vmlinuz" "$out/initrd.gz" "$out/syslinux.cfg" ::
syslinux --install "$out/linux.img"
echo "build.sh: $out/linux.img"
