#!/usr/bin/env bash
# make_tiny.sh: trains the embedded model models/tiny from scratch on TinyWorld scenes and
# assembles it (one command, fixed seeds; ~80 min on 2 cores):
#   1. the VAE (latent space A, 4x down-sampling, 64x64 images -> 16x16x4 latents);
#   2. PanGu-Draw's time-decoupled generators, trained side by side on one core each:
#      structure (timesteps t >= T_s, half of its scenes upscaled low-resolution renders) and
#      texture (t < T_s, full-resolution scenes only); then a second phase of each continuing
#      from the first (new scenes, half the learning rate) that saves the weights' moving average;
#   3. models/tiny = the structure model + unet_texture/ + "time_decoupled" in model_index.json,
#      all weights as F16, styles.json with the captions' style prefixes;
#   4. its own bilingual text encoder (make_text_encoder.sh: a SentencePiece tokenizer trained on
#      the captions and an encoder distilled from the teacher encoders the UNets learned from),
#      replacing the teacher's two encoders;
#   5. the edge-map ControlNet (make_controlnet.sh) into controlnet_edges/ (~28 MB in all).
# The UNets train on the pangu fixture's text encoders (random weights, frozen: the UNets learn
# from their deterministic features); step 4 then distils them into the model's own encoder.
# Usage: tools/train/make_tiny.sh [OUT_DIR]
# FROM_MODEL=models/tiny runs only the second phase, continuing from that model's F16 VAE and UNets
# (what the shipped model's second phase did; its first-phase logs are not kept, so the loss figure
# of such a run is loss_phase2.svg and loss.svg stays).
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-models/tiny}
BUILD=${BUILD_DIR:-build}
WORK=${WORK:-out/tiny_work}
BASE=${PANGU_FIXTURES:-../shared/fixtures}/pangu/model
SWITCH_T=${SWITCH_T:-500}
# Step counts of the shipped model (what the time budgets of its training runs reached). The VAE
# trained in phases "steps:lr:seed", each continuing from the previous one's weights.
VAE_PHASES=${VAE_PHASES:-"1021:1e-3:0 1731:1e-3:1 958:5e-4:2"}
STRUCTURE_STEPS=${STRUCTURE_STEPS:-3625} TEXTURE_STEPS=${TEXTURE_STEPS:-3540}
STRUCTURE2_STEPS=${STRUCTURE2_STEPS:-2000} TEXTURE2_STEPS=${TEXTURE2_STEPS:-2000}

cmake --build "$BUILD" --target pangu-draw-train
TRAIN="$BUILD/pangu-draw-train"
mkdir -p "$WORK"
FROM_MODEL=${FROM_MODEL:-}
if [ -n "$FROM_MODEL" ]; then
  rm -rf "$WORK/vae" "$WORK/structure" "$WORK/texture"
  mkdir -p "$WORK/structure" "$WORK/texture"
  cp -r "$FROM_MODEL/vae" "$WORK/vae"
  cp -r "$FROM_MODEL/unet" "$WORK/structure/unet"
  cp -r "$FROM_MODEL/unet_texture" "$WORK/texture/unet"
  VAE_PHASES=""
fi
prev="" i=0
for phase in $VAE_PHASES; do
  IFS=: read -r steps lr seed <<< "$phase"
  i=$((i + 1))
  "$TRAIN" vae --config tools/train/configs/vae_f4.json ${prev:+--init "$prev"} -o "$WORK/vae$i" \
    --batch 8 --lr "$lr" --steps "$steps" --seed "$seed" --threads 2 --log-every 50 2>&1 | tee "$WORK/vae$i.log"
  prev="$WORK/vae$i"
done
if [ -n "$prev" ]; then rm -rf "$WORK/vae" && cp -r "$prev" "$WORK/vae"; fi
"$TRAIN" vae-check "$WORK/vae" -n 200 | tee "$WORK/vae_check.txt"

unet() {  # name, steps, extra flags
  local name=$1 steps=$2
  shift 2
  "$TRAIN" unet --base "$BASE" --vae "$WORK/vae" --unet-config tools/train/configs/unet_16.json \
    -o "$WORK/$name" --batch 8 --steps "$steps" --threads 1 --save-f16 \
    --log-every 50 "$@" > "$WORK/$name.log" 2>&1
}
STRUCTURE=(--t-min "$SWITCH_T" --lowres-fraction 0.5) TEXTURE=(--t-max "$SWITCH_T" --lowres-fraction 0)
if [ -z "$FROM_MODEL" ]; then
  unet structure "$STRUCTURE_STEPS" "${STRUCTURE[@]}" --lr 1e-3 --seed 0 &
  unet texture "$TEXTURE_STEPS" "${TEXTURE[@]}" --lr 1e-3 --seed 0 &
  wait
fi
# Phase 2: new scenes (seed 1), lr 5e-4, the moving average of the weights (decay 0.999) saved.
unet structure2 "$STRUCTURE2_STEPS" "${STRUCTURE[@]}" --lr 5e-4 --seed 1 --ema 0.999 \
  --init "$WORK/structure/unet" &
unet texture2 "$TEXTURE2_STEPS" "${TEXTURE[@]}" --lr 5e-4 --seed 1 --ema 0.999 \
  --init "$WORK/texture/unet" &
wait

KEEP=(README.md loss.svg)  # the model card and the first phase's figure are kept
for f in "${KEEP[@]}"; do if [ -f "$OUT/$f" ]; then cp "$OUT/$f" "$WORK/keep_$f"; fi; done
rm -rf "$OUT" && mkdir -p "$(dirname "$OUT")"
cp -r "$WORK/structure2" "$OUT"
cp -r "$WORK/texture2/unet" "$OUT/unet_texture"
python3 - "$OUT" "$SWITCH_T" <<'EOF'
import json, sys
out, switch_t = sys.argv[1], int(sys.argv[2])
index = json.load(open(f"{out}/model_index.json"))
index["time_decoupled"] = {"texture_unet": "unet_texture", "switch_t": switch_t}
json.dump(index, open(f"{out}/model_index.json", "w"), indent=1, ensure_ascii=False)
styles = {"cartoon": "cartoon style, ", "soft": "soft style, ",
          "cartoon_zh": "卡通风格，", "soft_zh": "柔和风格，"}
json.dump(styles, open(f"{out}/styles.json", "w"), indent=1, ensure_ascii=False)
EOF
for f in "${KEEP[@]}"; do if [ -f "$WORK/keep_$f" ]; then cp "$WORK/keep_$f" "$OUT/$f"; fi; done
if [ -n "$FROM_MODEL" ]; then
  python3 tools/train/loss_plot.py "$OUT/loss_phase2.svg" structure-2="$WORK/structure2.log@$STRUCTURE_STEPS" \
    texture-2="$WORK/texture2.log@$TEXTURE_STEPS"
else
  python3 tools/train/loss_plot.py "$OUT/loss.svg" structure="$WORK/structure.log" texture="$WORK/texture.log" \
    structure-2="$WORK/structure2.log@$STRUCTURE_STEPS" texture-2="$WORK/texture2.log@$TEXTURE_STEPS" \
    $(for ((j = 1; j <= i; j++)); do echo "vae-$j=$WORK/vae$j.log"; done)
fi
"$TRAIN" cast-f16 "$OUT"  # text encoders and VAE as F16 too (UNets are saved so)
TEACHER="$BASE" tools/train/make_text_encoder.sh "$OUT"
tools/train/make_controlnet.sh "$OUT"
du -sh "$OUT"
echo "model: $OUT (score it: $BUILD/pangu-draw-bench-quality -m $OUT -n 100)"
