// dpm2.cpp: DPM-Solver-2 in sigma (Karras et al. 2022's "DPM2" / k-diffusion sample_dpm_2): an
// Euler half-step to the geometric midpoint sigma, then the full step with the midpoint slope;
// the last step (to sigma 0) is plain Euler, so the model runs 2 * steps - 1 times. The ancestral
// variant steps to sigma_down and adds noise of sigma_up. Mirrors diffusers 0.25
// scheduling_k_dpm_2_discrete.py and scheduling_k_dpm_2_ancestral_discrete.py (their interleaved
// timesteps are the two evaluations of one step here).
#include <cmath>

#include "schedulers/registry.h"
#include "schedulers/sigma_sampler.h"

namespace pangu_draw::schedulers {

namespace {

// exp(lerp(log a, log b, 0.5)) as torch evaluates it in float32 (weight 0.5: end - (end - start) /
// 2)
float log_midpoint(float a, float b) {
  const float start = std::log(a), end = std::log(b);
  return std::exp(end - (end - start) * 0.5f);
}

// The midpoint sigmas of steps 0 .. n-2 and their (unrounded) timesteps; timesteps() becomes
// diffusers' [t0, tm0, t1, tm1, ..., tm_{n-2}, t_{n-1}].
class MidpointSampler : public SigmaSampler {
 public:
  MidpointSampler(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : SigmaSampler(config, options, /*round_shaped_timesteps=*/true) {}

 protected:
  void set_midpoints(std::vector<float> mids) {
    mids_ = std::move(mids);
    const auto log_sigmas = log_sigma_table(schedule_);
    timesteps_.assign(1, step_timesteps_.front());
    for (size_t k = 0; k < mids_.size(); ++k) {
      mid_timesteps_.push_back(sigma_to_t(mids_[k], log_sigmas));
      timesteps_.push_back(mid_timesteps_.back());
      timesteps_.push_back(step_timesteps_[k + 1]);
    }
  }
  float mid(int i) const { return mids_[static_cast<size_t>(i)]; }
  double mid_timestep(int i) const { return mid_timesteps_[static_cast<size_t>(i)]; }

 private:
  std::vector<float> mids_;
  std::vector<double> mid_timesteps_;
};

class DPM2 final : public MidpointSampler {
 public:
  DPM2(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : MidpointSampler(config, options) {
    std::vector<float> mids;
    for (int k = 0; k + 1 < num_steps(); ++k)
      mids.push_back(log_midpoint(sigma_at(k + 1), sigma_at(k)));
    set_midpoints(mids);
  }

 protected:
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const float sigma = sigma_at(i);
    const torch::Tensor x0 = denoise(x, sigma, step_timestep(i), i, denoiser);
    const torch::Tensor derivative = (x - x0) / sigma;
    if (i + 1 == num_steps()) return x + derivative * (0.0f - sigma);
    const float sigma_mid = mid(i);
    const torch::Tensor x_mid = x + derivative * (sigma_mid - sigma);
    const torch::Tensor x0_mid = denoise(x_mid, sigma_mid, mid_timestep(i), i, denoiser);
    const torch::Tensor derivative_mid = (x_mid - x0_mid) / sigma_mid;
    return x + derivative_mid * (sigma_at(i + 1) - sigma);
  }
};

class DPM2Ancestral final : public MidpointSampler {
 public:
  DPM2Ancestral(const NoiseScheduleConfig& config, const SamplerOptions& options)
      : MidpointSampler(config, options) {
    std::vector<float> mids;
    for (int k = 0; k + 1 < num_steps(); ++k) {
      // float32 in diffusers' order of operations
      const float s2 = sigma_at(k) * sigma_at(k), next2 = sigma_at(k + 1) * sigma_at(k + 1);
      ups_.push_back(std::sqrt(next2 * (s2 - next2) / s2));
      downs_.push_back(std::sqrt(next2 - ups_.back() * ups_.back()));
      mids.push_back(log_midpoint(sigma_at(k), downs_.back()));
    }
    set_midpoints(mids);
  }

 protected:
  // diffusers draws noise on every model evaluation and uses only the second one of each step.
  torch::Tensor step(const torch::Tensor& x, const Denoiser& denoiser, int i) override {
    const float sigma = sigma_at(i);
    const torch::Tensor x0 = denoise(x, sigma, step_timestep(i), i, denoiser);
    const torch::Tensor derivative = (x - x0) / sigma;
    (void)noise_like(x);
    if (i + 1 == num_steps()) return x + derivative * (0.0f - sigma);
    const float sigma_mid = mid(i);
    const torch::Tensor x_mid = x + derivative * (sigma_mid - sigma);
    const torch::Tensor x0_mid = denoise(x_mid, sigma_mid, mid_timestep(i), i, denoiser);
    const torch::Tensor derivative_mid = (x_mid - x0_mid) / sigma_mid;
    const torch::Tensor noise = noise_like(x);
    const size_t k = static_cast<size_t>(i);
    return x + derivative_mid * (downs_[k] - sigma) + noise * ups_[k];
  }

 private:
  std::vector<float> ups_, downs_;  // per step but the last
};

}  // namespace

std::unique_ptr<Sampler> make_dpm2(const NoiseScheduleConfig& config,
                                   const SamplerOptions& options) {
  return std::make_unique<DPM2>(config, options);
}

std::unique_ptr<Sampler> make_dpm2_ancestral(const NoiseScheduleConfig& config,
                                             const SamplerOptions& options) {
  return std::make_unique<DPM2Ancestral>(config, options);
}

}  // namespace pangu_draw::schedulers
