// conditioner_config.h: how a model turns prompts into UNet conditioning — which encoders, which
// hidden layer of each, where the pooled vector comes from, which micro-conditioning ids. Read
// from model_index.json: an explicit "conditioning" object when the model carries one, otherwise
// the defaults of the diffusers pipeline class named by "_class_name" (the one place that knows
// pipeline classes).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "io/json_config.h"
#include "text_encoders/clip_text.h"

namespace pangu_draw::text_encoders {

enum class HiddenLayer { Last, Penultimate };

enum class TimeIds {
  None,            // no vector conditioning besides the timestep
  SizeCropTarget,  // SDXL: [orig_h, orig_w, crop_top, crop_left, target_h, target_w]
  SizeBucket,      // PanGu-Draw: [index of (width, height) in size_buckets]
};

struct EncoderSpec {
  std::string tokenizer;  // component folder, e.g. "tokenizer_2"
  std::string encoder;    // component folder, e.g. "text_encoder_2"
  HiddenLayer layer = HiddenLayer::Last;
};

struct ConditionerConfig {
  std::vector<EncoderSpec> encoders;  // contexts concatenated on channels, in this order
  int pooled_from = -1;               // encoder whose pooled_projected is the pooled vector; -1 none
  TimeIds time_ids = TimeIds::None;
  std::vector<std::pair<int64_t, int64_t>> size_buckets;  // (width, height), for SizeBucket
  bool zeros_for_empty_negative = false;  // diffusers' force_zeros_for_empty_prompt

  // Index of (width, height) in size_buckets; Error{Usage} listing the supported sizes.
  int64_t bucket_index(int64_t width, int64_t height) const;
};

// From model_index.json and the text encoder folders the model has ("text_encoder",
// "text_encoder_2", in that order).
ConditionerConfig conditioner_config_from(const io::JsonConfig& index,
                                          const std::vector<std::string>& encoder_folders);

// A1111's "Clip skip" N on an encoder whose model default is `layer`: 0 keeps the default. On a
// last-layer encoder (SD 1.x/2.x, PanGu's first) N takes hidden_states[-N] through the final
// layer norm (A1111 on SD 1.x; diffusers' clip_skip = N - 1); on a penultimate-layer encoder
// (SDXL, PanGu's second) N <= 2 keeps the penultimate layer (A1111 ignores clip skip there) and
// N > 2 takes hidden_states[-N] without the final norm (A1111's sdxl_clip_l_skip). Error{Usage}
// for N < 0.
HiddenSelection hidden_selection(HiddenLayer layer, int clip_skip);

}  // namespace pangu_draw::text_encoders
