// unet_blocks.cpp: down / mid / up blocks built from nn::ResnetBlock2D, Transformer2DModel and
// nn::Down/Upsample2D.
#include "unet/unet_blocks.h"

#include <algorithm>

#include "core/error.h"
#include "nn/resnet.h"
#include "nn/sampling.h"
#include "unet/transformer_2d.h"

namespace pangu_draw::unet {

namespace {

nn::ResnetBlock2D make_resnet(const BlockOptions& o, int64_t in, int64_t out) {
  return nn::ResnetBlock2D(nn::ResnetBlock2DOptions{in, out, o.temb_channels, o.groups, o.eps,
                                                    o.output_scale_factor, o.params});
}

// Transformer2DModel over `channels`: heads of channels / heads dims (diffusers passes
// out_channels // num_attention_heads as the head dim).
Transformer2DModel make_transformer(const BlockOptions& o, int64_t channels) {
  Transformer2DOptions t;
  t.in_channels = channels;
  t.heads = o.heads;
  t.dim_head = channels / o.heads;
  t.num_layers = o.transformer_layers;
  t.cross_attention_dim = o.cross_attention_dim;
  t.norm_num_groups = o.groups;
  t.use_linear_projection = o.use_linear_projection;
  t.params = o.params;
  return Transformer2DModel(t);
}

torch::Tensor run_resnet(torch::nn::ModuleList& list, size_t i, const torch::Tensor& x,
                         const torch::Tensor& temb) {
  return list[i]->as<nn::ResnetBlock2D>()->forward(x, temb);
}

torch::Tensor run_attention(torch::nn::ModuleList& list, size_t i, const torch::Tensor& x,
                            const torch::Tensor& context) {
  return list[i]->as<Transformer2DModel>()->forward(x, context);
}

BlockOptions common_options(const UNetConfig& c, const nn::ParamOptions& p) {
  BlockOptions o;
  o.params = p;
  o.temb_channels = c.time_embed_dim;
  o.cross_attention_dim = c.cross_attention_dim;
  o.groups = c.norm_num_groups;
  o.eps = c.norm_eps;
  o.use_linear_projection = c.use_linear_projection;
  return o;
}

}  // namespace

BlockOptions down_block_options(const UNetConfig& c, size_t i, const nn::ParamOptions& p) {
  const size_t n = c.block_out_channels.size();
  BlockOptions o = common_options(c, p);
  o.in_channels = c.block_out_channels[i == 0 ? 0 : i - 1];
  o.out_channels = c.block_out_channels[i];
  o.num_layers = c.layers_per_block[i];
  o.transformer_layers = c.transformer_layers_per_block[i];
  o.heads = c.num_attention_heads[i];
  o.has_attention = c.down_block_types[i] == "CrossAttnDownBlock2D";
  o.add_sampler = i + 1 < n;
  o.downsample_padding = c.downsample_padding;
  return o;
}

BlockOptions mid_block_options(const UNetConfig& c, const nn::ParamOptions& p) {
  BlockOptions o = common_options(c, p);
  o.in_channels = o.out_channels = c.block_out_channels.back();
  o.num_layers = 1;
  o.transformer_layers = c.transformer_layers_per_block.back();
  o.heads = c.num_attention_heads.back();
  o.output_scale_factor = c.mid_block_scale_factor;
  return o;
}

BlockOptions up_block_options(const UNetConfig& c, size_t i, const nn::ParamOptions& p) {
  const size_t n = c.block_out_channels.size();
  auto rev = [&](const std::vector<int64_t>& v, size_t k) { return v[n - 1 - k]; };
  BlockOptions o = common_options(c, p);
  o.prev_output_channels = rev(c.block_out_channels, i == 0 ? 0 : i - 1);
  o.out_channels = rev(c.block_out_channels, i);
  o.in_channels = rev(c.block_out_channels, std::min(i + 1, n - 1));
  o.num_layers = rev(c.layers_per_block, i) + 1;
  o.transformer_layers = c.reverse_transformer_layers_per_block[i];
  o.heads = rev(c.num_attention_heads, i);
  o.has_attention = c.up_block_types.at(i) == "CrossAttnUpBlock2D";
  o.add_sampler = i + 1 < n;
  return o;
}

DownBlockImpl::DownBlockImpl(const BlockOptions& o) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  if (o.has_attention) attentions = register_module("attentions", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_layers; ++i) {
    resnets->push_back(make_resnet(o, i == 0 ? o.in_channels : o.out_channels, o.out_channels));
    if (o.has_attention) attentions->push_back(make_transformer(o, o.out_channels));
  }
  if (o.add_sampler) {
    nn::Downsample2D down(o.out_channels, o.out_channels, o.downsample_padding, o.params);
    downsamplers = register_module("downsamplers", torch::nn::ModuleList(down));
  }
}

int64_t DownBlockImpl::num_skips() const {
  return static_cast<int64_t>(resnets->size()) + (downsamplers ? 1 : 0);
}

torch::Tensor DownBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& temb,
                                     const torch::Tensor& context,
                                     std::vector<torch::Tensor>& skips) {
  auto h = x;
  for (size_t i = 0; i < resnets->size(); ++i) {
    h = run_resnet(resnets, i, h, temb);
    if (attentions) h = run_attention(attentions, i, h, context);
    skips.push_back(h);
  }
  if (downsamplers) {
    h = downsamplers[0]->as<nn::Downsample2D>()->forward(h);
    skips.push_back(h);
  }
  return h;
}

UNetMidBlock2DCrossAttnImpl::UNetMidBlock2DCrossAttnImpl(const BlockOptions& o) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  attentions = register_module("attentions", torch::nn::ModuleList());
  resnets->push_back(make_resnet(o, o.in_channels, o.in_channels));
  for (int64_t i = 0; i < o.num_layers; ++i) {
    attentions->push_back(make_transformer(o, o.in_channels));
    resnets->push_back(make_resnet(o, o.in_channels, o.in_channels));
  }
}

torch::Tensor UNetMidBlock2DCrossAttnImpl::forward(const torch::Tensor& x,
                                                   const torch::Tensor& temb,
                                                   const torch::Tensor& context) {
  auto h = run_resnet(resnets, 0, x, temb);
  for (size_t i = 0; i < attentions->size(); ++i) {
    h = run_attention(attentions, i, h, context);
    h = run_resnet(resnets, i + 1, h, temb);
  }
  return h;
}

UpBlockImpl::UpBlockImpl(const BlockOptions& o) {
  resnets = register_module("resnets", torch::nn::ModuleList());
  if (o.has_attention) attentions = register_module("attentions", torch::nn::ModuleList());
  for (int64_t i = 0; i < o.num_layers; ++i) {
    // The last resnet takes the skip from the block's input level (in_channels).
    const int64_t skip = (i == o.num_layers - 1) ? o.in_channels : o.out_channels;
    const int64_t in = (i == 0) ? o.prev_output_channels : o.out_channels;
    resnets->push_back(make_resnet(o, in + skip, o.out_channels));
    if (o.has_attention) attentions->push_back(make_transformer(o, o.out_channels));
  }
  if (o.add_sampler) {
    nn::Upsample2D up(o.out_channels, o.out_channels, o.params);
    upsamplers = register_module("upsamplers", torch::nn::ModuleList(up));
  }
}

torch::Tensor UpBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& temb,
                                   const torch::Tensor& context, std::vector<torch::Tensor>& skips,
                                   const std::vector<int64_t>& upsample_size) {
  auto h = x;
  for (size_t i = 0; i < resnets->size(); ++i) {
    PD_CHECK(!skips.empty(), Runtime, "UpBlock: ran out of skip connections");
    h = torch::cat({h, skips.back()}, 1);  // [B, C + C_skip, H, W]
    skips.pop_back();
    h = run_resnet(resnets, i, h, temb);
    if (attentions) h = run_attention(attentions, i, h, context);
  }
  if (upsamplers) h = upsamplers[0]->as<nn::Upsample2D>()->forward(h, upsample_size);
  return h;
}

}  // namespace pangu_draw::unet
