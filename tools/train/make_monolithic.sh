#!/usr/bin/env bash
# make_monolithic.sh: the monolithic baseline of models/tiny's time-decoupled split (issue: what
# does the split buy?): ONE UNet with the split's total size (configs/unet_16_monolithic.json,
# 96/96/128 channels, 9.98 M parameters = structure 4.93 M + texture 4.93 M) trained on all
# timesteps, a quarter of its scenes upscaled low-resolution renders (the split's mix: the
# structure generator's half of t sees half low-res, the texture generator's none), same VAE,
# text encoders, batch, lr and seed as make_tiny.sh's first phase. 3600 steps of this model cost
# about the FLOPs of the split's 3625 + 3540 steps of its two half-size models. Checkpoints at
# every 900 steps are kept (OUT-stepN) and scored with the quality benchmark. Measured 2026-12-01
# (89.7 min on one core; scores 0.490 / 0.603 / 0.615 at 1800 / 2700 / 3600 steps, -n 50, against
# the split's 0.784 at equal compute): models/tiny/README.md.
# Usage: tools/train/make_monolithic.sh [WORK_DIR]   (needs out/tiny_work/vae from make_tiny.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
WORK=${1:-out/mono_work}
BUILD=${BUILD_DIR:-build}
BASE=${PANGU_FIXTURES:-../shared/fixtures}/pangu/model
VAE=${VAE:-out/tiny_work/vae}
STEPS=${STEPS:-3600} EVERY=${EVERY:-900} PROMPTS=${PROMPTS:-50}
cmake --build "$BUILD" --target pangu-draw-train pangu-draw-bench-quality
mkdir -p "$WORK"
"$BUILD/pangu-draw-train" unet --base "$BASE" --vae "$VAE" \
  --unet-config tools/train/configs/unet_16_monolithic.json -o "$WORK/monolithic" --batch 8 \
  --lr 1e-3 --steps "$STEPS" --seed 0 --threads 1 --save-f16 --log-every 50 --lowres-fraction 0.25 \
  --save-every "$EVERY" --keep-checkpoints > "$WORK/monolithic.log" 2>&1
# The final model is the last checkpoint when STEPS is a multiple of EVERY: scored once.
models=("$WORK"/monolithic-step*)
if (( STEPS % EVERY != 0 )); then models+=("$WORK/monolithic"); fi
for model in "${models[@]}"; do
  "$BUILD/pangu-draw-bench-quality" -m "$model" -n "$PROMPTS" --threads 2 \
    --json-out "$model/quality.json" | tail -n 12
done
