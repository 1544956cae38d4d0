#!/bin/bash
# Submits a planned posecam batch to Slurm: an array of SHARDS tasks (at most PARALLEL at once, one GPU
# each), then the merge once they have all ended (afterany).
#   deploy/slurm/submit.sh BATCH_DIR [SHARDS] [PARALLEL]      first submission (default 4 shards, 2 at once)
#   deploy/slurm/submit.sh BATCH_DIR SHARDS PARALLEL --resubmit   only the shards the last merge listed
# Extra sbatch options go in POSECAM_SBATCH_ARGS (e.g. POSECAM_SBATCH_ARGS="--partition=gpu --time=4:00:00").
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dir="$(cd "${1:?usage: submit.sh BATCH_DIR [SHARDS] [PARALLEL] [--resubmit]}" && pwd)"
shards="${2:-4}" parallel="${3:-2}"
[ -f "$dir/plan.json" ] || { echo "submit.sh: $dir has no plan.json: run posecam batch plan first" >&2; exit 1; }
indices="0-$((shards - 1))"
if [ "${4:-}" = "--resubmit" ]; then
  indices="$(tr -d ' \n' < "$dir/resubmit.txt")"
  [ -n "$indices" ] || { echo "submit.sh: nothing to resubmit: every item is done" >&2; exit 0; }
fi
export BATCH_DIR="$dir" POSECAM_SHARDS="$shards"
# shellcheck disable=SC2086
array=$(sbatch --parsable --array="${indices}%${parallel}" ${POSECAM_SBATCH_ARGS:-} "$here/posecam-array.sbatch")
array="${array%%;*}"
# shellcheck disable=SC2086
merge=$(sbatch --parsable --dependency="afterany:${array}" ${POSECAM_SBATCH_ARGS:-} "$here/posecam-merge.sbatch")
echo "array job ${array} (shards ${indices} of ${shards}), merge job ${merge%%;*}"
