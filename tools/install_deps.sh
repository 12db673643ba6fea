#!/usr/bin/env bash
# Installs everything the build needs (root or sudo for apt):
#  - Debian bookworm packages (compiler, CMake, the libraries below), skipped when present;
#  - LibTorch 2.x from PyPI's `torch` wheel (CUDA-enabled, with its CMake config) into the
#    project-local virtual environment .venv/, where CMakeLists.txt finds it with no flags.
#    Download: the torch wheel (~540 MB) and its CUDA runtime wheels (cuDNN, cuBLAS, NCCL, ...;
#    ~3 GB installed in all); pip caches them, so a second clone installs from the cache.
# PD_TORCH_VERSION overrides the pinned version; PD_SKIP_TORCH=1 skips the wheel (bring your own
# LibTorch through CMAKE_PREFIX_PATH / Torch_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
PACKAGES=(
  cmake ninja-build g++ pkg-config
  python3 python3-venv python3-pip  # the virtual environment that holds the torch wheel
  libsentencepiece-dev  # SentencePiece tokenizers of bilingual text encoders
  libstb-dev            # stb_image / stb_image_write: image decoding and PNG pixel encoding
  libspng-dev           # PNG chunks: CRC-checked reading, tEXt/iTXt parameters text
  libcli11-dev          # the CLI's argument parser
  libspdlog-dev         # logging
  nlohmann-json3-dev    # config.json, safetensors headers
  libcpp-httplib-dev    # `pangu-draw serve`: the HTTP server (docs/server.md)
  libgtest-dev          # the test suite
  clang-14 libclang-rt-14-dev  # tools/ci_hardening.sh: libFuzzer + ASan/UBSan targets
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A python3 that is not Debian's (pyenv, conda) brings its own venv and pip.
if command -v python3 >/dev/null && python3 -c 'import venv, ensurepip' 2>/dev/null; then
  missing=("${missing[@]/python3-venv/}"); missing=("${missing[@]/python3-pip/}"); missing=("${missing[@]/python3/}")
fi
read -r -a missing <<<"${missing[*]}"
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "installing: ${missing[*]}" >&2
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

[ "${PD_SKIP_TORCH:-0}" = 1 ] && exit 0
TORCH_VERSION=${PD_TORCH_VERSION:-2.15.0}
VENV=.venv
# tests/server/fuzz_openapi.py fuzzes `pangu-draw serve` with schemathesis (skipped without it).
install_schemathesis() {
  "$VENV/bin/python" -c 'import schemathesis' 2>/dev/null ||
    "$VENV/bin/pip" install -q --disable-pip-version-check "schemathesis==4.32.5" ||
    echo "schemathesis not installed: ctest's Server.OpenApiFuzz will be skipped" >&2
}
[ -x "$VENV/bin/python" ] && install_schemathesis
if [ -x "$VENV/bin/python" ] &&
   [ "$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null)" = "$TORCH_VERSION" ]; then
  exit 0
fi
echo "installing LibTorch: PyPI torch==$TORCH_VERSION into $VENV (about 540 MB + CUDA runtime wheels)" >&2
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check "torch==$TORCH_VERSION"
"$VENV/bin/pip" install -q --disable-pip-version-check pillow  # test_infotext reads our PNG text with it
install_schemathesis
"$VENV/bin/python" -c 'import torch; print("LibTorch", torch.__version__, "at", torch.utils.cmake_prefix_path)' >&2
