// resnet.cpp: ResnetBlock2D.
#include "nn/resnet.h"

#include "core/error.h"

namespace pangu_draw::nn {

namespace F = torch::nn::functional;

ResnetBlock2DImpl::ResnetBlock2DImpl(const ResnetBlock2DOptions& options) : options_(options) {
  if (options_.out_channels == 0) options_.out_channels = options_.in_channels;
  const int64_t in = options_.in_channels, out = options_.out_channels;
  PD_CHECK(in > 0 && options_.groups > 0 && in % options_.groups == 0 && out % options_.groups == 0,
           Input,
           "ResnetBlock2D: channels " << in << " -> " << out << " must be positive multiples of "
                                      << "norm_num_groups " << options_.groups);
  auto conv = [](int64_t cin, int64_t cout, int64_t k) {
    return torch::nn::Conv2d(torch::nn::Conv2dOptions(cin, cout, k).padding(k / 2));
  };
  norm1 = register_module(
      "norm1",
      nn::GroupNorm(torch::nn::GroupNormOptions(options_.groups, in).eps(options_.eps)));
  conv1 = register_module("conv1", conv(in, out, 3));
  if (options_.temb_channels > 0) {
    time_emb_proj =
        register_module("time_emb_proj", torch::nn::Linear(options_.temb_channels, out));
  }
  norm2 = register_module(
      "norm2",
      nn::GroupNorm(torch::nn::GroupNormOptions(options_.groups, out).eps(options_.eps)));
  conv2 = register_module("conv2", conv(out, out, 3));
  if (in != out) conv_shortcut = register_module("conv_shortcut", conv(in, out, 1));
}

torch::Tensor ResnetBlock2DImpl::forward(const torch::Tensor& x, const torch::Tensor& temb) {
  auto h = conv1->forward(F::silu(norm1->forward(x)));  // [B, out, H, W]
  if (time_emb_proj) {
    PD_CHECK(temb.defined(), Runtime, "ResnetBlock2D: this block needs a time embedding");
    h = h + time_emb_proj->forward(F::silu(temb)).unsqueeze(-1).unsqueeze(-1);
  }
  h = conv2->forward(F::silu(norm2->forward(h)));
  auto shortcut = conv_shortcut ? conv_shortcut->forward(x) : x;
  auto out = shortcut + h;
  if (options_.output_scale_factor != 1.0) out = out / options_.output_scale_factor;
  return out;
}

}  // namespace pangu_draw::nn
