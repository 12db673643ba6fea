// fused_denoiser.cpp: one stage's experts fused into one Denoiser (same-space mixing, pixel-space
// bridging with mirrored states, PanGu-Draw Alg. 1).
#include "coop/fused_denoiser.h"

#include <cmath>

#include "coop/latent_bridge.h"
#include "core/error.h"
#include "pipeline/txt2img.h"

namespace pangu_draw::coop {

bool same_space(const Expert& a, const Expert& b) {
  return a.latent_shape == b.latent_shape && same_latent_space(*a.model, *b.model);
}

FusedDenoiser::FusedDenoiser(std::vector<Expert> experts, Expert host,
                             schedulers::NoiseScheduleConfig run_schedule, int64_t seed)
    : experts_(std::move(experts)),
      host_(std::move(host)),
      run_schedule_(run_schedule),
      mirrors_(experts_.size()),
      seed_(seed) {}

torch::Tensor FusedDenoiser::bridged_input(size_t i, const torch::Tensor& z, double ab) {
  const Expert& e = experts_[i];
  if (mirrors_[i]) return noised(mirrors_[i]->x0, mirrors_[i]->eps, ab);
  // z'_T = z_T (Alg. 1): pure noise is valid in any latent space of the same shape. Later, an
  // expert of another latent space gets the best estimate mapped into its space instead.
  if (e.latent_shape == z.sizes().vec() && !last_x0_.defined()) return z;
  // First step of an expert at another size: its own fresh noise around the best estimate.
  const uint64_t offset = 7919ull * static_cast<uint64_t>(++draws_);  // wraps, never overflows
  const auto seed = static_cast<int64_t>((static_cast<uint64_t>(seed_) + offset) & ((uint64_t(1) << 63) - 1));
  auto noise = pipeline::seeded_noise(e.latent_shape, seed).to(z.device());
  auto x0 = last_x0_.defined() ? map_clean_latent(last_x0_, *host_.model, *e.model, e.latent_shape)
                               : torch::zeros(e.latent_shape, z.options());
  return noised(x0, noise, ab);
}

torch::Tensor FusedDenoiser::bridged_eps(size_t i, const torch::Tensor& z,
                                         const schedulers::StepInfo& step, torch::Tensor& z_i) {
  const Expert& e = experts_[i];
  const double ab = step.alpha_bar;
  z_i = bridged_input(i, z, ab);
  schedulers::NoiseSchedule own(e.model->scheduler);
  auto eps_i = own.to_eps(e.denoiser(z_i, step), z_i, ab);
  auto x0_host = map_clean_latent(x0_from_eps(eps_i, z_i, ab), *e.model, *host_.model,
                                  host_.latent_shape);
  return eps_from_x0(x0_host, z, ab);
}

torch::Tensor FusedDenoiser::operator()(const torch::Tensor& z, const schedulers::StepInfo& step) {
  const double ab = step.alpha_bar;
  std::vector<size_t> active;
  for (size_t i = 0; i < experts_.size(); ++i) {
    if (experts_[i].active(step.timestep)) active.push_back(i);
  }
  PD_CHECK(!active.empty(), Usage,
           "no expert is active at timestep " << step.timestep
                                              << "; make the experts' from-t/to-t ranges cover 0..1000");
  torch::Tensor eps_sum;
  std::vector<torch::Tensor> inputs(experts_.size());
  double wsum = 0.0;
  auto add = [&](const Expert& e, const torch::Tensor& eps) {
    eps_sum = eps_sum.defined() ? eps_sum + e.weight * eps : e.weight * eps;
    wsum += e.weight;
  };
  for (size_t i : active) {  // the host's space first: the state's own reading
    const Expert& e = experts_[i];
    if (same_space(e, host_)) add(e, schedulers::NoiseSchedule(e.model->scheduler).to_eps(e.denoiser(z, step), z, ab));
  }
  // A stage that starts mid-run (after a hand-over, in an edit) holds a real state, not noise:
  // bridged experts start from its estimate in their own space, not from pure noise.
  if (!last_x0_.defined() && step.index > 0 && wsum > 0) last_x0_ = x0_from_eps(eps_sum / wsum, z, ab);
  for (size_t i : active) {
    const Expert& e = experts_[i];
    if (!same_space(e, host_)) add(e, bridged_eps(i, z, step, inputs[i]));
  }
  PD_CHECK(wsum > 0, Usage, "the active experts' weights sum to " << wsum << "; use positive weights");
  auto fused = eps_sum / wsum;
  last_x0_ = x0_from_eps(fused, z, ab);
  for (size_t i : active) {  // mirrored states follow the fused prediction
    if (!inputs[i].defined()) continue;
    auto x0_i = map_clean_latent(last_x0_, *host_.model, *experts_[i].model, experts_[i].latent_shape);
    mirrors_[i] = Mirror{x0_i, eps_from_x0(x0_i, inputs[i], ab)};
  }
  return run_schedule_.model_output(last_x0_, fused, ab);
}

schedulers::Denoiser make_fused_denoiser(std::vector<Expert> experts, const Expert& host,
                                         const schedulers::NoiseScheduleConfig& run_schedule,
                                         int64_t seed) {
  // Every expert native to the host and of the run's prediction type: no conversion at all.
  bool native = true;
  for (const auto& e : experts) {
    native = native && same_space(e, host) && e.model->scheduler.prediction_type == run_schedule.prediction_type;
  }
  if (native && experts.size() == 1 && !std::isfinite(experts[0].from_t) && !std::isfinite(experts[0].to_t)) {
    return experts[0].denoiser;
  }
  if (native) {  // time-decoupled experts in one space, or same-space fusion: raw outputs mix
    return [experts = std::move(experts)](const torch::Tensor& z, const schedulers::StepInfo& step) {
      torch::Tensor sum;
      double wsum = 0.0;
      for (const auto& e : experts) {
        if (!e.active(step.timestep)) continue;
        auto out = e.denoiser(z, step);
        sum = sum.defined() ? sum + e.weight * out : e.weight * out;
        wsum += e.weight;
      }
      PD_CHECK(sum.defined(), Usage, "no expert is active at timestep " << step.timestep
                                         << "; make the experts' from-t/to-t ranges cover 0..1000");
      return wsum == 1.0 ? sum : sum / wsum;
    };
  }
  auto fused = std::make_shared<FusedDenoiser>(std::move(experts), host, run_schedule, seed);
  return [fused](const torch::Tensor& z, const schedulers::StepInfo& step) { return (*fused)(z, step); };
}

}  // namespace pangu_draw::coop
