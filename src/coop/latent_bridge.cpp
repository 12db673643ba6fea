// latent_bridge.cpp: moving clean latents between latent spaces and sizes (decode, resize, encode)
// and the eps/x0/noising formulas of the bridge.
#include "coop/latent_bridge.h"

#include <cmath>

#include "core/error.h"
#include "core/tensor_check.h"

namespace pangu_draw::coop {

torch::Tensor x0_from_eps(const torch::Tensor& eps, const torch::Tensor& x_t, double ab) {
  return (x_t - std::sqrt(1.0 - ab) * eps) / std::sqrt(ab);
}

torch::Tensor eps_from_x0(const torch::Tensor& x0, const torch::Tensor& x_t, double ab) {
  return (x_t - std::sqrt(ab) * x0) / std::sqrt(1.0 - ab);
}

torch::Tensor noised(const torch::Tensor& x0, const torch::Tensor& eps, double ab) {
  return std::sqrt(ab) * x0 + std::sqrt(1.0 - ab) * eps;
}

bool same_latent_space(const pipeline::ModelBundle& a, const pipeline::ModelBundle& b) {
  return a.vae_fingerprint == b.vae_fingerprint;
}

namespace {

torch::Tensor resize_image(const torch::Tensor& img, int64_t h, int64_t w) {
  if (img.size(2) == h && img.size(3) == w) return img;
  namespace F = torch::nn::functional;
  const bool shrink = h < img.size(2) || w < img.size(3);
  return F::interpolate(img, F::InterpolateFuncOptions()
                                 .size(std::vector<int64_t>{h, w})
                                 .mode(torch::kBicubic)
                                 .align_corners(false)
                                 .antialias(shrink));
}

}  // namespace

torch::Tensor map_clean_latent(const torch::Tensor& x0, const pipeline::ModelBundle& from,
                               const pipeline::ModelBundle& to, const std::vector<int64_t>& to_shape) {
  torch::InferenceMode guard;
  vae::AutoencoderKL dec = from.vae, enc = to.vae;
  auto image = dec->decode(dec->from_latent(x0).to(dec->dtype())).to(torch::kFloat);
  const int64_t f = enc->downscale();
  image = resize_image(image, to_shape[2] * f, to_shape[3] * f).clamp(-1.0, 1.0);
  auto z = enc->to_latent(enc->encode(image.to(enc->dtype())).mean).to(torch::kFloat);
  core::expect_finite(z, "latent bridged from " + from.name + " to " + to.name);
  return z;
}

torch::Tensor naive_resize_latent(const torch::Tensor& z, const std::vector<int64_t>& to_shape) {
  namespace F = torch::nn::functional;
  return F::interpolate(z, F::InterpolateFuncOptions()
                               .size(std::vector<int64_t>{to_shape[2], to_shape[3]})
                               .mode(torch::kBilinear)
                               .align_corners(false));
}

}  // namespace pangu_draw::coop
