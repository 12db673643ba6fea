// stepped_sampler.cpp: the shared step loop and noise stream (diffusers' pipeline denoising loop
// with one torch.Generator shared by the initial noise and the scheduler's steps).
#include "schedulers/stepped_sampler.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <random>

#include "core/error.h"

namespace pangu_draw::schedulers {

SteppedSampler::SteppedSampler(const NoiseScheduleConfig& config, const SamplerOptions& options)
    : schedule_(config), options_(options) {
  PD_CHECK(options.steps > 0, Usage,
           "steps must be > 0, got " << options.steps << "; pass --steps 1 or more");
}

StepInfo VpSampler::vp_step_info(int i, int64_t t, float ab) const {
  StepInfo info;
  info.index = i;
  info.num_steps = num_steps();
  info.timestep = t >= 0 ? static_cast<double>(t) : 0.0;
  info.alpha_bar = ab;
  info.sigma = NoiseSchedule::sigma_from_alpha_bar(info.alpha_bar);
  return info;
}

VpSampler::VpSampler(const NoiseScheduleConfig& config, const SamplerOptions& options)
    : SteppedSampler(config, options),
      final_alpha_bar_(config.set_alpha_to_one ? 1.0f : schedule_.alphas_cumprod().front()) {}

torch::Tensor SteppedSampler::sample(torch::Tensor x, const Denoiser& denoiser, int first,
                                     int last) {
  const int n = num_steps();
  if (last < 0) last = n;
  PD_CHECK(first >= 0 && first <= last && last <= n, Usage,
           "sampler step range [" << first << ", " << last << ") is not inside [0, " << n
                                  << "]: pass 0 <= first <= last <= steps (last -1 = all)");
  PD_CHECK(static_cast<bool>(denoiser), Usage, "sampler: the denoiser callback is empty");
  torch::InferenceMode guard;
  for (int i = first; i < last; ++i) {
    x = step(x, denoiser, i);
    if (options_.on_step) options_.on_step(i + 1, n);
  }
  return x;
}

torch::Tensor SteppedSampler::noise_like(const torch::Tensor& x) {
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat);
  if (options_.generator) return torch::randn(x.sizes(), *options_.generator, f32).to(x.options());
  if (!generator_) {
    const uint64_t seed = options_.seed ? static_cast<uint64_t>(*options_.seed)
                                        : (static_cast<uint64_t>(std::random_device{}()) << 32) ^
                                              std::random_device{}();
    generator_ = at::make_generator<at::CPUGeneratorImpl>(seed);
    // The pipeline drew the initial latent noise from this seed first; continue after it.
    (void)torch::randn(x.sizes(), *generator_, f32);
  }
  return torch::randn(x.sizes(), *generator_, f32).to(x.options());
}

SigmaShape SteppedSampler::sigma_shape() const {
  const std::string& s = options_.schedule;
  if (s == "karras" || options_.karras) return SigmaShape::Karras;
  if (s == "exponential") return SigmaShape::Exponential;
  if (s == "default" && schedule_.config().use_karras_sigmas) return SigmaShape::Karras;
  return SigmaShape::Spaced;
}

torch::Tensor SteppedSampler::vp_x0(const torch::Tensor& out, const torch::Tensor& x,
                                    float alpha_bar) const {
  const auto& c = schedule_.config();
  const float a = std::sqrt(alpha_bar), b = std::sqrt(1.0f - alpha_bar);
  torch::Tensor x0;
  if (c.prediction_type == "epsilon") {
    x0 = (x - b * out) / a;
  } else if (c.prediction_type == "v_prediction") {
    x0 = a * x - b * out;
  } else {
    x0 = out;
  }
  return c.clip_sample ? x0.clamp(-c.clip_sample_range, c.clip_sample_range) : x0;
}

torch::Tensor SteppedSampler::vp_eps(const torch::Tensor& out, const torch::Tensor& x,
                                     float alpha_bar) const {
  const auto& type = schedule_.config().prediction_type;
  const float a = std::sqrt(alpha_bar), b = std::sqrt(1.0f - alpha_bar);
  if (type == "epsilon") return out;
  if (type == "v_prediction") return a * out + b * x;
  return (x - a * out) / b;  // "sample": eps from the unclipped x0
}

}  // namespace pangu_draw::schedulers
