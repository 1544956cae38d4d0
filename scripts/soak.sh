#!/usr/bin/env bash
# By-hand soak run: `posecam export` of a long clip (the shared 139 s clip looped to ~30 min by
# default), sampling the process's resident memory every 5 s. Prints the samples, then one JSON line
# with the RSS after warm-up, the peak and the end. Usage:
#   scripts/soak.sh [LOOPS] [CLIP]      (LOOPS=13: 13 x 139 s = 30 min of video)
set -euo pipefail
cd "$(dirname "$0")/.."
loops="${1:-13}"
clip="${2:-../shared/data/video/one-by-one-person-768x432-10fps.mp4}"
bin=./target/release/posecam
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 1; }
work="$(mktemp -d)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
ffmpeg -v error -stream_loop "$((loops - 1))" -i "$clip" -c copy "$work/long.mp4"
frames=$(ffprobe -v error -count_packets -select_streams v -show_entries stream=nb_read_packets -of csv=p=0 "$work/long.mp4")
echo "soak: $frames frames ($loops x $(basename "$clip"))" >&2
start=$(date +%s)
"$bin" export "$work/long.mp4" -o "$work/out.mp4" --json "$work/out.jsonl" --model "${POSECAM_MODEL:-models/tfpose-mobilenet-v2-small.onnx}" 2>"$work/log" &
pid=$!
samples=()
while kill -0 "$pid" 2>/dev/null; do
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
  [ -n "$rss" ] && { samples+=("$rss"); echo "$(( $(date +%s) - start )) s: ${rss} kB" >&2; }
  sleep 5
done
wait "$pid" || { cat "$work/log" >&2; exit 1; }
elapsed=$(( $(date +%s) - start ))
n=${#samples[@]}
[ "$n" -ge 3 ] || { echo "too short to sample" >&2; exit 1; }
# The first sample after warm-up (30 s), the peak, and the last.
warm=$(( n > 6 ? 6 : 1 ))
peak=0; for s in "${samples[@]}"; do [ "$s" -gt "$peak" ] && peak=$s; done
lines=$(wc -l < "$work/out.jsonl")
printf '{"frames": %s, "jsonl_lines": %s, "seconds": %s, "rss_kb_after_warmup": %s, "rss_kb_peak": %s, "rss_kb_end": %s, "end_to_start": %.3f}\n' \
  "$frames" "$lines" "$elapsed" "${samples[$warm]}" "$peak" "${samples[$((n - 1))]}" \
  "$(awk -v a="${samples[$((n - 1))]}" -v b="${samples[$warm]}" 'BEGIN { print a / b }')"
