#!/usr/bin/env bash
# The README's test command on a machine made slow on purpose: pinned to one core, with a CPU hog
# on that same core, so every thread gets about half a core. No test may depend on speed; this
# shows that none does. Prints the elapsed time at the end.
#   scripts/slow-machine-test.sh            # the whole ./posecam.sh test
#   scripts/slow-machine-test.sh ui:: live:: # only these integration-test modules (a quicker look)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
command -v taskset >/dev/null || { echo "taskset (util-linux) is needed" >&2; exit 1; }

core=0
taskset -c "$core" sh -c 'while :; do :; done' &
hog=$!
trap 'kill "$hog" 2>/dev/null || true' EXIT
echo "[slow-machine] pinned to core $core with a CPU hog (pid $hog) beside it" >&2

start=$(date +%s)
set +e
if [ $# -eq 0 ]; then
  taskset -c "$core" ./posecam.sh test
else
  taskset -c "$core" cargo test --release --test it -- "$@"
fi
status=$?
set -e
echo "[slow-machine] exit status $status after $(( $(date +%s) - start )) s" >&2
exit "$status"
