#!/usr/bin/env bash
# install.sh -- installs picovmm into PREFIX (default ~/.local): the binary in PREFIX/bin, the
# example plugins in PREFIX/lib/picovmm/plugins (where an installed picovmm looks for them),
# shell completions and the manual page under PREFIX/share.
#
#   ./install.sh                      # ~/.local
#   PREFIX=/usr/local sudo -E ./install.sh
#   PROFILE=debug PREFIX=/tmp/p ./install.sh   # a debug build (faster to build, slower to run)
set -euo pipefail
cd "$(dirname "$0")"

PREFIX="${PREFIX:-$HOME/.local}"
PROFILE="${PROFILE:-release}"
case "$PROFILE" in
  release) build=(--release) install=() ;;
  debug) build=() install=(--debug) ;;
  *) echo "install.sh: PROFILE is release or debug, not $PROFILE" >&2; exit 2 ;;
esac

cargo install --locked --quiet --path crates/vmm-cli --root "$PREFIX" "${install[@]}"
picovmm="$PREFIX/bin/picovmm"

plugins="$PREFIX/lib/picovmm/plugins"
mkdir -p "$plugins"
cargo build --locked --quiet -p cmos-rtc "${build[@]}"
target="${CARGO_TARGET_DIR:-target}"
cp "$target/$PROFILE/libcmos_rtc.so" "$plugins/"
for source in plugins/examples/*-c/*.c; do
  case "$source" in *_test.c) continue ;; esac
  name="$(basename "$source" .c)"
  cc -shared -fPIC -O2 -Wall -I plugins/api/include \
     -Wl,--version-script=plugins/api/picovmm_plugin.map \
     -o "$plugins/lib$name.so" "$source"
done

share="$PREFIX/share"
mkdir -p "$share/bash-completion/completions" "$share/zsh/site-functions" \
         "$share/fish/vendor_completions.d" "$share/man/man1"
"$picovmm" completions bash > "$share/bash-completion/completions/picovmm"
"$picovmm" completions zsh > "$share/zsh/site-functions/_picovmm"
"$picovmm" completions fish > "$share/fish/vendor_completions.d/picovmm.fish"
"$picovmm" man > "$share/man/man1/picovmm.1"

echo "installed $("$picovmm" --version) in $PREFIX/bin"
echo "plugins: $(cd "$plugins" && echo *.so) in $plugins"
case ":$PATH:" in
  *":$PREFIX/bin:"*) ;;
  *) echo "add $PREFIX/bin to PATH to run picovmm by its name" ;;
esac
