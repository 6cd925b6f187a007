#!/usr/bin/env bash
# Run the whole suite several times in a row, optionally with CPU-heavy work beside it, and say
# which runs failed and in what (docs/testing.md, "Flakiness"). A test that waits for time rather
# than for an event shows up here: under load its window closes before the event comes.
#
#   bash scripts/suite-repeat.sh [-n RUNS] [--burn JOBS] [--log DIR]
#
# -n RUNS      how many runs (default 5)
# --burn JOBS  keep JOBS busy loops running beside the suite (default 0; `nproc` saturates the
#              machine), each a `node` process spinning at full speed, stopped at the end
# --log DIR    where each run's output goes (default: a new directory under /tmp)
#
# The CI environment (.ci/run's HALPI2_REQUIRE_* variables) is passed through as it is set.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

runs=5 burn=0 logdir=''
while [ $# -gt 0 ]; do
  case "$1" in
    -n) runs=${2:?-n needs a number}; shift 2 ;;
    --burn) burn=${2:?--burn needs a number}; shift 2 ;;
    --log) logdir=${2:?--log needs a directory}; shift 2 ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "suite-repeat: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case "$runs$burn" in *[!0-9]*) echo "suite-repeat: -n and --burn take whole numbers" >&2; exit 2 ;; esac
[ -n "$logdir" ] || logdir=$(mktemp -d "${TMPDIR:-/tmp}/suite-repeat.XXXXXX")
mkdir -p "$logdir"

pids=()
stop_burners() { [ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null; }
trap stop_burners EXIT
for _ in $(seq 1 "$burn"); do
  node -e 'for (;;) Math.sqrt(Math.random());' &
  pids+=($!)
done

failed_runs=0
for i in $(seq 1 "$runs"); do
  HALPI2_TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/halpi2-test.XXXXXX")
  export HALPI2_TEST_TMP
  log="$logdir/run-$i.log"
  start=$(date +%s)
  npm test >"$log" 2>&1
  status=$?
  rm -rf "$HALPI2_TEST_TMP"
  summary=$(grep -E '^# \{ total: [0-9]+' "$log" | tail -n 1)
  load=$(cut -d' ' -f1-3 /proc/loadavg)
  echo "run $i of $runs: exit $status, $(( $(date +%s) - start )) s, load $load: ${summary:-no tap summary}"
  if [ "$status" -ne 0 ]; then
    failed_runs=$((failed_runs + 1))
    # tap's failing files and subtests, as it names them
    grep -E '^(not ok|    not ok|        not ok) ' "$log" | sed 's/^/    /' | head -n 20
  fi
done
echo "$((runs - failed_runs)) of $runs runs passed (burners beside the suite: $burn; logs in $logdir)"
[ "$failed_runs" -eq 0 ]
