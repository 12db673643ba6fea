// resnet.h: ResnetBlock2D (GroupNorm-SiLU-conv twice, optional time embedding, 1x1 shortcut);
// mirrors diffusers 0.25 models/resnet.py ResnetBlock2D with time_embedding_norm "default".
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "nn/group_norm.h"
#include "nn/layers.h"

namespace pangu_draw::nn {

struct ResnetBlock2DOptions {
  int64_t in_channels = 0;
  int64_t out_channels = 0;   // 0: same as in_channels
  int64_t temb_channels = 0;  // 0: no time_emb_proj (the VAE)
  int64_t groups = 32;
  double eps = 1e-6;
  double output_scale_factor = 1.0;
  ParamOptions params;  // dtype and device of the weights
};

struct ResnetBlock2DImpl : torch::nn::Module {
  explicit ResnetBlock2DImpl(const ResnetBlock2DOptions& options);
  // x [B, in, H, W], temb [B, temb_channels] (ignored when temb_channels is 0) -> [B, out, H, W].
  // `x` by value: a caller that std::moves it in lets the block free it early in inference.
  torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb = {});

  nn::GroupNorm norm1{nullptr}, norm2{nullptr};
  nn::Conv2d conv1{nullptr}, conv2{nullptr};
  nn::Linear time_emb_proj{nullptr};  // only when temb_channels > 0
  nn::Conv2d conv_shortcut{nullptr};  // only when in_channels != out_channels

 private:
  ResnetBlock2DOptions options_;
};
TORCH_MODULE(ResnetBlock2D);

}  // namespace pangu_draw::nn
