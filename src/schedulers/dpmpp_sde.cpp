// dpmpp_sde.cpp: DPM-Solver++ SDE (k-diffusion sample_dpmpp_sde, eta 1, r 1/2): per step an
// ancestral DPM-Solver++(1) half-step to the midpoint in t = -log sigma, a model call there, and
// the ancestral step to sigma_next from the midpoint's data prediction; the last step (to sigma 0)
// is Euler. Mirrors diffusers 0.25 scheduling_dpmsolver_sde.py DPMSolverSDEScheduler.
//
// Noise: diffusers (like k-diffusion) takes it from torchsde's BrownianTree, seeded on its own
// (noise_sampler_seed), not from the run's generator. Here the same Brownian law comes from the
// run's stream: z1 for the increment sigma -> sigma_mid, then z2 for sigma_mid -> sigma_next, the
// second step's increment being the sum of both (the tree's increments over [sigma_next, sigma]
// and [sigma_mid, sigma] overlap). Images therefore differ from diffusers' for the same seed;
// every deterministic part is diffusers'.
#include <algorithm>
#include <cmath>

#include "schedulers/registry.h"
#include "schedulers/sigma_sampler.h"

namespace pangu_draw::schedulers {

namespace {

class DPMSolverSDE final : public SigmaSampler {
 public:
  DPMSolverSDE(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : SigmaSampler(config, options) {
    // the midpoints' timesteps, from the float64 sigmas (diffusers' _second_order_timesteps)
    const auto log_sigmas = log_sigma_table(schedule_);
    timesteps_.assign(1, step_timesteps_.front());
    for (size_t k = 0; k + 1 < sigmas64_.size(); ++k) {
      const double t = -std::log(sigmas64_[k]), t_next = -std::log(sigmas64_[k + 1]);
      mid_timesteps_.push_back(sigma_to_t(std::exp(-(t + (t_next - t) * 0.5)), log_sigmas));
      timesteps_.push_back(mid_timesteps_.back());
      timesteps_.push_back(step_timesteps_[k + 1]);
    }
  }

 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const float sigma = sigma_at(i), sigma_next = sigma_at(i + 1);
    const torch::Tensor x0 = denoise(x, sigma, step_timestep(i), i, denoiser);
    if (sigma_next == 0.0f) return x + ((x - x0) / sigma) * (sigma_next - sigma);
    // float32 in t = -log(sigma), as diffusers' sigma_fn / t_fn on 0-dim tensors
    const float t = -std::log(sigma), t_next = -std::log(sigma_next);
    const float t_mid = t + (t_next - t) * 0.5f;
    const float from = std::exp(-t), mid = std::exp(-t_mid), to = std::exp(-t_next);
    const torch::Tensor z1 = noise_like(x);
    const torch::Tensor x_mid = ancestral(x, x0, t, t_mid, z1);
    const torch::Tensor x0_mid =
        denoise(x_mid, mid, mid_timesteps_[static_cast<size_t>(i)], i, denoiser);
    const torch::Tensor z2 = noise_like(x);
    const float a = std::fabs(from - mid), b = std::fabs(mid - to), whole = std::fabs(from - to);
    const torch::Tensor increment = (std::sqrt(a) * z1 + std::sqrt(b) * z2) / std::sqrt(whole);
    return ancestral(x, x0_mid, t, t_next, increment);
  }

 private:
  // DPM-Solver++(1) from t to sigma_down of the step t -> t_to, plus unit noise times sigma_up.
  static torch::Tensor ancestral(const torch::Tensor& x, const torch::Tensor& x0, float t,
                                 float t_to, const torch::Tensor& noise) {
    const float sigma_from = std::exp(-t), sigma_to = std::exp(-t_to);
    const float to2 = sigma_to * sigma_to, from2 = sigma_from * sigma_from;
    const float sigma_up = std::min(sigma_to, std::sqrt(to2 * (from2 - to2) / from2));
    const float sigma_down = std::sqrt(to2 - sigma_up * sigma_up);
    const float t_down = -std::log(sigma_down);
    const torch::Tensor prev = (std::exp(-t_down) / std::exp(-t)) * x - std::expm1(t - t_down) * x0;
    return prev + noise * sigma_up;
  }

  std::vector<double> mid_timesteps_;
};

}  // namespace

std::unique_ptr<Sampler> make_dpmpp_sde(const NoiseScheduleConfig& config,
                                        const SamplerOptions& options) {
  return std::make_unique<DPMSolverSDE>(config, options);
}

}  // namespace pangu_draw::schedulers
