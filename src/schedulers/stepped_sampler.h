// stepped_sampler.h: what every sampler shares: the step loop of sample() (range checks,
// progress, cancellation) and the seeded noise stream of stochastic steps.
#pragma once

#include <ATen/core/Generator.h>

#include <optional>

#include "schedulers/sampler.h"
#include "schedulers/timestep_spacing.h"

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
  // Where the options put the sigmas: Karras (schedule "karras", karras, or the config's
  // use_karras_sigmas under "default"), exponential, or at the spaced timesteps (default and
  // sgm_uniform, whose "trailing" spacing make_sampler writes into the config).
  SigmaShape sigma_shape() const;
  // DDIM / LCM x0 (and eps) from the raw model output on the VP latent x at alpha_bar, with
  // diffusers' float32 scalars sqrt(ab), sqrt(1 - ab); clip_sample applied to x0.
  torch::Tensor vp_x0(const torch::Tensor& out, const torch::Tensor& x, float alpha_bar) const;
  torch::Tensor vp_eps(const torch::Tensor& out, const torch::Tensor& x, float alpha_bar) const;

  NoiseSchedule schedule_;
  SamplerOptions options_;

 private:
  std::optional<at::Generator> generator_;
};

// The samplers whose state is the VP latent itself (ddim, ddpm, dpmpp_2m(_sde), unipc, lcm): unit
// initial noise, identity VP conversions, and alpha_bar lookups that end at the schedule's final
// alpha_bar.
class VpSampler : public SteppedSampler {
 public:
  VpSampler(const NoiseScheduleConfig& config, const SamplerOptions& options);
  const std::vector<double>& timesteps() const override { return timesteps_; }
  double init_noise_sigma() const override { return 1.0; }
  torch::Tensor to_vp(const torch::Tensor& state, int) const override { return state; }
  torch::Tensor from_vp(const torch::Tensor& x_vp, int) const override { return x_vp; }

 protected:
  int64_t timestep_at(int i) const { return static_cast<int64_t>(timesteps_[static_cast<size_t>(i)]); }
  // Step i's StepInfo at train timestep t (t < 0: the clean end, reported as 0) with alpha_bar ab.
  StepInfo vp_step_info(int i, int64_t t, float ab) const;
  // alphas_cumprod[t]; for t < 0 the alpha_bar after the last step (1 with set_alpha_to_one,
  // else alphas_cumprod[0], as diffusers' final_alpha_cumprod).
  float alpha_bar_at(int64_t t) const {
    return t >= 0 ? schedule_.alphas_cumprod()[static_cast<size_t>(t)] : final_alpha_bar_;
  }

  std::vector<double> timesteps_;  // filled by the derived sampler's constructor

 private:
  float final_alpha_bar_ = 1.0f;
};

}  // namespace pangu_draw::schedulers
