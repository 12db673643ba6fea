// sigma_sampler.h: the state and schedule shared by the sigma-parameterised samplers (euler,
// euler_a, heun, lms, dpm2, dpm2_a, dpmpp_sde): x = x0 + sigma * eps; mirrors diffusers 0.25
// EulerDiscreteScheduler's set_timesteps / init_noise_sigma / scale_model_input and its x0 from
// the model output (the other k-samplers of diffusers share that code).
#pragma once

#include "schedulers/stepped_sampler.h"

namespace pangu_draw::schedulers {

class SigmaSampler : public SteppedSampler {
 public:
  // round_shaped_timesteps: Karras / exponential sigmas give the model rounded timesteps
  // (diffusers' KDPM2 schedulers) instead of fractional ones (Euler, Heun, LMS, DPMSolverSDE).
  SigmaSampler(const NoiseScheduleConfig& config, const SamplerOptions& options,
               bool round_shaped_timesteps = false);
  const std::vector<double>& timesteps() const override { return timesteps_; }
  double init_noise_sigma() const override;
  StepInfo step_info(int i) const override;
  torch::Tensor to_vp(const torch::Tensor& state, int i) const override;
  torch::Tensor from_vp(const torch::Tensor& x_vp, int i) const override;

 protected:
  // sigma before step i (i = num_steps: 0), float32 as diffusers' self.sigmas.
  float sigma_at(int i) const { return sigmas_[static_cast<size_t>(i)]; }
  double step_timestep(int i) const { return step_timesteps_[static_cast<size_t>(i)]; }
  // Calls the denoiser on x at noise level sigma (scale_model_input) and returns x0.
  torch::Tensor denoise(const torch::Tensor& x, float sigma, double timestep, int index,
                        const Denoiser& denoiser) const;
  // diffusers' pred_original_sample from the raw model output at sigma.
  torch::Tensor predict_x0(const torch::Tensor& model_output, const torch::Tensor& x,
                           float sigma) const;

  std::vector<double> timesteps_;       // as the denoiser sees them (Heun overrides)
  std::vector<double> step_timesteps_;  // one per step
  std::vector<float> sigmas_;           // num_steps + 1, ending in 0
  std::vector<double> sigmas64_;        // num_steps, before the float32 cast (numpy's float64)
};

}  // namespace pangu_draw::schedulers
