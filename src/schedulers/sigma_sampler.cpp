// sigma_sampler.cpp: Euler-family schedule set-up, mirroring diffusers 0.25
// EulerDiscreteScheduler.set_timesteps (interpolated sigmas, optional Karras sigmas with the
// log-sigma inversion for timesteps) and the float32 scalar arithmetic of its step.
#include "schedulers/sigma_sampler.h"

#include <algorithm>
#include <cmath>

#include "schedulers/timestep_spacing.h"

namespace pangu_draw::schedulers {

namespace {
// sqrt(sigma^2 + 1) in float32, as torch evaluates (sigma**2 + 1) ** 0.5 on a float tensor.
float input_scale(float sigma) { return std::sqrt(sigma * sigma + 1.0f); }
}  // namespace

SigmaSampler::SigmaSampler(const NoiseScheduleConfig& config, const SamplerOptions& options,
                           bool round_shaped_timesteps)
    : SteppedSampler(config, options) {
  const int n = options.steps;
  step_timesteps_ = spaced_timesteps(config, n, /*round_linspace=*/false);
  for (double t : step_timesteps_) sigmas64_.push_back(schedule_.sigma(t));  // np.interp, float64
  const SigmaShape shape = sigma_shape();
  if (shape != SigmaShape::Spaced) {
    // diffusers 0.25: Karras (or exponential) sigmas between the spaced (not the training)
    // extremes, timesteps from the log-sigma inversion.
    sigmas64_ = shaped_sigmas(shape, sigmas64_.back(), sigmas64_.front(), n);
    const auto log_sigmas = log_sigma_table(schedule_);
    for (int i = 0; i < n; ++i) {
      const double t = sigma_to_t(sigmas64_[static_cast<size_t>(i)], log_sigmas);
      step_timesteps_[static_cast<size_t>(i)] = round_shaped_timesteps ? std::nearbyint(t) : t;
    }
  }
  for (double s : sigmas64_) sigmas_.push_back(static_cast<float>(s));
  sigmas_.push_back(0.0f);
  timesteps_ = step_timesteps_;
}

double SigmaSampler::init_noise_sigma() const {
  const float max_sigma = *std::max_element(sigmas_.begin(), sigmas_.end());
  if (schedule_.config().timestep_spacing != "leading") return max_sigma;
  return input_scale(max_sigma);
}

StepInfo SigmaSampler::step_info(int i) const {
  StepInfo info;
  info.index = i;
  info.num_steps = num_steps();
  info.timestep = i < num_steps() ? step_timestep(i) : 0.0;
  info.sigma = sigma_at(i);
  info.alpha_bar = NoiseSchedule::alpha_bar_from_sigma(info.sigma);
  return info;
}

torch::Tensor SigmaSampler::to_vp(const torch::Tensor& state, int i) const {
  return state / input_scale(sigma_at(i));
}

torch::Tensor SigmaSampler::from_vp(const torch::Tensor& x_vp, int i) const {
  return x_vp * input_scale(sigma_at(i));
}

torch::Tensor SigmaSampler::denoise(const torch::Tensor& x, float sigma, double timestep,
                                    int index, const Denoiser& denoiser) const {
  StepInfo info;
  info.index = index;
  info.num_steps = num_steps();
  info.timestep = timestep;
  info.sigma = sigma;
  info.alpha_bar = NoiseSchedule::alpha_bar_from_sigma(sigma);
  const torch::Tensor out = denoiser(x / input_scale(sigma), info);
  return predict_x0(out.to(x.dtype()), x, sigma);
}

torch::Tensor SigmaSampler::predict_x0(const torch::Tensor& out, const torch::Tensor& x,
                                       float sigma) const {
  const std::string& type = schedule_.config().prediction_type;
  torch::Tensor x0;
  if (type == "epsilon") {
    x0 = x - sigma * out;
  } else if (type == "v_prediction") {
    // c_out = -sigma / sqrt(sigma^2 + 1), c_skip = 1 / (sigma^2 + 1)
    x0 = out * (-sigma / input_scale(sigma)) + x / (sigma * sigma + 1.0f);
  } else {
    x0 = out;
  }
  return x0;
}

}  // namespace pangu_draw::schedulers
