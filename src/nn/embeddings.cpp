// embeddings.cpp: timestep_embedding and TimestepEmbedding.
#include "nn/embeddings.h"

#include <cmath>

#include "core/error.h"

namespace pangu_draw::nn {

torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int64_t dim, bool flip_sin_to_cos,
                                 double downscale_freq_shift, double max_period) {
  PD_CHECK(timesteps.dim() == 1, Runtime,
           "timestep_embedding: timesteps must be 1-D [B], got " << timesteps.sizes());
  PD_CHECK(dim >= 2, Input, "timestep_embedding: dim must be >= 2, got " << dim);
  const int64_t half = dim / 2;
  PD_CHECK(half - downscale_freq_shift != 0.0, Input,
           "timestep_embedding: dim/2 equals freq_shift (" << downscale_freq_shift << ")");
  // Same float32 operation order as diffusers, so the sinusoids match bit for bit.
  auto exponent = torch::arange(0, half, torch::TensorOptions().dtype(torch::kFloat).device(timesteps.device()))
                      .mul(-std::log(max_period))
                      .div(half - downscale_freq_shift);
  auto freqs = exponent.exp();                                                // [half]
  auto args = timesteps.to(torch::kFloat).unsqueeze(1) * freqs.unsqueeze(0);  // [B, half]
  auto emb = flip_sin_to_cos ? torch::cat({args.cos(), args.sin()}, -1)
                             : torch::cat({args.sin(), args.cos()}, -1);  // [B, 2*half]
  if (dim % 2 == 1)
    emb = torch::nn::functional::pad(emb, torch::nn::functional::PadFuncOptions({0, 1}));
  return emb;
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(int64_t in_channels, int64_t time_embed_dim,
                                             const ParamOptions& p) {
  linear_1 = register_module("linear_1", nn::Linear(in_channels, time_embed_dim, true, p));
  linear_2 = register_module("linear_2", nn::Linear(time_embed_dim, time_embed_dim, true, p));
}

torch::Tensor TimestepEmbeddingImpl::forward(const torch::Tensor& x) {
  return linear_2->forward(torch::nn::functional::silu(linear_1->forward(x)));
}

}  // namespace pangu_draw::nn
