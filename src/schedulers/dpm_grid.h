// dpm_grid.h: the timestep / sigma grid and the data prediction shared by the multistep VP
// solvers (dpmpp_2m, dpmpp_2m_sde, unipc): diffusers 0.25 DPMSolverMultistepScheduler's and
// UniPCMultistepScheduler's set_timesteps and convert_model_output (predict x0).
#pragma once

#include "schedulers/stepped_sampler.h"

namespace pangu_draw::schedulers {

// diffusers' _sigma_to_alpha_sigma_t and lambda = log(alpha) - log(sigma), float32.
struct AlphaSigma {
  float alpha, sigma, lambda;
};
AlphaSigma alpha_sigma(float s);

class DpmGridSampler : public VpSampler {
 public:
  // clip_lambda: leave out the timesteps whose lambda lies below the config's lambda_min_clipped
  // (DPM-Solver; UniPC has no clip). Karras / exponential sigmas span the whole training range,
  // with timesteps rounded from log sigma and the last sigma repeated; spaced sigmas end at
  // sigma(t = 0), as diffusers 0.25 ends these runs.
  DpmGridSampler(const NoiseScheduleConfig& config, const SamplerOptions& options,
                 bool clip_lambda);
  StepInfo step_info(int i) const override;

 protected:
  float sigma_at(int i) const { return sigmas_[static_cast<size_t>(i)]; }
  // The data prediction x0 from the raw model output at noise level s (convert_model_output).
  torch::Tensor data_prediction(const torch::Tensor& out, const torch::Tensor& x,
                                const AlphaSigma& s) const;

 private:
  std::vector<float> sigmas_;  // num_steps + 1
};

}  // namespace pangu_draw::schedulers
