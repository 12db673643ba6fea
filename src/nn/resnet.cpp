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
  const ParamOptions& p = options_.params;
  auto conv = [&](int64_t cin, int64_t cout, int64_t k) {
    return nn::Conv2d(cin, cout, k, 1, k / 2, p);
  };
  norm1 = register_module("norm1", nn::GroupNorm(options_.groups, in, options_.eps, p));
  conv1 = register_module("conv1", conv(in, out, 3));
  if (options_.temb_channels > 0) {
    time_emb_proj =
        register_module("time_emb_proj", nn::Linear(options_.temb_channels, out, true, p));
  }
  norm2 = register_module("norm2", nn::GroupNorm(options_.groups, out, options_.eps, p));
  conv2 = register_module("conv2", conv(out, out, 3));
  if (in != out) conv_shortcut = register_module("conv_shortcut", conv(in, out, 1));
}

torch::Tensor ResnetBlock2DImpl::forward(torch::Tensor x, const torch::Tensor& temb) {
  // Without autograd (inference) intermediates are overwritten in place and the input is let go
  // as soon as it is no longer needed: a caller that moves `x` in frees it mid-block (the VAE
  // decoder's full-resolution levels are what sets a 512^2 image's peak memory).
  const bool in_place = !torch::GradMode::is_enabled();
  torch::Tensor shortcut;
  if (conv_shortcut && options_.out_channels < options_.in_channels) {
    shortcut = conv_shortcut->forward(x);  // narrower than x: keep it instead of x
  }
  // With the narrower shortcut taken, x is not needed again: handed over, the norm may overwrite it.
  auto h = shortcut.defined() ? norm_silu(norm1, std::move(x)) : norm_silu(norm1, x);
  h = conv1->forward(h);  // [B, out, H, W]
  if (time_emb_proj) {
    PD_CHECK(temb.defined(), Runtime, "ResnetBlock2D: this block needs a time embedding");
    auto t = time_emb_proj->forward(F::silu(temb)).unsqueeze(-1).unsqueeze(-1);
    h = in_place ? h.add_(t) : h + t;
  }
  h = conv2->forward(norm_silu(norm2, std::move(h)));
  if (!shortcut.defined()) shortcut = conv_shortcut ? conv_shortcut->forward(x) : x;
  x.reset();
  h = in_place ? h.add_(shortcut) : shortcut + h;
  if (options_.output_scale_factor != 1.0) {
    h = in_place ? h.div_(options_.output_scale_factor) : h / options_.output_scale_factor;
  }
  return h;
}

}  // namespace pangu_draw::nn
