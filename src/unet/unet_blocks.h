// unet_blocks.h: the UNet's down, mid and up blocks; mirrors diffusers 0.25
// models/unet_2d_blocks.py CrossAttnDownBlock2D / DownBlock2D, UNetMidBlock2DCrossAttn,
// CrossAttnUpBlock2D / UpBlock2D (the plain variants are the same blocks without attentions).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "nn/layers.h"
#include "unet/unet_config.h"

namespace pangu_draw::unet {

struct BlockOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  int64_t prev_output_channels = 0;  // up blocks: channels coming from the block below
  int64_t temb_channels = 0;
  int64_t num_layers = 1;          // resnets (and transformers when has_attention)
  int64_t transformer_layers = 1;  // BasicTransformerBlocks per Transformer2DModel
  int64_t heads = 1;
  int64_t cross_attention_dim = 0;
  int64_t groups = 32;
  double eps = 1e-5;
  bool use_linear_projection = false;
  bool has_attention = true;  // CrossAttn* block vs plain block
  bool add_sampler = false;   // downsamplers.0 / upsamplers.0
  int64_t downsample_padding = 1;
  double output_scale_factor = 1.0;  // mid block resnets (mid_block_scale_factor)
  nn::ParamOptions params;           // dtype and device of the weights
};

// The options of down block i, the mid block and up block i (in up order) as diffusers'
// UNet2DConditionModel derives them from its config, with weights in `p`'s dtype and device.
BlockOptions down_block_options(const UNetConfig& config, size_t i, const nn::ParamOptions& p);
BlockOptions mid_block_options(const UNetConfig& config, const nn::ParamOptions& p);
BlockOptions up_block_options(const UNetConfig& config, size_t i, const nn::ParamOptions& p);

// CrossAttnDownBlock2D (has_attention) or DownBlock2D.
struct DownBlockImpl : torch::nn::Module {
  explicit DownBlockImpl(const BlockOptions& options);
  // x [B, in, H, W] -> [B, out, H', W']; appends each layer's output and the downsampled
  // output to `skips` (the skip connections for the up blocks).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb,
                        const torch::Tensor& context, std::vector<torch::Tensor>& skips);
  int64_t num_skips() const;

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr}, downsamplers{nullptr};
};
TORCH_MODULE(DownBlock);

struct UNetMidBlock2DCrossAttnImpl : torch::nn::Module {
  explicit UNetMidBlock2DCrossAttnImpl(const BlockOptions& options);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb,
                        const torch::Tensor& context);  // [B, C, H, W] -> same

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr};
};
TORCH_MODULE(UNetMidBlock2DCrossAttn);

// CrossAttnUpBlock2D (has_attention) or UpBlock2D.
struct UpBlockImpl : torch::nn::Module {
  explicit UpBlockImpl(const BlockOptions& options);
  // Consumes num_layers skips from the back of `skips` (concatenated on channels before each
  // resnet); the upsampler, when present, resizes to `upsample_size` ({H, W}).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb,
                        const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                        const std::vector<int64_t>& upsample_size);

  torch::nn::ModuleList resnets{nullptr}, attentions{nullptr}, upsamplers{nullptr};
};
TORCH_MODULE(UpBlock);

}  // namespace pangu_draw::unet
