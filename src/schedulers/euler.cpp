// euler.cpp: Euler's method on the probability-flow ODE in sigma (Karras et al. 2022, Alg. 2
// without churn); mirrors diffusers 0.25 scheduling_euler_discrete.py EulerDiscreteScheduler.step.
#include "schedulers/registry.h"
#include "schedulers/sigma_sampler.h"

namespace pangu_draw::schedulers {

namespace {

class Euler final : public SigmaSampler {
 public:
  using SigmaSampler::SigmaSampler;

 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const float sigma = sigma_at(i);  // sigma_hat == sigma: s_churn = 0
    const torch::Tensor x0 = denoise(x, sigma, step_timestep(i), i, denoiser);
    const torch::Tensor derivative = (x - x0) / sigma;
    const float dt = sigma_at(i + 1) - sigma;
    return x + derivative * dt;
  }
};

}  // namespace

std::unique_ptr<Sampler> make_euler(const NoiseScheduleConfig& config, const SamplerOptions& options) {
  return std::make_unique<Euler>(config, options);
}

}  // namespace pangu_draw::schedulers
