#!/usr/bin/env bash
# The README's test command: installs dependencies, builds everything, runs the whole suite.
# Fixtures are read from $PANGU_FIXTURES (default: ../shared/fixtures beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPD_WERROR=ON
cmake --build "$BUILD_DIR" -j "$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" --timeout 900
