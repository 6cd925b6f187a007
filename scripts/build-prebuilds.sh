#!/usr/bin/env bash
# scripts/build-prebuilds.sh: i2c-bus's native addon built for each architecture and Node.js major
# the npm package supports, into prebuilds/linux-<arch>/i2c.abi<NODE_MODULE_VERSION>.node (npm pack
# runs it). The Signal K App Store installs plugins with `npm --ignore-scripts`, so i2c-bus is never
# built there; engine/i2c-loader.ts then loads i2c-bus with the prebuilt addon for the running Node.
# The addon uses nan, so it is tied to one Node ABI: one build per major. x64 builds natively,
# arm64 with Debian's aarch64-linux-gnu compilers, both against the headers of node-linux-<arch>
# from npm (scripts/node-dist.sh). Unchanged builds are kept.
#
# Environment: HALPI2_PREBUILD_ARCHES (default "x64 arm64"), HALPI2_PREBUILD_NODES (default "20 22 24").
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
arches=${HALPI2_PREBUILD_ARCHES:-x64 arm64}
nodes=${HALPI2_PREBUILD_NODES:-20 22 24}

src=node_modules/i2c-bus
{ [ -f "$src/binding.gyp" ] && [ -d node_modules/nan ]; } || { echo "build-prebuilds: node_modules/i2c-bus and nan are missing (npm ci)" >&2; exit 1; }
# npm's own node-gyp (npm sets npm_config_node_gyp for scripts), else the one beside this npm.
gyp=${npm_config_node_gyp:-$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js}
[ -f "$gyp" ] || { echo "build-prebuilds: node-gyp not found at $gyp" >&2; exit 1; }
version=$(node -p "require('./$src/package.json').version")

work=$(mktemp -d "${TMPDIR:-/tmp}/halpi2-prebuild-XXXXXX")
trap 'rm -rf "$work"' EXIT
for arch in $arches; do
  case "$arch" in
    x64) [ "$(uname -m)" = x86_64 ] || { echo "build-prebuilds: x64 is built on an x86-64 machine only" >&2; exit 1; }
         tools=(CC=cc CXX=c++ LINK=c++) ;;
    arm64) tools=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++)
           [ "$(uname -m)" = aarch64 ] && tools=(CC=cc CXX=c++ LINK=c++) ;;
    *) echo "build-prebuilds: unsupported architecture $arch" >&2; exit 2 ;;
  esac
  compiler=${tools[1]#CXX=}
  command -v "$compiler" >/dev/null || { echo "build-prebuilds: $arch needs $compiler (apt-get install ${compiler%-g++}-g++)" >&2; exit 1; }
  out="prebuilds/linux-$arch"
  mkdir -p "$out"
  for major in $nodes; do
    nodedir=$(scripts/node-dist.sh "$arch" "$major")
    abi=$(sed -nE 's/^#define NODE_MODULE_VERSION ([0-9]+).*/\1/p' "$nodedir/include/node/node_version.h")
    target="$out/i2c.abi$abi.node"
    stamp="$out/.i2c.abi$abi.source"
    want="i2c-bus $version, $(basename "$nodedir") $(node -p "require('$nodedir/package.json').version")"
    if [ -f "$target" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then continue; fi
    rm -rf "$work/i2c-bus" && mkdir -p "$work/i2c-bus/node_modules"
    cp -r "$src/binding.gyp" "$src/src" "$src/package.json" "$work/i2c-bus/"
    ln -s "$root/node_modules/nan" "$work/i2c-bus/node_modules/nan"
    (cd "$work/i2c-bus" && env "${tools[@]}" node "$gyp" rebuild --arch="$arch" --nodedir="$nodedir" >"$work/gyp.log" 2>&1) \
      || { cat "$work/gyp.log" >&2; echo "build-prebuilds: building for $arch, Node $major failed" >&2; exit 1; }
    cp "$work/i2c-bus/build/Release/i2c.node" "$target.tmp.$$"
    mv "$target.tmp.$$" "$target"
    echo "$want" >"$stamp"
    echo "$target ($want)"
  done
done
