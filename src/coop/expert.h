// expert.h: one model taking part in a run — PanGu-Draw's time-decoupled structure/texture
// generators and Coop-Diffusion's cooperating models are both lists of these.
#pragma once

#include <limits>
#include <memory>
#include <vector>

#include "pipeline/model_bundle.h"
#include "schedulers/sampler.h"

namespace pangu_draw::coop {

constexpr double kUnbounded = std::numeric_limits<double>::infinity();

struct Expert {
  std::shared_ptr<const pipeline::ModelBundle> model;
  // Its guided prediction (own prompts encoding, guidance scale, ControlNets) for its own VP
  // latent at its own size; raw output in its own prediction type.
  schedulers::Denoiser denoiser;
  double weight = 1.0;                 // d_i in Σ d_i·ε_i / Σ d_i over the active experts
  double from_t = kUnbounded;          // active for timesteps to_t <= t < from_t
  double to_t = -kUnbounded;
  std::vector<int64_t> latent_shape;   // [1, C, h, w] it works at

  bool active(double t) const { return t >= to_t && t < from_t; }
};

// True when b works in a's latent space at a's latent size (no pixel round trip between them).
bool same_space(const Expert& a, const Expert& b);

}  // namespace pangu_draw::coop
