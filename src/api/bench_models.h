// bench_models.h: the models `pangu-draw bench` times: a built-in published architecture with
// random weights (built through the same from_json config paths as real models) or a loaded one.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>

#include "nn/layers.h"
#include "pipeline/bench_configs.h"
#include "pipeline/model_bundle.h"

namespace pangu_draw::api {

struct BenchModels {
  std::string description;
  std::function<void()> encode_text;  // the text-encoder work of one image: prompt + negative
  unet::UNet2DConditionModel unet{nullptr};
  vae::AutoencoderKL vae{nullptr};
  torch::Tensor context;   // [1, 77, C] in the UNet's dtype
  torch::Tensor pooled;    // [1, P] or undefined
  torch::Tensor time_ids;  // [1, K] or undefined
  int64_t native_width = 512, native_height = 512;
  double params_millions = 0.0;
  std::shared_ptr<const pipeline::ModelBundle> bundle;  // keeps a loaded model alive
};

// Random weights for `arch`, created directly in `dtype` (no float32 copy of the weights).
BenchModels build_random_models(const pipeline::BuiltinArch& arch, torch::ScalarType dtype);

// The components of `arch` with random weights (nn::init_parameters, fixed seeds: the same
// weights in every run and every dtype) in `p`'s dtype and device; i: which text encoder.
text_encoders::CLIPTextModel random_text_encoder(const pipeline::BuiltinArch& arch, size_t i,
                                                 const nn::ParamOptions& p);
unet::UNet2DConditionModel random_unet(const pipeline::BuiltinArch& arch,
                                       const nn::ParamOptions& p);
vae::AutoencoderKL random_vae(const pipeline::BuiltinArch& arch, const nn::ParamOptions& p);

// A model folder or single file, loaded as Pipeline::load does; conditioning for width x height.
BenchModels load_bench_models(const std::string& path, torch::ScalarType dtype, int64_t width,
                              int64_t height);

}  // namespace pangu_draw::api
