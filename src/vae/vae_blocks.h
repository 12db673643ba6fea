// vae_blocks.h: the AutoencoderKL Encoder and Decoder with their down/up/mid blocks; mirrors
// diffusers 0.25 models/autoencoders/vae.py (Encoder, Decoder) and unet_2d_blocks.py
// (DownEncoderBlock2D, UpDecoderBlock2D, UNetMidBlock2D without time embedding).
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "nn/attention.h"
#include "nn/group_norm.h"
#include "nn/layers.h"
#include "vae/vae_config.h"

namespace pangu_draw::vae {

// The mid-block attention: GroupNorm, one head over all channels, residual connection
// (diffusers Attention with group_norm, heads 1, dim_head C, bias, residual_connection).
struct VAEAttentionImpl : nn::AttentionImpl {
  VAEAttentionImpl(int64_t channels, int64_t groups, double eps, const nn::ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& x);  // [B, C, H, W] -> [B, C, H, W]

  nn::GroupNorm group_norm{nullptr};
};
TORCH_MODULE(VAEAttention);

// resnets.0, then (attentions.0, resnets.1); attentions only when add_attention.
struct UNetMidBlock2DImpl : torch::nn::Module {
  UNetMidBlock2DImpl(int64_t channels, int64_t groups, bool add_attention,
                     const nn::ParamOptions& p);
  torch::Tensor forward(torch::Tensor x);  // [B, C, H, W] -> [B, C, H, W]

  torch::nn::ModuleList resnets{nullptr};     // of nn::ResnetBlock2D
  torch::nn::ModuleList attentions{nullptr};  // of VAEAttention
};
TORCH_MODULE(UNetMidBlock2D);

struct DownEncoderBlock2DImpl : torch::nn::Module {
  DownEncoderBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t num_layers,
                         int64_t groups, bool add_downsample, const nn::ParamOptions& p);
  // [B, in, H, W] -> [B, out, H/2, W/2] (or [B, out, H, W] without a downsampler)
  torch::Tensor forward(torch::Tensor x);

  torch::nn::ModuleList resnets{nullptr};      // of nn::ResnetBlock2D
  torch::nn::ModuleList downsamplers{nullptr};  // of nn::Downsample2D; only with add_downsample
};
TORCH_MODULE(DownEncoderBlock2D);

struct UpDecoderBlock2DImpl : torch::nn::Module {
  UpDecoderBlock2DImpl(int64_t in_channels, int64_t out_channels, int64_t num_layers,
                       int64_t groups, bool add_upsample, const nn::ParamOptions& p);
  // [B, in, H, W] -> [B, out, 2H, 2W] (or [B, out, H, W] without an upsampler)
  torch::Tensor forward(torch::Tensor x);

  torch::nn::ModuleList resnets{nullptr};    // of nn::ResnetBlock2D
  torch::nn::ModuleList upsamplers{nullptr};  // of nn::Upsample2D; only with add_upsample
};
TORCH_MODULE(UpDecoderBlock2D);

// image [B, in_channels, H, W] -> moments [B, 2 * latent_channels, H / f, W / f]
struct EncoderImpl : torch::nn::Module {
  EncoderImpl(const VAEConfig& c, const nn::ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& x);

  nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList down_blocks{nullptr};  // of DownEncoderBlock2D
  UNetMidBlock2D mid_block{nullptr};
  nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(Encoder);

// latent [B, latent_channels, h, w] -> image [B, out_channels, h * f, w * f]
// The blocks take their inputs by value and are handed them with std::move, so that in inference
// each level's input is freed as soon as the level has consumed it (peak memory at 512^2).
struct DecoderImpl : torch::nn::Module {
  DecoderImpl(const VAEConfig& c, const nn::ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& z);

  nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  UNetMidBlock2D mid_block{nullptr};
  torch::nn::ModuleList up_blocks{nullptr};  // of UpDecoderBlock2D
  nn::GroupNorm conv_norm_out{nullptr};
};
TORCH_MODULE(Decoder);

}  // namespace pangu_draw::vae
