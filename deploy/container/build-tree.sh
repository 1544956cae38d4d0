#!/usr/bin/env bash
# Lays out posecam's container image as a file tree under ROOT, without a container engine:
#   ROOT/opt/posecam/bin/posecam                the binary
#   ROOT/opt/posecam/bin/onnxruntime[-gpu]/     ONNX Runtime (GPU: with its CUDA 13 and cuDNN 9 libraries)
#   ROOT/opt/posecam/lib/                       the shared libraries the binary links (FFmpeg and the rest),
#                                               all but glibc's own, which the base image provides
#   ROOT/opt/posecam/posecam                    launcher (finds the libraries beside itself)
#   ROOT/usr/local/bin/posecam -> ../../../opt/posecam/posecam
#   ROOT/opt/posecam/models/                    models: mount them here, or pass --model FILE to copy one in
#
# Usage: deploy/container/build-tree.sh ROOT [--cuda] [--model FILE]
# Needs a built checkout (./posecam.sh setup, or setup --cuda for --cuda). The Dockerfile beside this
# script runs exactly this, so `docker build` and this script give the same tree.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
checkout="$(cd "$here/../.." && pwd)"
die() { printf 'build-tree: error: %s\n' "$*" >&2; exit 1; }

root="" flavor=onnxruntime model=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) flavor=onnxruntime-gpu ;;
    --model) model="${2:?--model needs a file}"; shift ;;
    -*) die "unknown option $1" ;;
    *) [ -z "$root" ] || die "one ROOT only"; root="$1" ;;
  esac
  shift
done
[ -n "$root" ] || die "usage: build-tree.sh ROOT [--cuda] [--model FILE]"
binary="$checkout/target/release/posecam"
runtime="$checkout/.deps/$flavor"
[ -x "$binary" ] || die "$binary is missing: run ./posecam.sh setup first"
[ -f "$runtime/libonnxruntime.so" ] || die "$runtime is missing: run ./posecam.sh setup$([ "$flavor" = onnxruntime-gpu ] && echo ' --cuda')"
[ -z "$model" ] || [ -f "$model" ] || die "$model: no such model file"

prefix="$root/opt/posecam"
mkdir -p "$prefix/bin" "$prefix/lib" "$prefix/models" "$root/usr/local/bin"
cp "$binary" "$prefix/bin/posecam"
# Debug info is for developers (the release profile keeps it): the image ships without it.
if command -v strip >/dev/null; then strip --strip-debug "$prefix/bin/posecam"; fi
rm -rf "$prefix/bin/$flavor"
cp -a "$runtime" "$prefix/bin/$flavor"
rm -rf "$prefix/bin/$flavor/downloads"

# Every library the binary links, resolved on this machine, except glibc's (the base image's must match
# the one the binary was built against: build on the base image's Debian release).
glibc='^(linux-vdso|ld-linux|libc|libm|libdl|libpthread|librt|libresolv|libutil)\.so'
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | while read -r name path; do
  [[ "$name" =~ $glibc ]] && continue
  cp -L "$path" "$prefix/lib/$name"
done
if ldd "$binary" | grep -q 'not found'; then
  die "the binary links libraries this machine lacks: $(ldd "$binary" | grep 'not found' | tr -s ' \t' ' ')"
fi

[ -z "$model" ] || cp "$model" "$prefix/models/"

cat > "$prefix/posecam" <<'LAUNCHER'
#!/bin/sh
# posecam with the libraries of its image: found beside this launcher, wherever the tree was put.
prefix="$(dirname "$(readlink -f "$0")")"
LD_LIBRARY_PATH="$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
POSECAM_DATA_DIR="${POSECAM_DATA_DIR:-$prefix}"
export LD_LIBRARY_PATH POSECAM_DATA_DIR
exec "$prefix/bin/posecam" "$@"
LAUNCHER
chmod 755 "$prefix/posecam"
ln -sfn ../../../opt/posecam/posecam "$root/usr/local/bin/posecam"
printf 'build-tree: %s: posecam, %s libraries, %s (%s)\n' "$root" \
  "$(ls "$prefix/lib" | wc -l)" "$flavor" "$(du -sh "$root" | cut -f1)" >&2
