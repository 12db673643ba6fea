// sampling.cpp: Downsample2D and Upsample2D.
#include "nn/sampling.h"

#include "core/error.h"

namespace pangu_draw::nn {

namespace F = torch::nn::functional;

Downsample2DImpl::Downsample2DImpl(int64_t channels, int64_t out_channels, int64_t padding,
                                   const ParamOptions& p)
    : padding_(padding) {
  PD_CHECK(padding >= 0, Input, "Downsample2D: padding must be >= 0, got " << padding);
  conv = register_module("conv", nn::Conv2d(channels, out_channels, 3, 2, padding, p));
}

torch::Tensor Downsample2DImpl::forward(const torch::Tensor& x) {
  if (padding_ == 0) {
    // [B, C, H + 1, W + 1]: one zero column on the right and one zero row at the bottom.
    return conv->forward(F::pad(x, F::PadFuncOptions({0, 1, 0, 1}).mode(torch::kConstant)));
  }
  return conv->forward(x);
}

Upsample2DImpl::Upsample2DImpl(int64_t channels, int64_t out_channels, const ParamOptions& p) {
  conv = register_module("conv", nn::Conv2d(channels, out_channels, 3, 1, 1, p));
}

torch::Tensor Upsample2DImpl::forward(torch::Tensor x, const std::vector<int64_t>& size) {
  auto options = F::InterpolateFuncOptions().mode(torch::kNearest);
  if (size.empty()) {
    options.scale_factor(std::vector<double>{2.0, 2.0});
  } else {
    PD_CHECK(size.size() == 2, Runtime, "Upsample2D: size must be {H, W}");
    options.size(size);
  }
  auto up = F::interpolate(x, options);  // [B, C, H', W']
  x.reset();
  return conv->forward(up);  // [B, out, H', W']
}

}  // namespace pangu_draw::nn
