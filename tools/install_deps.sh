#!/usr/bin/env bash
# Installs the build dependencies from Debian bookworm's packages (needs root or sudo).
# Skips apt entirely when everything is already installed.
set -euo pipefail
PACKAGES=(
  cmake ninja-build g++ pkg-config
  libtorch-dev          # LibTorch 1.13 (CPU): tensors, modules, oneDNN convolutions
  libopenblas0-pthread  # BLAS behind LibTorch's linear layers
  libsentencepiece-dev  # SentencePiece tokenizers of bilingual text encoders
  libstb-dev            # stb_image / stb_image_write: PNG in and out
  libcli11-dev          # the CLI's argument parser
  libspdlog-dev         # logging
  nlohmann-json3-dev    # config.json, safetensors headers
  libgtest-dev          # the test suite
  clang-14 libclang-rt-14-dev  # tools/ci_hardening.sh: libFuzzer + ASan/UBSan targets
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "installing: ${missing[*]}" >&2
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
