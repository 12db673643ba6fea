// coop_run.cpp
#include "coop/coop_run.h"

#include "coop/fused_denoiser.h"
#include "coop/latent_bridge.h"
#include "core/error.h"
#include "core/log.h"
#include "core/tensor_check.h"

namespace pangu_draw::coop {

namespace {

size_t host_at(const std::vector<Expert>& experts, double t) {
  for (size_t i = 0; i < experts.size(); ++i) {
    if (experts[i].active(t)) return i;
  }
  PD_FAIL(Usage, "no expert is active at timestep " << t
                                                    << "; make the experts' from-t/to-t ranges cover 0..1000");
}

}  // namespace

torch::Tensor hand_over_noise(const std::vector<int64_t>& shape, int64_t seed, int i) {
  return pipeline::seeded_noise(shape, seed + 1000003 * (i + 1));
}

torch::Tensor hand_over(const torch::Tensor& x_vp, const Expert& from, const Expert& to,
                        const schedulers::Denoiser& outgoing, const schedulers::Sampler& sampler,
                        const schedulers::NoiseScheduleConfig& run_schedule, int i,
                        const CoopSettings& settings) {
  if (settings.naive_latent_resize) {
    PD_CHECK(same_latent_space(*from.model, *to.model), Usage,
             "naive latent resizing needs experts that share a VAE");
    return naive_resize_latent(x_vp, to.latent_shape);
  }
  const schedulers::StepInfo info = sampler.step_info(i);
  const double ab = info.alpha_bar;
  auto eps = schedulers::NoiseSchedule(run_schedule).to_eps(outgoing(x_vp, info), x_vp, ab);
  auto x0 = map_clean_latent(x0_from_eps(eps, x_vp, ab), *from.model, *to.model, to.latent_shape);
  return noised(x0, hand_over_noise(to.latent_shape, settings.seed, i), ab);
}

std::vector<Stage> plan_stages(const std::vector<Expert>& experts, const schedulers::Sampler& sampler) {
  PD_CHECK(!experts.empty(), Usage, "a run needs at least one model");
  std::vector<Stage> stages;
  for (int i = 0; i < sampler.num_steps(); ++i) {
    const size_t host = host_at(experts, sampler.step_info(i).timestep);
    if (stages.empty() || !same_space(experts[stages.back().host], experts[host])) {
      if (!stages.empty()) stages.back().last = i;
      stages.push_back({i, sampler.num_steps(), host});
    }
  }
  return stages;
}

pipeline::Generated run_experts(const std::vector<Expert>& experts, const CoopSettings& settings) {
  torch::InferenceMode guard;
  // One shared schedule ᾱ_t: the final host's (its sampler owns the output latent).
  auto probe = schedulers::make_sampler(settings.sampler, experts.back().model->scheduler, settings.options);
  const auto stages = plan_stages(experts, *probe);
  const Expert& final_host = experts[stages.back().host];
  const auto& run_schedule = final_host.model->scheduler;
  auto sampler = schedulers::make_sampler(settings.sampler, run_schedule, settings.options);
  const Expert& first = experts[stages.front().host];
  torch::Tensor x = settings.init_noise.defined()
                        ? settings.init_noise.to(torch::kFloat).reshape(first.latent_shape)
                        : pipeline::seeded_noise(first.latent_shape, settings.seed);
  x = x * sampler->init_noise_sigma();
  schedulers::Denoiser denoiser;
  for (size_t s = 0; s < stages.size(); ++s) {
    const Stage& stage = stages[s];
    const Expert& host = experts[stage.host];
    if (s > 0) {
      const Expert& prev = experts[stages[s - 1].host];
      logger().info("step {}: handing the latent from {} to {}", stage.first, prev.model->name, host.model->name);
      auto x_vp = hand_over(sampler->to_vp(x, stage.first), prev, host, denoiser, *sampler, run_schedule,
                            stage.first, settings);
      sampler = schedulers::make_sampler(settings.sampler, run_schedule, settings.options);
      x = sampler->from_vp(x_vp, stage.first);
    }
    denoiser = make_fused_denoiser(experts, host, run_schedule, settings.seed);
    x = sampler->sample(x, denoiser, stage.first, stage.last);
  }
  pipeline::Generated out;
  out.latent = x;
  core::expect_finite(out.latent, "final latent");
  out.image = pipeline::decode_latent(*final_host.model, out.latent, settings.vae_tile);
  return out;
}

}  // namespace pangu_draw::coop
