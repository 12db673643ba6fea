// heun.cpp: Heun's 2nd-order method in sigma (Karras et al. 2022, Alg. 1): an Euler predictor,
// then the average of both slopes; the last step (to sigma 0) is plain Euler, so the model runs
// 2 * steps - 1 times. Mirrors diffusers 0.25 scheduling_heun_discrete.py (its duplicated
// timesteps are the two evaluations of one step here).
#include "schedulers/registry.h"
#include "schedulers/sigma_sampler.h"

namespace pangu_draw::schedulers {

namespace {

class Heun final : public SigmaSampler {
 public:
  Heun(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : SigmaSampler(config, options) {
    // diffusers: [t0, t1, t1, t2, t2, ..., t_{n-1}, t_{n-1}]
    timesteps_.assign(1, step_timesteps_.front());
    for (size_t i = 1; i < step_timesteps_.size(); ++i) {
      timesteps_.push_back(step_timesteps_[i]);
      timesteps_.push_back(step_timesteps_[i]);
    }
  }

 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const float sigma = sigma_at(i), sigma_next = sigma_at(i + 1);
    const torch::Tensor x0 = clip(denoise(x, sigma, step_timestep(i), i, denoiser));
    const torch::Tensor derivative = (x - x0) / sigma;
    const float dt = sigma_next - sigma;
    if (i + 1 == num_steps()) return x + derivative * dt;
    const torch::Tensor x_next = x + derivative * dt;
    const torch::Tensor x0_next =
        clip(denoise(x_next, sigma_next, step_timestep(i + 1), i, denoiser));
    const torch::Tensor derivative_next = (x_next - x0_next) / sigma_next;
    return x + ((derivative + derivative_next) / 2) * dt;
  }

 private:
  torch::Tensor clip(const torch::Tensor& x0) const {
    const auto& c = schedule_.config();
    return c.clip_sample ? x0.clamp(-c.clip_sample_range, c.clip_sample_range) : x0;
  }
};

}  // namespace

std::unique_ptr<Sampler> make_heun(const NoiseScheduleConfig& config, const SamplerOptions& options) {
  return std::make_unique<Heun>(config, options);
}

}  // namespace pangu_draw::schedulers
