// layers.cpp: Linear, Conv2d, LayerNorm and Embedding with uninitialised parameters allocated in
// the requested dtype and device; the forwards call the same ATen operators as torch::nn's.
#include "nn/layers.h"

#include "core/error.h"

namespace pangu_draw::nn {

namespace {

void check_positive(const char* what, std::initializer_list<int64_t> sizes) {
  for (int64_t s : sizes) {
    PD_CHECK(s > 0, Input, what << ": sizes must be positive, got " << s);
  }
}

}  // namespace

LinearImpl::LinearImpl(int64_t in_features, int64_t out_features, bool with_bias,
                       const ParamOptions& p) {
  check_positive("Linear", {in_features, out_features});
  weight = register_parameter("weight", torch::empty({out_features, in_features}, p.tensor()));
  if (with_bias) bias = register_parameter("bias", torch::empty({out_features}, p.tensor()));
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) { return torch::linear(x, weight, bias); }

Conv2dImpl::Conv2dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel, int64_t stride,
                       int64_t padding, const ParamOptions& p)
    : stride_(stride), padding_(padding) {
  check_positive("Conv2d", {in_channels, out_channels, kernel, stride});
  PD_CHECK(padding >= 0, Input, "Conv2d: padding must be >= 0, got " << padding);
  const auto layout =
      p.channels_last ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
  weight = register_parameter(
      "weight",
      torch::empty({out_channels, in_channels, kernel, kernel}, p.tensor().memory_format(layout)));
  bias = register_parameter("bias", torch::empty({out_channels}, p.tensor()));
}

torch::Tensor Conv2dImpl::forward(const torch::Tensor& x) {
  return torch::conv2d(x, weight, bias, {stride_, stride_}, {padding_, padding_});
}

LayerNormImpl::LayerNormImpl(int64_t dim, double eps, const ParamOptions& p)
    : dim_(dim), eps_(eps) {
  check_positive("LayerNorm", {dim});
  weight = register_parameter("weight", torch::empty({dim}, p.tensor()));
  bias = register_parameter("bias", torch::empty({dim}, p.tensor()));
}

torch::Tensor LayerNormImpl::forward(const torch::Tensor& x) {
  return torch::layer_norm(x, {dim_}, weight, bias, eps_);
}

EmbeddingImpl::EmbeddingImpl(int64_t num, int64_t dim, const ParamOptions& p) {
  check_positive("Embedding", {num, dim});
  weight = register_parameter("weight", torch::empty({num, dim}, p.tensor()));
}

torch::Tensor EmbeddingImpl::forward(const torch::Tensor& ids) {
  return torch::embedding(weight, ids);
}

}  // namespace pangu_draw::nn
