// dpm_grid.cpp: the DPM-Solver / UniPC grid (set_timesteps of diffusers 0.25
// scheduling_dpmsolver_multistep.py and scheduling_unipc_multistep.py) and the data prediction.
#include "schedulers/dpm_grid.h"

#include <cmath>

namespace pangu_draw::schedulers {

AlphaSigma alpha_sigma(float s) {
  const float alpha = 1.0f / std::sqrt(s * s + 1.0f);
  const float sigma = s * alpha;
  return {alpha, sigma, std::log(alpha) - std::log(sigma)};
}

DpmGridSampler::DpmGridSampler(const NoiseScheduleConfig& config, const SamplerOptions& options,
                               bool clip_lambda)
    : VpSampler(config, options) {
  const int n = options.steps;
  const SigmaShape shape = sigma_shape();
  if (shape != SigmaShape::Spaced) {
    const auto& table = schedule_.sigmas();
    const auto sigmas = shaped_sigmas(shape, table.front(), table.back(), n);
    const auto log_sigmas = log_sigma_table(schedule_);
    for (double s : sigmas) {
      timesteps_.push_back(std::nearbyint(sigma_to_t(s, log_sigmas)));
      sigmas_.push_back(static_cast<float>(s));
    }
    sigmas_.push_back(sigmas_.back());
  } else {
    const int64_t last =
        clip_lambda ? dpm_last_timestep(schedule_) : schedule_.num_train_timesteps();
    timesteps_ = dpm_spaced_timesteps(config, n, last);
    for (double t : timesteps_) sigmas_.push_back(static_cast<float>(schedule_.sigma(t)));
    sigmas_.push_back(schedule_.sigmas().front());
  }
}

StepInfo DpmGridSampler::step_info(int i) const {
  StepInfo info;
  info.index = i;
  info.num_steps = num_steps();
  info.timestep = i < num_steps() ? timesteps_[static_cast<size_t>(i)] : 0.0;
  info.sigma = sigma_at(i);
  info.alpha_bar = NoiseSchedule::alpha_bar_from_sigma(info.sigma);
  return info;
}

torch::Tensor DpmGridSampler::data_prediction(const torch::Tensor& out, const torch::Tensor& x,
                                              const AlphaSigma& s) const {
  const auto& type = schedule_.config().prediction_type;
  if (type == "epsilon") return (x - s.sigma * out) / s.alpha;
  if (type == "v_prediction") return s.alpha * x - s.sigma * out;
  return out;
}

}  // namespace pangu_draw::schedulers
