#!/bin/sh
# Installs what a C plugin author needs to build against picovmm without a checkout: the
# header, the linker version script (exports picovmm_plugin_entry only), and a pkg-config file.
#
#   sh plugins/api/install.sh [PREFIX]          # default PREFIX: /usr/local
#   cc -shared -fPIC $(pkg-config --cflags --libs picovmm-plugin) -o libmine.so mine.c
#
# (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig when PREFIX is not searched by default)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prefix=${1:-/usr/local}
version=$(sed -n 's/^#define PICOVMM_PLUGIN_ABI_MAJOR \([0-9]*\)u.*/\1/p' "$here/include/picovmm_plugin.h").$(sed -n 's/^#define PICOVMM_PLUGIN_ABI_MINOR \([0-9]*\)u.*/\1/p' "$here/include/picovmm_plugin.h")
mkdir -p "$prefix/include" "$prefix/share/picovmm" "$prefix/lib/pkgconfig"
cp "$here/include/picovmm_plugin.h" "$prefix/include/picovmm_plugin.h"
cp "$here/picovmm_plugin.map" "$prefix/share/picovmm/picovmm_plugin.map"
cp "$here/harness/picovmm_mock_host.h" "$prefix/include/picovmm_mock_host.h"
cat > "$prefix/lib/pkgconfig/picovmm-plugin.pc" <<PC
prefix=$prefix
includedir=\${prefix}/include
datadir=\${prefix}/share/picovmm

Name: picovmm-plugin
Description: The picovmm device plugin ABI (a header; plugins are shared libraries)
Version: $version
Cflags: -I\${includedir}
Libs: -Wl,--version-script=\${datadir}/picovmm_plugin.map
PC
echo "installed picovmm plugin ABI $version into $prefix"
