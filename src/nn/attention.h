// attention.h: the scaled-dot-product attention kernel (LibTorch's fused SDPA; the older
// query-chunked loop kept for comparison) and the projection module around it; mirrors diffusers
// 0.25 models/attention_processor.py Attention (AttnProcessor2_0).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "nn/layers.h"

namespace pangu_draw::nn {

// softmax(q k^T / sqrt(d)) v for q [B, heads, N, d], k/v [B, heads, M, dv] -> [B, heads, N, dv],
// through at::scaled_dot_product_attention: the fused flash-attention kernel on the CPU (every
// float dtype; blocks of queries and keys, so no [N, M] score matrix and fp32 accumulation in
// bf16/fp16), flash / memory-efficient kernels on CUDA. With the environment variable
// PD_ATTENTION=chunked (read once; for side-by-side measurements) it runs chunked_attention.
// The result may be a strided view (laid out as [B, N, heads, dv]). Error{Runtime} for shapes
// that do not fit together.
torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v);

// The same with explicit bmm + in-place softmax, queries in chunks so that at most
// ~max_score_bytes of scores exist at once (the engine's kernel before the fused one).
torch::Tensor chunked_attention(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v,
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
