// dpmpp_2m.cpp: DPM-Solver++(2M) (Lu et al. 2022, arXiv 2211.01095, Alg. 2, midpoint form) on the
// VP latent in half-log-SNR lambda; mirrors diffusers 0.25 scheduling_dpmsolver_multistep.py with
// algorithm_type dpmsolver++, solver_order 2, lower_order_final, and its 0.25 final sigma (the
// last sigma repeated with Karras sigmas, sigma(t=0) otherwise: the run ends slightly noisy).
#include <cmath>

#include "schedulers/registry.h"
#include "schedulers/stepped_sampler.h"
#include "schedulers/timestep_spacing.h"

namespace pangu_draw::schedulers {

namespace {

struct AlphaSigma {
  float alpha, sigma, lambda;
};

// diffusers' _sigma_to_alpha_sigma_t and lambda = log(alpha) - log(sigma), float32.
AlphaSigma alpha_sigma(float s) {
  const float alpha = 1.0f / std::sqrt(s * s + 1.0f);
  const float sigma = s * alpha;
  return {alpha, sigma, std::log(alpha) - std::log(sigma)};
}

class DPMSolverPP2M final : public VpSampler {
 public:
  DPMSolverPP2M(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : VpSampler(config, options) {
    const int n = options.steps;
    if (options.karras || config.use_karras_sigmas) {
      // Karras sigmas over the whole training range, timesteps rounded from log-sigma.
      const auto& table = schedule_.sigmas();
      const auto sigmas = karras_sigmas(table.front(), table.back(), n);
      const auto log_sigmas = log_sigma_table(schedule_);
      for (double s : sigmas) {
        timesteps_.push_back(std::nearbyint(sigma_to_t(s, log_sigmas)));
        sigmas_.push_back(static_cast<float>(s));
      }
      sigmas_.push_back(sigmas_.back());
    } else {
      timesteps_ = dpm_spaced_timesteps(config, n, dpm_last_timestep(schedule_));
      for (double t : timesteps_) sigmas_.push_back(static_cast<float>(schedule_.sigma(t)));
      sigmas_.push_back(schedule_.sigmas().front());
    }
  }
  StepInfo step_info(int i) const override {
    StepInfo info;
    info.index = i;
    info.num_steps = num_steps();
    info.timestep = i < num_steps() ? timesteps_[static_cast<size_t>(i)] : 0.0;
    info.sigma = sigmas_[static_cast<size_t>(i)];
    info.alpha_bar = NoiseSchedule::alpha_bar_from_sigma(info.sigma);
    return info;
  }
 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const int n = num_steps();
    const auto& c = schedule_.config();
    const bool lower_order_final =
        i == n - 1 && (c.euler_at_final || (c.lower_order_final && n < 15));
    const AlphaSigma s0 = alpha_sigma(sigmas_[static_cast<size_t>(i)]);
    const AlphaSigma t = alpha_sigma(sigmas_[static_cast<size_t>(i) + 1]);
    const torch::Tensor out = denoiser(x, step_info(i)).to(x.dtype());
    const torch::Tensor x0 = convert_model_output(out, x, s0);
    const float h = t.lambda - s0.lambda;
    const float phi = t.alpha * (std::exp(-h) - 1.0f);
    torch::Tensor next;
    if (prev_index_ != i - 1 || i == 0 || lower_order_final) {
      next = (t.sigma / s0.sigma) * x - phi * x0;  // DPM-Solver++ 1 (DDIM in lambda)
    } else {
      const AlphaSigma s1 = alpha_sigma(sigmas_[static_cast<size_t>(i) - 1]);
      const float r0 = (s0.lambda - s1.lambda) / h;
      const torch::Tensor d1 = (1.0f / r0) * (x0 - prev_x0_);
      next = (t.sigma / s0.sigma) * x - phi * x0 - (0.5f * phi) * d1;
    }
    prev_x0_ = x0;
    prev_index_ = i;
    return next;
  }

 private:
  torch::Tensor convert_model_output(const torch::Tensor& out, const torch::Tensor& x,
                                     const AlphaSigma& s) const {
    const auto& type = schedule_.config().prediction_type;
    if (type == "epsilon") return (x - s.sigma * out) / s.alpha;
    if (type == "v_prediction") return s.alpha * x - s.sigma * out;
    return out;
  }

  std::vector<float> sigmas_;  // num_steps + 1
  torch::Tensor prev_x0_;      // the data prediction of the previous step (multistep history)
  int prev_index_ = -2;
};

}  // namespace

std::unique_ptr<Sampler> make_dpmpp_2m(const NoiseScheduleConfig& config,
                                       const SamplerOptions& options) {
  return std::make_unique<DPMSolverPP2M>(config, options);
}

}  // namespace pangu_draw::schedulers
