// infotext.h: the "parameters" text stored in every generated PNG, in A1111's infotext format:
//   <prompt>
//   Negative prompt: <negative prompt>          (only when there is one)
//   Steps: 30, Sampler: Euler, CFG scale: 7.5, Seed: 1, Size: 512x512, Model: sd15, ...
// Values are quoted as A1111 quotes them, so its parse_generation_parameters gets every field
// back; models are named by their folder or file name, never by a local path.
#pragma once

#include <cstdint>
#include <string>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::pipeline {
struct ModelBundle;
}

namespace pangu_draw::api {

// A1111's quote(): a value holding ',', '\n' or ':' becomes a JSON string (non-ASCII kept as is).
// Also quoted, so that they too come back exactly: an empty value, one starting with '"', and
// one starting or ending with white space (A1111's parser drops or strips those).
std::string infotext_quote(const std::string& value);

// A model's name for the text: the last part of its path ("models/sd15/" -> "sd15"; a folder
// named "model" gives its parent's name, as load_bundle names models) without a weights
// extension ("v1-5-pruned-emaonly.safetensors" -> "v1-5-pruned-emaonly"), as A1111's "Model".
std::string model_label(const std::string& path);

// The text for one image of request `r` (its prompt as run; `original_prompt` is recorded when
// it differs) made by `model` with `seed` at w x h.
std::string parameters_text(const Request& r, const std::string& original_prompt, int64_t seed,
                            int64_t w, int64_t h, const pipeline::ModelBundle& model);

}  // namespace pangu_draw::api
