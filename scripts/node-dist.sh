#!/usr/bin/env bash
# scripts/node-dist.sh <x64|arm64> <major>: the Node.js release the npm package node-linux-<arch>@<major>
# carries (bin/node and the headers in include/node), unpacked once into build/node-dist/; prints
# its directory. From the npm registry only (npm pack), never a web download. The headers build
# i2c-bus's addon for that Node (scripts/build-prebuilds.sh); the arm64 binary runs under qemu.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -eq 2 ] || { echo "usage: scripts/node-dist.sh <x64|arm64> <major>" >&2; exit 2; }
arch=$1 major=$2
case "$arch" in x64|arm64) ;; *) echo "node-dist.sh: unsupported architecture $arch" >&2; exit 2 ;; esac
[[ "$major" =~ ^[0-9]+$ ]] || { echo "node-dist.sh: the major version is a number, not $major" >&2; exit 2; }
cache="$root/build/node-dist"
dir="$cache/$arch-$major"
if [ ! -f "$dir/.complete" ]; then
  mkdir -p "$cache"
  tmp=$(mktemp -d "$cache/.fetch-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  tarball=$(cd "$tmp" && npm pack --silent "node-linux-$arch@$major" | tail -n 1)
  mkdir "$tmp/pkg"
  tar xzf "$tmp/$tarball" -C "$tmp/pkg" --strip-components=1
  [ -f "$tmp/pkg/include/node/node_version.h" ] || { echo "node-linux-$arch@$major has no headers" >&2; exit 1; }
  touch "$tmp/pkg/.complete"
  # Another build may have unpacked it meanwhile (tests run in parallel): theirs is as good.
  [ -f "$dir/.complete" ] || { rm -rf "$dir"; mv -T "$tmp/pkg" "$dir" 2>/dev/null || [ -f "$dir/.complete" ]; }
fi
echo "$dir"
