#!/usr/bin/env bash
# make_lowres.sh: trains "lowres", the Coop-Diffusion partner of the embedded model: a tiny
# text-to-image model at 32x32 with a VAE of its own (latent space B: trained from another seed on
# 32x32 scenes, 8x8x4 latents), one UNet on all timesteps, the same text encoders (the pangu
# fixture's, frozen). One command, fixed seeds, one core (~40 min): the VAE in three phases, the
# UNet in two (the second continues from the first on new scenes at half the learning rate and
# saves the weights' moving average). Not shipped (the 30 MB budget is the embedded model's); the
# Coop-Diffusion comparison of docs/coop-diffusion.md uses it as the low-resolution expert.
# Usage: tools/train/make_lowres.sh [OUT_DIR]   (default out/lowres)
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-out/lowres}
BUILD=${BUILD_DIR:-build}
WORK=${WORK:-out/lowres_work}
BASE=${PANGU_FIXTURES:-../shared/fixtures}/pangu/model
SIZE=32
VAE_PHASES=${VAE_PHASES-"1021:1e-3:10 1731:1e-3:11 958:5e-4:12"}  # steps:lr:seed; "": reuse $WORK/vae
UNET_STEPS=${UNET_STEPS:-4000} UNET2_STEPS=${UNET2_STEPS:-2000}

cmake --build "$BUILD" --target pangu-draw-train
TRAIN="$BUILD/pangu-draw-train"
mkdir -p "$WORK"
prev="" i=0
for phase in $VAE_PHASES; do
  IFS=: read -r steps lr seed <<< "$phase"
  i=$((i + 1))
  "$TRAIN" vae --config tools/train/configs/vae_f4.json ${prev:+--init "$prev"} -o "$WORK/vae$i" \
    --batch 8 --lr "$lr" --steps "$steps" --seed "$seed" --size "$SIZE" --threads 1 \
    --log-every 50 > "$WORK/vae$i.log" 2>&1
  prev="$WORK/vae$i"
done
if [ -n "$prev" ]; then rm -rf "$WORK/vae" && cp -r "$prev" "$WORK/vae"; fi
"$TRAIN" vae-check "$WORK/vae" -n 200 --size "$SIZE" | tee "$WORK/vae_check.txt"

unet() {  # name, steps, extra flags
  local name=$1 steps=$2
  shift 2
  "$TRAIN" unet --base "$BASE" --vae "$WORK/vae" --unet-config tools/train/configs/unet_16.json \
    -o "$WORK/$name" --batch 8 --steps "$steps" --size "$SIZE" --threads 1 --save-f16 \
    --log-every 50 "$@" > "$WORK/$name.log" 2>&1
}
unet unet1 "$UNET_STEPS" --lr 1e-3 --seed 0
unet unet2 "$UNET2_STEPS" --lr 5e-4 --seed 1 --ema 0.999 --init "$WORK/unet1/unet"
rm -rf "$OUT" && mkdir -p "$(dirname "$OUT")" && cp -r "$WORK/unet2" "$OUT"
"$TRAIN" cast-f16 "$OUT"
python3 tools/train/loss_plot.py "$OUT/loss.svg" unet="$WORK/unet1.log" \
  unet-2="$WORK/unet2.log@$UNET_STEPS" $(for ((j = 1; j <= i; j++)); do echo "vae-$j=$WORK/vae$j.log"; done)
echo "model: $OUT (score it: $BUILD/pangu-draw-bench-quality -m $OUT --size $SIZE -n 100)"
