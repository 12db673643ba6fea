#!/usr/bin/env bash
# make_controlnet.sh: trains the edge-map ControlNet of a TinyWorld model (one command, fixed
# seed) into MODEL_DIR/controlnet_edges: a copy of the structure UNet's encoder half with zero
# convolutions, trained against the model's frozen UNets (steps alternate between the structure
# generator's timesteps and the texture generator's, so it guides the whole time-decoupled plan)
# on TinyWorld scenes and their edge maps (white outlines on black, tinyworld::render_edges), in two
# phases: 3000 steps with a fifth of the prompts empty, then 2500 steps (new scenes) with half of
# them empty, so that the edges alone must carry the layout more often.
# Run it after the model's text encoder is final: it learns from the conditioning the model gives.
# Usage: tools/train/make_controlnet.sh MODEL_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:?usage: make_controlnet.sh MODEL_DIR}
BUILD=${BUILD_DIR:-build}
WORK=${WORK:-out/controlnet_work}
CN_STEPS=${CN_STEPS:-3000} CN2_STEPS=${CN2_STEPS:-2500}

cmake --build "$BUILD" --target pangu-draw-train
TRAIN="$BUILD/pangu-draw-train"
rm -rf "$WORK" && mkdir -p "$WORK"
"$TRAIN" controlnet --model "$MODEL" -o "$WORK/controlnet_edges" --batch 8 --lr 5e-4 \
  --steps "$CN_STEPS" --seed 0 --threads 2 --log-every 50 --save-f16 2>&1 | tee "$WORK/controlnet.log"
"$TRAIN" controlnet --model "$MODEL" -o "$WORK/controlnet_edges2" --init "$WORK/controlnet_edges" \
  --batch 8 --lr 5e-4 --caption-dropout 0.5 --steps "$CN2_STEPS" --seed 1 --threads 2 \
  --log-every 50 --save-f16 2>&1 | tee "$WORK/controlnet2.log"
rm -rf "$MODEL/controlnet_edges" && cp -r "$WORK/controlnet_edges2" "$MODEL/controlnet_edges"
python3 tools/train/loss_plot.py "$MODEL/loss_controlnet.svg" controlnet="$WORK/controlnet.log" \
  controlnet-2="$WORK/controlnet2.log@$CN_STEPS"
du -sh "$MODEL"
