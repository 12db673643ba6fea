// fused_denoiser.h: the experts of one stage as ONE Denoiser for the sampler. Experts in the
// stage's host space contribute their prediction directly; the others are bridged through
// pixels (latent_bridge.h) and keep a mirrored state of their own, updated from the fused
// prediction at every step (PanGu-Draw Alg. 1: z'_{t-1} follows ε_fuse mapped into B's space).
#pragma once

#include <optional>
#include <vector>

#include "coop/expert.h"

namespace pangu_draw::coop {

class FusedDenoiser {
 public:
  // `host`: the expert whose latent space and size the sampler runs in. `run_schedule`: the
  // sampler's schedule (its prediction type is what this denoiser returns).
  FusedDenoiser(std::vector<Expert> experts, Expert host,
                schedulers::NoiseScheduleConfig run_schedule, int64_t seed);
  torch::Tensor operator()(const torch::Tensor& z, const schedulers::StepInfo& step);

 private:
  struct Mirror {          // a bridged expert's state as (x̂0', ε') at the last step
    torch::Tensor x0, eps;
  };
  torch::Tensor bridged_input(size_t i, const torch::Tensor& z, double alpha_bar);
  torch::Tensor bridged_eps(size_t i, const torch::Tensor& z, const schedulers::StepInfo& step,
                            torch::Tensor& z_i);

  std::vector<Expert> experts_;
  Expert host_;
  schedulers::NoiseSchedule run_schedule_;
  std::vector<std::optional<Mirror>> mirrors_;
  torch::Tensor last_x0_;  // host-space x̂0 of the last fused prediction
  int64_t seed_;
  int64_t draws_ = 0;
};

// The stage's denoiser: the lone expert's own when it is alone and native to the host (so a
// one-expert run is bit-identical to the plain pipeline), else a FusedDenoiser.
schedulers::Denoiser make_fused_denoiser(std::vector<Expert> experts, const Expert& host,
                                         const schedulers::NoiseScheduleConfig& run_schedule,
                                         int64_t seed);

}  // namespace pangu_draw::coop
