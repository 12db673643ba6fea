// dpmpp_2m.cpp: DPM-Solver++(2M) (Lu et al. 2022, arXiv 2211.01095, Alg. 2, midpoint form) on the
// VP latent in half-log-SNR lambda, and its SDE variant (DPM-Solver++(2M) SDE: the same data
// predictions with an e^{-h} contraction and fresh noise every step); mirrors diffusers 0.25
// scheduling_dpmsolver_multistep.py with algorithm_type dpmsolver++ / sde-dpmsolver++, solver_order
// 2, solver_type midpoint, lower_order_final, and its 0.25 final sigma (the last sigma repeated
// with Karras / exponential sigmas, sigma(t=0) otherwise: the run ends slightly noisy).
#include <cmath>

#include "schedulers/dpm_grid.h"
#include "schedulers/registry.h"

namespace pangu_draw::schedulers {

namespace {

class DPMSolverPP2M final : public DpmGridSampler {
 public:
  DPMSolverPP2M(const NoiseScheduleConfig& config, const SamplerOptions& options, bool sde)
      : DpmGridSampler(config, options, /*clip_lambda=*/true), sde_(sde) {}

 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const int n = num_steps();
    const auto& c = schedule_.config();
    const bool lower_order_final =
        i == n - 1 && (c.euler_at_final || (c.lower_order_final && n < 15));
    const AlphaSigma s0 = alpha_sigma(sigma_at(i));
    const AlphaSigma t = alpha_sigma(sigma_at(i + 1));
    const torch::Tensor x0 = data_prediction(denoiser(x, step_info(i)).to(x.dtype()), x, s0);
    // diffusers draws the SDE noise after the model call, on every step (the last one too)
    const torch::Tensor noise = sde_ ? noise_like(x) : torch::Tensor();
    const float h = t.lambda - s0.lambda;
    torch::Tensor d1;  // undefined: first order (first step, after a hand-over, at the end)
    if (prev_index_ == i - 1 && i > 0 && !lower_order_final) {
      const AlphaSigma s1 = alpha_sigma(sigma_at(i - 1));
      const float r0 = (s0.lambda - s1.lambda) / h;
      d1 = (1.0f / r0) * (x0 - prev_x0_);
    }
    prev_x0_ = x0;
    prev_index_ = i;
    return sde_ ? sde_update(x, x0, d1, noise, s0, t, h) : ode_update(x, x0, d1, s0, t, h);
  }

 private:
  // dpmsolver++: x_t = (sigma_t / sigma_s) x - alpha_t (e^{-h} - 1) (D0 + D1 / 2)
  static torch::Tensor ode_update(const torch::Tensor& x, const torch::Tensor& x0,
                                  const torch::Tensor& d1, const AlphaSigma& s0,
                                  const AlphaSigma& t, float h) {
    const float phi = t.alpha * (std::exp(-h) - 1.0f);
    torch::Tensor next = (t.sigma / s0.sigma) * x - phi * x0;
    if (d1.defined()) next = next - (0.5f * phi) * d1;
    return next;
  }

  // sde-dpmsolver++: x_t = (sigma_t / sigma_s) e^{-h} x + alpha_t (1 - e^{-2h}) (D0 + D1 / 2)
  //                        + sigma_t sqrt(1 - e^{-2h}) z
  static torch::Tensor sde_update(const torch::Tensor& x, const torch::Tensor& x0,
                                  const torch::Tensor& d1, const torch::Tensor& noise,
                                  const AlphaSigma& s0, const AlphaSigma& t, float h) {
    const float decay = t.sigma / s0.sigma * std::exp(-h);
    const float data = t.alpha * (1.0f - std::exp(-2.0f * h));
    const float spread = t.sigma * std::sqrt(1.0f - std::exp(-2.0f * h));
    torch::Tensor next = decay * x + data * x0;
    if (d1.defined()) next = next + (0.5f * data) * d1;
    return next + spread * noise;
  }

  bool sde_;
  torch::Tensor prev_x0_;  // the data prediction of the previous step (multistep history)
  int prev_index_ = -2;
};

}  // namespace

std::unique_ptr<Sampler> make_dpmpp_2m(const NoiseScheduleConfig& config,
                                       const SamplerOptions& options) {
  return std::make_unique<DPMSolverPP2M>(config, options, /*sde=*/false);
}

std::unique_ptr<Sampler> make_dpmpp_2m_sde(const NoiseScheduleConfig& config,
                                           const SamplerOptions& options) {
  return std::make_unique<DPMSolverPP2M>(config, options, /*sde=*/true);
}

}  // namespace pangu_draw::schedulers
