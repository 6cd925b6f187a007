#!/usr/bin/env bash
# scripts/build-i2c-emulator.sh [native|arm64]: build the LD_PRELOAD library of the emulated
# /dev/i2c-N (docs/i2c-emulator.md) when missing or older than its source; prints its path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
arch=${1:-native}
case "$arch" in
  native) cc=${CC:-cc} ;;
  arm64) cc=aarch64-linux-gnu-gcc ;;
  *) echo "usage: scripts/build-i2c-emulator.sh [native|arm64]" >&2; exit 2 ;;
esac
src="$root/native/i2c-emulator/i2c-emulator.c"
lib="$root/build/i2c-emulator/$arch/libi2c-emulator.so"
if [ ! -f "$lib" ] || [ "$src" -nt "$lib" ]; then
  command -v "$cc" >/dev/null || { echo "building the emulator needs $cc (apt-get install ${cc%-gcc}-gcc)" >&2; exit 1; }
  mkdir -p "$(dirname "$lib")"
  "$cc" -shared -fPIC -O2 -Wall -Wextra -Werror -o "$lib.tmp.$$" "$src" -ldl -lpthread
  mv "$lib.tmp.$$" "$lib"
fi
echo "$lib"
