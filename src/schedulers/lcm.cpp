// lcm.cpp: Latent Consistency Model multistep sampling (Luo et al. 2023): consistency-function
// denoise with boundary scalings, then re-noise to the next timestep (not after the last);
// mirrors diffusers 0.25 scheduling_lcm.py LCMScheduler.set_timesteps / step.
#include <cmath>

#include "core/error.h"
#include "schedulers/registry.h"
#include "schedulers/stepped_sampler.h"

namespace pangu_draw::schedulers {

namespace {

class LCM final : public VpSampler {
 public:
  LCM(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : VpSampler(config, options) {
    PD_CHECK(sigma_shape() == SigmaShape::Spaced && options.schedule != "sgm_uniform", Usage,
             "the karras / exponential / sgm_uniform schedules are not available for the lcm "
             "sampler (it has its own timesteps); use --schedule default");
    const int n = options.steps;
    const int64_t original = config.original_inference_steps;
    PD_CHECK(n <= original, Usage,
             "lcm: steps " << n << " exceed the scheduler's original_inference_steps " << original
                           << "; use at most " << original << " steps");
    // The distillation grid k - 1, 2k - 1, ..., from the top, at (approximately) even indices.
    const int64_t k = config.num_train_timesteps / original;
    const double stride = static_cast<double>(original) / n;  // np.linspace(0, original, n, endpoint=False)
    for (int i = 0; i < n; ++i) {
      const auto idx = static_cast<int64_t>(std::floor(i * stride));
      timesteps_.push_back(static_cast<double>((original - idx) * k - 1));
    }
  }
  StepInfo step_info(int i) const override {
    StepInfo info;
    info.index = i;
    info.num_steps = num_steps();
    // after the last step the state is the clean denoised latent
    info.timestep = i < num_steps() ? timesteps_[static_cast<size_t>(i)] : 0.0;
    info.alpha_bar = i < num_steps() ? alpha_bar_at(timestep_at(i)) : 1.0;
    info.sigma = NoiseSchedule::sigma_from_alpha_bar(info.alpha_bar);
    return info;
  }
 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const int64_t t = timestep_at(i);
    const float ab = alpha_bar_at(t);
    const torch::Tensor out = denoiser(x, step_info(i)).to(x.dtype());
    const torch::Tensor x0 = vp_x0(out, x, ab);
    // boundary condition scalings c_skip, c_out with sigma_data = 0.5, float32
    const float scaled = static_cast<float>(t) * static_cast<float>(schedule_.config().timestep_scaling);
    const float c_skip = 0.25f / (scaled * scaled + 0.25f);
    const float c_out = scaled / std::sqrt(scaled * scaled + 0.25f);
    const torch::Tensor denoised = c_out * x0 + c_skip * x;
    if (i == num_steps() - 1) return denoised;
    const float ab_prev = alpha_bar_at(timestep_at(i + 1));
    return std::sqrt(ab_prev) * denoised + std::sqrt(1.0f - ab_prev) * noise_like(x);
  }

};

}  // namespace

std::unique_ptr<Sampler> make_lcm(const NoiseScheduleConfig& config, const SamplerOptions& options) {
  return std::make_unique<LCM>(config, options);
}

}  // namespace pangu_draw::schedulers
