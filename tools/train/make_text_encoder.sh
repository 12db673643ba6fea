#!/usr/bin/env bash
# make_text_encoder.sh: gives a TinyWorld model its own bilingual text encoder (one command,
# fixed seeds): a SentencePiece tokenizer trained on English + Chinese captions, then a small
# bidirectional CLIP-architecture encoder distilled from the teacher's encoders (the pangu
# fixture's, which the model's UNets were trained with): for a caption in either language it
# learns the conditioning the teacher gives the English caption. The model's tokenizer/,
# text_encoder/ (and tokenizer_2/, text_encoder_2/) are then replaced by the trained pair and
# model_index.json says how the UNets read it (context = the encoder's penultimate layer, pooled
# vector from its projection). Then (ADAPT_STEPS > 0) both UNets are fine-tuned side by side, one
# core each, on the new encoder's conditioning (AltDiffusion's recipe after swapping the text
# encoder: the UNets adapt to what the student gets slightly wrong).
# Usage: tools/train/make_text_encoder.sh MODEL_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${1:?usage: make_text_encoder.sh MODEL_DIR}
BUILD=${BUILD_DIR:-build}
WORK=${WORK:-out/text_encoder_work}
TEACHER=${TEACHER:-${PANGU_FIXTURES:-../shared/fixtures}/pangu/model}
TE_STEPS=${TE_STEPS:-4000}
ADAPT_STEPS=${ADAPT_STEPS:-1200}
SWITCH_T=${SWITCH_T:-500}

cmake --build "$BUILD" --target pangu-draw-train
TRAIN="$BUILD/pangu-draw-train"
rm -rf "$WORK" && mkdir -p "$WORK"
"$TRAIN" tokenizer -o "$WORK/tokenizer" --vocab-size 256 --sentences 20000 --seed 0
"$TRAIN" text-encoder --teacher "$TEACHER" --tokenizer "$WORK/tokenizer" \
  --config tools/train/configs/text_encoder_bilingual.json -o "$WORK/text_encoder" \
  --batch 64 --lr 1e-3 --steps "$TE_STEPS" --seed 0 --threads 2 --log-every 50 --save-f16 \
  2>&1 | tee "$WORK/text_encoder.log"

rm -rf "$MODEL/tokenizer" "$MODEL/text_encoder" "$MODEL/tokenizer_2" "$MODEL/text_encoder_2"
cp -r "$WORK/tokenizer" "$MODEL/tokenizer"
cp -r "$WORK/text_encoder" "$MODEL/text_encoder"
python3 - "$MODEL" <<'PY'
import json, sys
path = f"{sys.argv[1]}/model_index.json"
index = json.load(open(path))
index.pop("tokenizer_2", None)
index.pop("text_encoder_2", None)
index["tokenizer"] = ["transformers", "SentencePieceTokenizer"]
index["text_encoder"] = ["transformers", "CLIPTextModelWithProjection"]
index["conditioning"] = {"context_layers": ["penultimate"], "pooled": True, "time_ids": "size_bucket"}
json.dump(index, open(path, "w"), indent=1, ensure_ascii=False)
PY
plots=(text-encoder="$WORK/text_encoder.log")
if [ "$ADAPT_STEPS" -gt 0 ]; then
  adapt() {  # name, unet folder, range flags
    local name=$1 folder=$2
    shift 2
    "$TRAIN" unet --base "$MODEL" --vae "$MODEL/vae" --unet-config "$MODEL/$folder/config.json" \
      --init "$MODEL/$folder" -o "$WORK/$name" --batch 8 --steps "$ADAPT_STEPS" --lr 3e-4 --seed 2 \
      --ema 0.998 --threads 1 --save-f16 --log-every 50 "$@" > "$WORK/$name.log" 2>&1
  }
  adapt structure unet --t-min "$SWITCH_T" --lowres-fraction 0.5 &
  adapt texture unet_texture --t-max "$SWITCH_T" --lowres-fraction 0 &
  wait
  cp "$WORK/structure/unet/diffusion_pytorch_model.safetensors" "$MODEL/unet/"
  cp "$WORK/texture/unet/diffusion_pytorch_model.safetensors" "$MODEL/unet_texture/"
  plots+=(structure-adapt="$WORK/structure.log" texture-adapt="$WORK/texture.log")
fi
python3 tools/train/loss_plot.py "$MODEL/loss_text_encoder.svg" "${plots[@]}"
du -sh "$MODEL"
