#!/usr/bin/env bash
# Installs every Debian package hilserl needs to build, test and run.
# Idempotent: packages already present are skipped, so a second run is quick.
# Usage: scripts/install-deps.sh   (as root, or with sudo available)
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake pkg-config libeigen3-dev
  # physics + headless rendering (EGL surfaceless on Mesa)
  libmujoco-dev libegl-dev libgl-dev libegl-mesa0 libgl1-mesa-dri
  # config, CLI, logging
  libyaml-cpp-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  # images and video (only the OpenCV modules we use)
  libopencv-core-dev libopencv-imgproc-dev libopencv-imgcodecs-dev libopencv-videoio-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # datasets
  libhdf5-dev
  # teleop devices (SpaceMouse through spacenavd, gamepads through SDL2)
  libspnav-dev libsdl2-dev
  # actor <-> learner transport (gRPC + protobuf; proto/)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  # neural networks (CPU LibTorch) and a fast BLAS for it (Debian's libblas.so.3 default, the reference BLAS, is ~14x slower)
  libtorch-dev libopenblas0-pthread
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "install-deps: done"
