// embeddings.h: sinusoidal timestep embedding and the TimestepEmbedding MLP;
// mirrors diffusers 0.25 models/embeddings.py get_timestep_embedding and TimestepEmbedding.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "nn/layers.h"

namespace pangu_draw::nn {

// timesteps [B] (any real dtype) -> [B, dim] float32: half sines and half cosines of
// t * exp(-ln(max_period) * i / (dim/2 - downscale_freq_shift)), cosines first when
// flip_sin_to_cos; an odd dim gets one zero column at the end.
torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos,
                                 double downscale_freq_shift, double max_period = 10000.0);

struct TimestepEmbeddingImpl : torch::nn::Module {
  TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim, const ParamOptions& p);
  // x [B, in_channels] -> [B, time_embed_dim]: linear_1, SiLU, linear_2.
  torch::Tensor forward(const torch::Tensor& x);

  nn::Linear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(TimestepEmbedding);

}  // namespace pangu_draw::nn
