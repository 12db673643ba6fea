// stepped_sampler.h: what every sampler shares: the step loop of sample() (range checks,
// progress, cancellation) and the seeded noise stream of stochastic steps.
#pragma once

#include <ATen/core/Generator.h>

#include <optional>

#include "schedulers/sampler.h"

namespace pangu_draw::schedulers {

class SteppedSampler : public Sampler {
 public:
  SteppedSampler(const NoiseScheduleConfig& config, const SamplerOptions& options);
  int num_steps() const override { return options_.steps; }
  torch::Tensor sample(torch::Tensor x, const Denoiser& denoiser, int first = 0,
                       int last = -1) override;

 protected:
  // One step i on state x: the state before step i + 1.
  virtual torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) = 0;
  // Standard normal noise shaped like x from the sampler's stream (see SamplerOptions::seed).
  torch::Tensor noise_like(const torch::Tensor& x);
  // DDIM / LCM x0 (and eps) from the raw model output on the VP latent x at alpha_bar, with
  // diffusers' float32 scalars sqrt(ab), sqrt(1 - ab); clip_sample applied to x0.
  torch::Tensor vp_x0(const torch::Tensor& out, const torch::Tensor& x, float alpha_bar) const;
  torch::Tensor vp_eps(const torch::Tensor& out, const torch::Tensor& x, float alpha_bar) const;

  NoiseSchedule schedule_;
  SamplerOptions options_;

 private:
  std::optional<at::Generator> generator_;
};

}  // namespace pangu_draw::schedulers
