// ddpm.cpp: DDPM ancestral sampling (Ho et al. 2020, eq. 6-7): the posterior q(x_{t'} | x_t, x0)
// mean from the predicted x0 plus its fixed small variance, on the VP latent; mirrors diffusers
// 0.25 scheduling_ddpm.py DDPMScheduler.set_timesteps / step with variance_type "fixed_small"
// (the step after the last timestep has alpha_bar 1, whatever set_alpha_to_one says).
#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "schedulers/registry.h"
#include "schedulers/stepped_sampler.h"
#include "schedulers/timestep_spacing.h"

namespace pangu_draw::schedulers {

namespace {

class DDPM final : public VpSampler {
 public:
  DDPM(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : VpSampler(config, options) {
    PD_CHECK(sigma_shape() == SigmaShape::Spaced, Usage,
             "the ddpm sampler has no sigma schedule (karras / exponential); use --schedule "
             "default or sgm_uniform");
    timesteps_ = spaced_timesteps(config, options.steps, /*round_linspace=*/true);
  }
  StepInfo step_info(int i) const override {
    const int64_t t = i < num_steps() ? timestep_at(i) : prev_timestep(num_steps() - 1);
    return vp_step_info(i, t, alpha_bar(t));
  }

 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const int64_t t = timestep_at(i);
    const float ab = alpha_bar(t), ab_prev = alpha_bar(prev_timestep(i));
    const torch::Tensor out = denoiser(x, step_info(i)).to(x.dtype());
    const torch::Tensor x0 = vp_x0(out, x, ab);
    // posterior mean coefficients, float32 in diffusers' order of operations
    const float beta = 1.0f - ab, beta_prev = 1.0f - ab_prev;
    const float alpha = ab / ab_prev, beta_t = 1.0f - alpha;
    const float c_x0 = (std::sqrt(ab_prev) * beta_t) / beta;
    const float c_x = std::sqrt(alpha) * beta_prev / beta;
    torch::Tensor prev = c_x0 * x0 + c_x * x;
    if (t > 0) {  // diffusers draws for every t > 0 (also t = 1, where the variance is 1e-20)
      const float variance = std::max((1.0f - ab_prev) / (1.0f - ab) * beta_t, 1e-20f);
      prev = prev + std::sqrt(variance) * noise_like(x);
    }
    return prev;
  }

 private:
  // diffusers: t - num_train_timesteps // num_inference_steps, whatever the spacing.
  int64_t prev_timestep(int i) const {
    return timestep_at(i) - schedule_.num_train_timesteps() / num_steps();
  }
  float alpha_bar(int64_t t) const {
    return t >= 0 ? schedule_.alphas_cumprod()[static_cast<size_t>(t)] : 1.0f;
  }
};

}  // namespace

std::unique_ptr<Sampler> make_ddpm(const NoiseScheduleConfig& config,
                                   const SamplerOptions& options) {
  return std::make_unique<DDPM>(config, options);
}

}  // namespace pangu_draw::schedulers
