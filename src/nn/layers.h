// layers.h: the engine's parameter-holding layers (Linear, Conv2d, LayerNorm, Embedding) under
// torch's parameter names (weight, bias), and ParamOptions, the dtype and device every module
// constructor passes down to them.
//
// Unlike torch::nn's layers they allocate their parameters with torch::empty, directly in the
// ParamOptions' dtype and on its device, and do not initialise them: a loader fills them in
// place (io::load_into), a trainer calls nn::init_parameters (nn/init.h). A bf16 load thus never
// builds a float32 model first, and nothing changes torch's process-wide default dtype.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace pangu_draw::nn {

struct ParamOptions {
  torch::ScalarType dtype = torch::kFloat;
  torch::Device device = torch::kCPU;
  bool channels_last = false;  // Conv2d weights stored channels-last (the VAE's, see load_vae)

  torch::TensorOptions tensor() const {
    return torch::TensorOptions().dtype(dtype).device(device);
  }
};

// y = x W^T + b: x [..., in] -> [..., out]; weight [out, in], bias [out] (absent without bias).
struct LinearImpl : torch::nn::Module {
  LinearImpl(int64_t in_features, int64_t out_features, bool bias, const ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;
};
TORCH_MODULE(Linear);

// 2-D convolution, square kernel, equal stride and zero padding on both axes:
// x [B, in, H, W] -> [B, out, H', W']; weight [out, in, k, k], bias [out].
struct Conv2dImpl : torch::nn::Module {
  Conv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
             int64_t padding, const ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;

 private:
  int64_t stride_, padding_;
};
TORCH_MODULE(Conv2d);

// Layer norm over the last dimension (size dim), with weight and bias [dim].
struct LayerNormImpl : torch::nn::Module {
  LayerNormImpl(int64_t dim, double eps, const ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& x);

  torch::Tensor weight, bias;

 private:
  int64_t dim_;
  double eps_;
};
TORCH_MODULE(LayerNorm);

// ids [...] (integer) -> weight rows [..., dim]; weight [num, dim].
struct EmbeddingImpl : torch::nn::Module {
  EmbeddingImpl(int64_t num, int64_t dim, const ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& ids);

  torch::Tensor weight;
};
TORCH_MODULE(Embedding);

}  // namespace pangu_draw::nn
