// transformer_2d.h: Transformer2DModel (GroupNorm, proj_in, transformer blocks, proj_out,
// residual) and BasicTransformerBlock with a GEGLU feed-forward; mirrors diffusers 0.25
// models/transformer_2d.py Transformer2DModel and models/attention.py BasicTransformerBlock.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "nn/attention.h"
#include "nn/group_norm.h"
#include "nn/layers.h"

namespace pangu_draw::unet {

// GEGLU feed-forward: ff.net.0.proj (dim -> 2 * 4 dim), hidden * gelu(gate), ff.net.2.
struct FeedForwardImpl : torch::nn::Module {
  FeedForwardImpl(int64_t dim, const nn::ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& x);  // [B, N, dim] -> [B, N, dim]

  torch::nn::ModuleList net{nullptr};  // "0": GEGLU holder with "proj", "2": Linear

 private:
  nn::Linear proj_{nullptr}, out_{nullptr};
};
TORCH_MODULE(FeedForward);

struct BasicTransformerBlockImpl : torch::nn::Module {
  BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t dim_head,
                            int64_t cross_attention_dim, const nn::ParamOptions& p);
  // x [B, N, dim], context [B, M, cross_attention_dim] -> [B, N, dim]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

  nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
  nn::Attention attn1{nullptr}, attn2{nullptr};
  FeedForward ff{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

struct Transformer2DOptions {
  int64_t in_channels = 0;
  int64_t heads = 1;
  int64_t dim_head = 0;
  int64_t num_layers = 1;
  int64_t cross_attention_dim = 0;
  int64_t norm_num_groups = 32;
  bool use_linear_projection = false;
  nn::ParamOptions params;  // dtype and device of the weights
};

struct Transformer2DModelImpl : torch::nn::Module {
  explicit Transformer2DModelImpl(const Transformer2DOptions& options);
  // x [B, C, H, W], context [B, M, cross_attention_dim] -> [B, C, H, W]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);

  nn::GroupNorm norm{nullptr};
  torch::nn::AnyModule proj_in, proj_out;  // Linear or 1x1 Conv2d per use_linear_projection
  torch::nn::ModuleList transformer_blocks{nullptr};

 private:
  Transformer2DOptions options_;
};
TORCH_MODULE(Transformer2DModel);

}  // namespace pangu_draw::unet
