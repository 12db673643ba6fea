#!/usr/bin/env bash
# The README's main job: installs dependencies, builds the CLI, and generates pictures for an
# English and a Chinese prompt with the model shipped in models/tiny (or MODEL=path for your own).
# models/tiny declares its structure -> texture plan, so both run the time-decoupled path.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
# PD_WERROR (default ON, as tools/test.sh and CI): the test build reuses this build's objects.
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPD_WERROR="${PD_WERROR:-ON}" \
  -DPD_BUILD_TESTS=OFF >/dev/null
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
PROMPT_EN=${PROMPT_EN:-"cartoon style, two large red striped circles on the left, white background"}
PROMPT_ZH=${PROMPT_ZH:-"柔和风格，右边有一个大的蓝色圆点正方形，浅蓝色背景"}
"$CLI" generate --model "$MODEL" --prompt "$PROMPT_EN" \
  --seed 42 --steps 20 --output "$OUT/demo_en.png" --overwrite
"$CLI" generate --model "$MODEL" --prompt "$PROMPT_ZH" \
  --seed 42 --steps 20 --output "$OUT/demo_zh.png" --overwrite
for f in "$OUT/demo_en.png" "$OUT/demo_zh.png"; do
  [ -s "$f" ] || { echo "demo: $f was not written" >&2; exit 1; }
done
echo "pictures: $OUT/demo_en.png $OUT/demo_zh.png"
