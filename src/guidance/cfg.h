// cfg.h: guidance as pure tensor math on model predictions (no model calls here).
// Classifier-free guidance and PanGu-Draw's style-guided CFG (paper §3.3):
//   eps = eps(∅) + s·(eps(c) − eps(∅)) + Σ_i s_i·(eps(c_style_i) − eps(c)),
// and Imagen's dynamic thresholding of x0 predictions.
#pragma once

#include <torch/torch.h>

#include <vector>

namespace pangu_draw::guidance {

struct GuidanceScales {
  double cfg = 7.5;                 // s
  std::vector<double> styles;       // s_i, one per style branch
};

// Which prediction branches a step needs, in batch order: the unconditional one only when it
// contributes (cfg != 1, as diffusers skips it at guidance 1), then the prompt, then one per
// style. Every branch is one slice of a single batched UNet call.
struct BranchPlan {
  bool uncond = true;
  int styles = 0;
  int size() const { return (uncond ? 1 : 0) + 1 + styles; }
};
BranchPlan plan_branches(const GuidanceScales& scales);

// Combines the batched prediction [n * B, ...] (branches in BranchPlan order, each B rows).
torch::Tensor combine(const torch::Tensor& batched, const BranchPlan& plan,
                      const GuidanceScales& scales);

// Imagen's dynamic thresholding, measured in units of the data range R (diffusers' thresholding
// is R = 1: pixel data in [-1, 1]): u = x0 / R; per sample s = quantile(|u|, percentile) clamped
// to [1, max_value]; x0 -> R * clamp(u, -s, s) / s. So values within [-R, R] are never touched.
torch::Tensor dynamic_threshold(const torch::Tensor& x0, double percentile = 0.995,
                                double max_value = 1.0, double data_range = 1.0);

// The data range R of VAE latents, which the VAE's scaling factor brings to unit variance: +-4
// holds nearly all their values (a normal variable exceeds it with probability 6e-5), as +-1
// holds pixels. Latent models use it unless the request sets its own
// (Request::dynamic_threshold_range).
constexpr double kLatentDataRange = 4.0;

}  // namespace pangu_draw::guidance
