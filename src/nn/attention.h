// attention.h: the one scaled-dot-product attention kernel (query-chunked, bounded memory) and
// the projection module around it; mirrors diffusers 0.25 models/attention_processor.py Attention.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "nn/layers.h"

namespace pangu_draw::nn {

// softmax(q k^T / sqrt(d)) v for q [B, heads, N, d], k/v [B, heads, M, d] -> [B, heads, N, d].
// Queries are processed in chunks so that at most ~max_score_bytes of scores exist at once.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                        int64_t max_score_bytes = int64_t{64} << 20);

struct AttentionOptions {
  int64_t query_dim = 0;
  int64_t cross_attention_dim = 0;  // 0: self-attention (keys/values from the query input)
  int64_t heads = 1;
  int64_t dim_head = 64;
  bool qkv_bias = false;  // false in the UNet transformers, true in the VAE mid-block
  bool out_bias = true;
  ParamOptions params;  // dtype and device of the projections
};

struct AttentionImpl : torch::nn::Module {
  explicit AttentionImpl(const AttentionOptions& options);
  // x [B, N, query_dim], context [B, M, cross_attention_dim] or undefined (self-attention)
  // -> [B, N, query_dim].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {});

  nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out{nullptr};  // element "0": the output Linear (diffusers to_out.0)

 private:
  AttentionOptions options_;
  nn::Linear out_proj_{nullptr};
};
TORCH_MODULE(Attention);

}  // namespace pangu_draw::nn
