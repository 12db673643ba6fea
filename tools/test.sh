#!/usr/bin/env bash
# The README's test command: installs dependencies, builds everything, runs the whole suite.
# Fixtures are read from $PANGU_FIXTURES (default: ../shared/fixtures beside the checkout).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
# PD_BUILD_TESTS=ON explicitly: tools/demo.sh configures the same build folder with it OFF.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPD_WERROR="${PD_WERROR:-ON}" \
  -DPD_BUILD_TESTS=ON
cmake --build "$BUILD_DIR" -j "$(nproc)"
cd "$BUILD_DIR"
ctest --output-on-failure -j "$(nproc)" --timeout 900 --no-tests=error

# The example program builds against the installed package and generates an image.
cd ..
PREFIX="$PWD/$BUILD_DIR/install"
cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/dev/null
cmake -S examples/minimal -B "$BUILD_DIR/example" -G Ninja -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$BUILD_DIR/example"
FIXTURES=${PANGU_FIXTURES:-../shared/fixtures}
"$BUILD_DIR/example/pangu_draw_minimal" "$FIXTURES/sd1/model" "a red cube" "$BUILD_DIR/example/minimal.png"
echo "example: OK"
