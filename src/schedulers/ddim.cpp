// ddim.cpp: DDIM (Song et al. 2021, eq. 12 and 16) on the VP latent, eta-controlled noise;
// mirrors diffusers 0.25 scheduling_ddim.py DDIMScheduler.set_timesteps / step / _get_variance.
#include <cmath>

#include "core/error.h"
#include "schedulers/registry.h"
#include "schedulers/stepped_sampler.h"
#include "schedulers/timestep_spacing.h"

namespace pangu_draw::schedulers {

namespace {

class DDIM final : public VpSampler {
 public:
  DDIM(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : VpSampler(config, options) {
    PD_CHECK(sigma_shape() == SigmaShape::Spaced, Usage,
             "the karras / exponential schedules are not available for the ddim sampler (it has "
             "no sigma schedule); use --schedule default or sgm_uniform, or a sigma sampler "
             "(euler, heun, dpmpp_2m, ...)");
    PD_CHECK(options.eta >= 0, Usage, "ddim eta must be >= 0, got " << options.eta);
    timesteps_ = spaced_timesteps(config, options.steps, /*round_linspace=*/true);
  }
  StepInfo step_info(int i) const override {
    const int64_t t = i < num_steps() ? timestep_at(i) : prev_timestep(num_steps() - 1);
    return vp_step_info(i, t, alpha_bar_at(t));
  }
 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const int64_t t = timestep_at(i), prev_t = prev_timestep(i);
    const float ab = alpha_bar_at(t), ab_prev = alpha_bar_at(prev_t);
    const torch::Tensor out = denoiser(x, step_info(i)).to(x.dtype());
    const torch::Tensor x0 = vp_x0(out, x, ab);
    const torch::Tensor eps = vp_eps(out, x, ab);
    // sigma_t(eta), eq. 16, in diffusers' float32 order of operations
    const float beta = 1.0f - ab, beta_prev = 1.0f - ab_prev;
    const float variance = (beta_prev / beta) * (1.0f - ab / ab_prev);
    const float std_dev = static_cast<float>(options_.eta) * std::sqrt(variance);
    const torch::Tensor direction = std::sqrt(1.0f - ab_prev - std_dev * std_dev) * eps;
    torch::Tensor prev = std::sqrt(ab_prev) * x0 + direction;
    if (options_.eta > 0) prev = prev + std_dev * noise_like(x);
    return prev;
  }

 private:
  // diffusers: t - num_train_timesteps // num_inference_steps, whatever the spacing.
  int64_t prev_timestep(int i) const {
    return timestep_at(i) - schedule_.num_train_timesteps() / num_steps();
  }
};

}  // namespace

std::unique_ptr<Sampler> make_ddim(const NoiseScheduleConfig& config, const SamplerOptions& options) {
  return std::make_unique<DDIM>(config, options);
}

}  // namespace pangu_draw::schedulers
