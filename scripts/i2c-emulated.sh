#!/usr/bin/env bash
# scripts/i2c-emulated.sh <command> [args…]: run a command with /dev/i2c-1 emulated, answered by
# the simulated HALPI2 controller (docs/i2c-emulator.md). Builds what is missing (the LD_PRELOAD
# library with cc, the server with tsc), starts the emulator server, runs the command with the
# library preloaded (exec: signals and the exit status are the command's); the server stops when the command has ended.
#
# Environment:
#   HALPI2_I2C_EMULATOR_DIR   where the sockets and transcript.jsonl go (default: a temporary directory,
#                             removed afterwards)
#   HALPI2_I2C_EMULATOR_ARCH  the architecture of the command: native (default) or arm64 (a program
#                             run under qemu-aarch64; the library is built with aarch64-linux-gnu-gcc)
#   HALPI2_I2C_EMULATOR_BUS   the emulated bus number (default 1)
#   HALPI2_SIM_STATE_FILE     persist the simulated controller's settings in this file
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: scripts/i2c-emulated.sh <command> [args…]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
bus=${HALPI2_I2C_EMULATOR_BUS:-1}

lib=$("$root/scripts/build-i2c-emulator.sh" "${HALPI2_I2C_EMULATOR_ARCH:-native}")

server="$root/dist/engine/simulator/i2c-emulator/main.js"
if [ ! -f "$server" ] || [ "$root/engine/simulator/i2c-emulator/main.ts" -nt "$server" ] || [ "$root/engine/simulator/i2c-emulator/server.ts" -nt "$server" ]; then
  (cd "$root" && npx --no-install tsc -p tsconfig.json)
fi

if [ -n "${HALPI2_I2C_EMULATOR_DIR:-}" ]; then
  dir=$HALPI2_I2C_EMULATOR_DIR
  mkdir -p "$dir"
  own_dir=false
else
  dir=$(mktemp -d "${TMPDIR:-/tmp}/i2c-emulator-XXXXXX")
  own_dir=true
fi
sock="$dir/i2c.sock"
control="$dir/control.sock"
rm -f "$sock" "$control"

args=(--socket "$sock" --control "$control" --transcript "$dir/transcript.jsonl" --bus "$bus" --parent $$)
[ -z "${HALPI2_SIM_STATE_FILE:-}" ] || args+=(--state-file "$HALPI2_SIM_STATE_FILE")
if $own_dir; then args+=(--remove-dir "$dir"); fi
# The server is plain Node on this machine, never preloaded itself. It stops by itself once the
# command (this process, after exec) has ended, so signals and the exit status are the command's.
env -u LD_PRELOAD NODE_OPTIONS= node "$server" "${args[@]}" >"$dir/server.log" 2>&1 &
server_pid=$!

# Ready when both sockets exist: at most 10 s.
for _ in $(seq 200); do
  [ -S "$sock" ] && [ -S "$control" ] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  sleep 0.05
done
[ -S "$control" ] || { echo "the emulator server did not start" >&2; cat "$dir/server.log" >&2; kill "$server_pid"; exit 1; }
echo "i2c-emulator: /dev/i2c-$bus emulated; controls: curl --unix-socket $control http://localhost/sim" >&2

# libuv's io_uring would bypass the preloaded read/write; it is off by default in Node 20, keep it so.
exec env LD_PRELOAD="$lib${LD_PRELOAD:+:$LD_PRELOAD}" HALPI2_I2C_EMULATOR="$sock" HALPI2_I2C_EMULATOR_CONTROL="$control" \
  HALPI2_I2C_EMULATOR_BUS="$bus" UV_USE_IO_URING=0 "$@"
