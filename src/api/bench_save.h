// bench_save.h: `pangu-draw bench --arch A --save-model DIR`: a built-in architecture with random
// weights written as a diffusers model folder, so that `bench --model DIR` and `generate` measure
// the load a user's download goes through.
#pragma once

#include <string>

#include "pipeline/bench_configs.h"

namespace pangu_draw::api {

// Writes `arch` to `dir` (created; Error{Usage} if it already holds a model_index.json):
// model_index.json, scheduler/, tokenizer(s), text_encoder(s), unet/ and vae/ with fp16
// safetensors weights, as the published checkpoints are downloaded. The weights are
// api::random_* (fixed seeds); the tokenizers are a byte-level stand-in for CLIP's BPE files
// (same file format and special tokens, a few hundred merges instead of 48 894). One component is
// in memory at a time (SDXL: the 5 GB UNet).
void save_random_model(const pipeline::BuiltinArch& arch, const std::string& dir);

}  // namespace pangu_draw::api
