// vae_blocks.cpp: Encoder, Decoder and their blocks; mirrors diffusers 0.25
// models/autoencoders/vae.py and unet_2d_blocks.py (DownEncoderBlock2D, UpDecoderBlock2D, UNetMidBlock2D).
#include "vae/vae_blocks.h"

#include "nn/resnet.h"
#include "nn/sampling.h"

namespace pangu_draw::vae {

namespace F = torch::nn::functional;

namespace {

constexpr double kEps = 1e-6;  // diffusers' resnet_eps and norm eps throughout the VAE

nn::ResnetBlock2D resnet(int64_t in, int64_t out, int64_t groups, const nn::ParamOptions& p) {
  nn::ResnetBlock2DOptions o;
  o.params = p;
  o.in_channels = in;
  o.out_channels = out;
  o.temb_channels = 0;
  o.groups = groups;
  o.eps = kEps;
  return nn::ResnetBlock2D(o);
}

nn::Conv2d conv3x3(int64_t in, int64_t out, const nn::ParamOptions& p) {
  return nn::Conv2d(in, out, 3, 1, 1, p);
}

nn::GroupNorm group_norm(int64_t groups, int64_t channels, const nn::ParamOptions& p) {
  return nn::GroupNorm(groups, channels, kEps, p);
}

nn::AttentionOptions single_head(int64_t channels, const nn::ParamOptions& p) {
  nn::AttentionOptions o;
  o.params = p;
  o.query_dim = channels;
  o.heads = 1;
  o.dim_head = channels;
  o.qkv_bias = true;
  o.out_bias = true;
  return o;
}

torch::Tensor run_resnets(const torch::nn::ModuleList& resnets, torch::Tensor h) {
  for (const auto& r : *resnets) h = r->as<nn::ResnetBlock2DImpl>()->forward(std::move(h));
  return h;
}

}  // namespace

VAEAttentionImpl::VAEAttentionImpl(int64_t channels, int64_t groups, double eps,
                                   const nn::ParamOptions& p)
    : nn::AttentionImpl(single_head(channels, p)) {
  group_norm = register_module("group_norm", nn::GroupNorm(groups, channels, eps, p));
}

torch::Tensor VAEAttentionImpl::forward(const torch::Tensor& x) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  auto tokens = group_norm->forward(x).view({b, c, h * w}).transpose(1, 2);  // [B, HW, C]
  auto out = nn::AttentionImpl::forward(tokens);                             // [B, HW, C]
  return out.transpose(1, 2).reshape({b, c, h, w}) + x;
}

UNetMidBlock2DImpl::UNetMidBlock2DImpl(int64_t channels, int64_t groups, bool add_attention,
                                       const nn::ParamOptions& p) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  resnets->push_back(resnet(channels, channels, groups, p));
  resnets->push_back(resnet(channels, channels, groups, p));
  if (add_attention) {
    attentions = register_module("attentions", torch::nn::ModuleList());
    attentions->push_back(VAEAttention(channels, groups, kEps, p));
  }
}

torch::Tensor UNetMidBlock2DImpl::forward(torch::Tensor x) {
  auto h = resnets[0]->as<nn::ResnetBlock2DImpl>()->forward(std::move(x));
  if (attentions) h = attentions[0]->as<VAEAttentionImpl>()->forward(h);
  return resnets[1]->as<nn::ResnetBlock2DImpl>()->forward(std::move(h));
}

DownEncoderBlock2DImpl::DownEncoderBlock2DImpl(int64_t in_channels, int64_t out_channels,
                                               int64_t num_layers, int64_t groups,
                                               bool add_downsample, const nn::ParamOptions& p) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t j = 0; j < num_layers; ++j) {
    resnets->push_back(resnet(j == 0 ? in_channels : out_channels, out_channels, groups, p));
  }
  if (add_downsample) {
    downsamplers = register_module("downsamplers", torch::nn::ModuleList());
    // padding 0: diffusers pads right/bottom by one before the stride-2 conv in the VAE.
    downsamplers->push_back(nn::Downsample2D(out_channels, out_channels, 0, p));
  }
}

torch::Tensor DownEncoderBlock2DImpl::forward(torch::Tensor x) {
  auto h = run_resnets(resnets, std::move(x));
  if (downsamplers) h = downsamplers[0]->as<nn::Downsample2DImpl>()->forward(h);
  return h;
}

UpDecoderBlock2DImpl::UpDecoderBlock2DImpl(int64_t in_channels, int64_t out_channels,
                                           int64_t num_layers, int64_t groups, bool add_upsample,
                                           const nn::ParamOptions& p) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  for (int64_t j = 0; j < num_layers; ++j) {
    resnets->push_back(resnet(j == 0 ? in_channels : out_channels, out_channels, groups, p));
  }
  if (add_upsample) {
    upsamplers = register_module("upsamplers", torch::nn::ModuleList());
    upsamplers->push_back(nn::Upsample2D(out_channels, out_channels, p));
  }
}

torch::Tensor UpDecoderBlock2DImpl::forward(torch::Tensor x) {
  auto h = run_resnets(resnets, std::move(x));
  if (upsamplers) h = upsamplers[0]->as<nn::Upsample2DImpl>()->forward(std::move(h));
  return h;
}

EncoderImpl::EncoderImpl(const VAEConfig& c, const nn::ParamOptions& p) {
  const auto& ch = c.block_out_channels;
  const int64_t groups = c.norm_num_groups;
  conv_in = register_module("conv_in", conv3x3(c.in_channels, ch.front(), p));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < ch.size(); ++i) {
    const int64_t in = i == 0 ? ch.front() : ch[i - 1];
    const bool last = i + 1 == ch.size();
    down_blocks->push_back(DownEncoderBlock2D(in, ch[i], c.layers_per_block, groups, !last, p));
  }
  mid_block = register_module("mid_block",
                              UNetMidBlock2D(ch.back(), groups, c.mid_block_add_attention, p));
  conv_norm_out = register_module("conv_norm_out", group_norm(groups, ch.back(), p));
  // Mean and log-variance for every latent channel (diffusers' double_z).
  conv_out = register_module("conv_out", conv3x3(ch.back(), 2 * c.latent_channels, p));
}

torch::Tensor EncoderImpl::forward(const torch::Tensor& x) {
  auto h = conv_in->forward(x);  // [B, ch0, H, W]
  for (const auto& block : *down_blocks) {
    h = block->as<DownEncoderBlock2DImpl>()->forward(std::move(h));
  }
  h = mid_block->forward(std::move(h));  // [B, ch_last, H/f, W/f]
  return conv_out->forward(nn::norm_silu(conv_norm_out, std::move(h)));
}

DecoderImpl::DecoderImpl(const VAEConfig& c, const nn::ParamOptions& p) {
  const std::vector<int64_t> ch(c.block_out_channels.rbegin(), c.block_out_channels.rend());
  const int64_t groups = c.norm_num_groups;
  conv_in = register_module("conv_in", conv3x3(c.latent_channels, ch.front(), p));
  mid_block = register_module("mid_block",
                              UNetMidBlock2D(ch.front(), groups, c.mid_block_add_attention, p));
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < ch.size(); ++i) {
    const int64_t in = i == 0 ? ch.front() : ch[i - 1];
    const bool last = i + 1 == ch.size();
    up_blocks->push_back(UpDecoderBlock2D(in, ch[i], c.layers_per_block + 1, groups, !last, p));
  }
  conv_norm_out = register_module("conv_norm_out", group_norm(groups, ch.back(), p));
  conv_out = register_module("conv_out", conv3x3(ch.back(), c.out_channels, p));
}

torch::Tensor DecoderImpl::forward(const torch::Tensor& z) {
  auto h = mid_block->forward(conv_in->forward(z));  // [B, ch_last, h, w]
  for (const auto& block : *up_blocks) h = block->as<UpDecoderBlock2DImpl>()->forward(std::move(h));
  return conv_out->forward(nn::norm_silu(conv_norm_out, std::move(h)));  // [B, out, h * f, w * f]
}

}  // namespace pangu_draw::vae
