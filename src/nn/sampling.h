// sampling.h: Downsample2D (strided 3x3 conv) and Upsample2D (nearest x2 + 3x3 conv);
// mirrors diffusers 0.25 models/downsampling.py Downsample2D and upsampling.py Upsample2D.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "nn/layers.h"

namespace pangu_draw::nn {

struct Downsample2DImpl : torch::nn::Module {
  // padding 0 reproduces diffusers' asymmetric zero pad (right and bottom by 1) of the VAE.
  Downsample2DImpl(int64_t channels, int64_t out_channels, int64_t padding,
                   const ParamOptions& p);
  // x [B, C, H, W] -> [B, out, ceil(H/2), ceil(W/2)] (padding 1) or [B, out, H/2, W/2] (padding 0)
  torch::Tensor forward(const torch::Tensor& x);

  nn::Conv2d conv{nullptr};

 private:
  int64_t padding_;
};
TORCH_MODULE(Downsample2D);

struct Upsample2DImpl : torch::nn::Module {
  Upsample2DImpl(int64_t channels, int64_t out_channels, const ParamOptions& p);
  // x [B, C, H, W] -> [B, out, 2H, 2W], or [B, out, size[0], size[1]] when `size` is given
  // (diffusers' upsample_size, used when the skip connection has an odd size).
  // `x` by value: a caller that std::moves it in frees it before the conv runs.
  torch::Tensor forward(torch::Tensor x, const std::vector<int64_t>& size = {});

  nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Upsample2D);

}  // namespace pangu_draw::nn
