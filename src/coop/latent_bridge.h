// latent_bridge.h: Coop-Diffusion's bridges between models (PanGu-Draw paper §3.4, Alg. 1).
// Latent-space bridging: a prediction made in model B's latent space becomes one in model A's
// space through pixels: x̂0' = (z' − √(1−ᾱ)·ε')/√ᾱ → D'(x̂0') → (resize) → E(·) = x̂0 →
// ε̃ = (z − √ᾱ·x̂0)/√(1−ᾱ). Resolution bridging: never resize a noisy latent; decode x̂0,
// resize the image, encode, and re-noise with fresh noise: z = √ᾱ·x̂0 + √(1−ᾱ)·ε.
#pragma once

#include <torch/torch.h>

#include <string>

#include "pipeline/model_bundle.h"

namespace pangu_draw::coop {

// The VP latent x_t = √ᾱ·x0 + √(1−ᾱ)·ε and its inversions (model outputs of other prediction
// types convert through schedulers::NoiseSchedule::to_eps / model_output).
torch::Tensor x0_from_eps(const torch::Tensor& eps, const torch::Tensor& x_t, double alpha_bar);
torch::Tensor eps_from_x0(const torch::Tensor& x0, const torch::Tensor& x_t, double alpha_bar);
torch::Tensor noised(const torch::Tensor& x0, const torch::Tensor& eps, double alpha_bar);

// True when two models share a latent space: the same VAE weights (by fingerprint).
bool same_latent_space(const pipeline::ModelBundle& a, const pipeline::ModelBundle& b);

// A clean latent of `from` (diffusion space) as a clean latent of `to`, at `to`'s latent size
// [1, C, h, w]: decode with from's VAE, resize the image (bicubic, antialiased when shrinking),
// encode with to's VAE (posterior mean).
torch::Tensor map_clean_latent(const torch::Tensor& x0, const pipeline::ModelBundle& from,
                               const pipeline::ModelBundle& to, const std::vector<int64_t>& to_shape);

// For comparison only: resize a noisy latent directly (bilinear), which correlates the noise.
torch::Tensor naive_resize_latent(const torch::Tensor& z, const std::vector<int64_t>& to_shape);

}  // namespace pangu_draw::coop
