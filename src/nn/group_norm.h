// group_norm.h: GroupNorm with the checkpoint's parameter names (weight, bias) that stays accurate
// on reduced-precision channels-last tensors.
//
// LibTorch 1.13's channels-last GroupNorm kernel accumulates bf16/fp16 inputs in their own
// precision: on a [1, 128, 256, 256] bf16 tensor its output is off by up to ~35 (the NCHW kernel:
// ~0.1). For such inputs the statistics are computed here in fp32/fp64 over cache-sized row
// chunks (no full fp32 copy) and the affine map is applied in the input's dtype; every other
// input goes to torch::group_norm unchanged.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "nn/layers.h"

namespace pangu_draw::nn {

// `groups` groups over `channels` channels, weight and bias [channels] (uninitialised until loaded;
// see nn/layers.h).
struct GroupNormImpl : torch::nn::Module {
  GroupNormImpl(int64_t groups, int64_t channels, double eps, const ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& x);
  // forward(x) written over x, bit for bit, where x takes the accurate path below (bf16/fp16
  // channels-last); false (x untouched) for any other x. Inference only.
  bool forward_in_place(torch::Tensor& x);

  torch::Tensor weight, bias;

 private:
  int64_t groups_;
  double eps_;
};
TORCH_MODULE(GroupNorm);

// The same computation as a function (x [B, C, H, W]; weight, bias [C] or undefined).
torch::Tensor group_norm_accurate(const torch::Tensor& x, int64_t groups,
                                  const torch::Tensor& weight, const torch::Tensor& bias,
                                  double eps);

// norm(x) followed by SiLU, the pre-activation of every ResnetBlock and of conv_out. Without
// autograd (inference) the SiLU overwrites the norm's output instead of keeping both, and a
// caller that std::moves `x` in frees it before the SiLU runs; when that `x` is the only handle
// to its memory and takes the accurate path (the bf16 VAE), the norm overwrites it instead.
torch::Tensor norm_silu(GroupNorm& norm, torch::Tensor x);

}  // namespace pangu_draw::nn
