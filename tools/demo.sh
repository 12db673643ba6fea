#!/usr/bin/env bash
# The README's main job: installs dependencies, builds the CLI, and generates pictures for an
# English and a Chinese prompt with the model shipped in models/ (or MODEL=path for your own).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPD_BUILD_TESTS=OFF >/dev/null
cmake --build "$BUILD_DIR" -j "$(nproc)" --target pangu-draw
MODEL=${MODEL:-}
if [ -z "$MODEL" ]; then
  if [ -f models/tiny/model_index.json ]; then
    MODEL=models/tiny
  else
    # Until the embedded model lands, a random-weight fixture shows the pipeline end to end.
    MODEL=../shared/fixtures/pangu/model
  fi
fi
OUT=${OUT:-out}
mkdir -p "$OUT"
CLI="$BUILD_DIR/pangu-draw"
"$CLI" generate --model "$MODEL" --prompt "two red circles on the left" \
  --seed 42 --steps 20 --output "$OUT/demo_en.png" --overwrite
"$CLI" generate --model "$MODEL" --prompt "左边有两个红色的圆形" \
  --seed 42 --steps 20 --output "$OUT/demo_zh.png" --overwrite
echo "pictures: $OUT/demo_en.png $OUT/demo_zh.png"
