// euler_ancestral.cpp: Euler step to sigma_down plus fresh noise of sigma_up; mirrors diffusers
// 0.25 scheduling_euler_ancestral_discrete.py (Karras sigmas allowed here as in Euler).
#include <cmath>

#include "schedulers/registry.h"
#include "schedulers/sigma_sampler.h"

namespace pangu_draw::schedulers {

namespace {

class EulerAncestral final : public SigmaSampler {
 public:
  using SigmaSampler::SigmaSampler;

 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const float sigma_from = sigma_at(i), sigma_to = sigma_at(i + 1);
    const torch::Tensor x0 = denoise(x, sigma_from, step_timestep(i), i, denoiser);
    // float32 scalar math in diffusers' order of operations
    const float to2 = sigma_to * sigma_to, from2 = sigma_from * sigma_from;
    const float sigma_up = std::sqrt(to2 * (from2 - to2) / from2);
    const float sigma_down = std::sqrt(to2 - sigma_up * sigma_up);
    const torch::Tensor derivative = (x - x0) / sigma_from;
    const float dt = sigma_down - sigma_from;
    const torch::Tensor prev = x + derivative * dt;
    // drawn on every step (also the last, where sigma_up = 0) to keep diffusers' noise stream
    return prev + noise_like(x) * sigma_up;
  }
};

}  // namespace

std::unique_ptr<Sampler> make_euler_ancestral(const NoiseScheduleConfig& config,
                                              const SamplerOptions& options) {
  return std::make_unique<EulerAncestral>(config, options);
}

}  // namespace pangu_draw::schedulers
