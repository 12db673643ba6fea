// coop_run.cpp: the run engine (see coop_run.h): initial noise from the run's generator (or an
// edit's encodings, coop/edit_run.h), stages of fused experts through one sampler stream from the
// start step, IID-preserving hand-overs, the final decode.
#include "coop/coop_run.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <optional>

#include "coop/fused_denoiser.h"
#include "coop/latent_bridge.h"
#include "core/error.h"
#include "core/log.h"
#include "core/tensor_check.h"
#include "guidance/cfg.h"

namespace pangu_draw::coop {

namespace {

size_t host_at(const std::vector<Expert>& experts, double t) {
  for (size_t i = 0; i < experts.size(); ++i) {
    if (experts[i].active(t)) return i;
  }
  PD_FAIL(Usage, "no expert is active at timestep " << t
                                                    << "; make the experts' from-t/to-t ranges cover 0..1000");
}

// Seed arithmetic wraps in uint64 (defined, and the CPU generator takes a uint64 seed).
int64_t offset_seed(int64_t seed, uint64_t offset) {
  return static_cast<int64_t>((static_cast<uint64_t>(seed) + offset) & ((uint64_t(1) << 63) - 1));
}

}  // namespace

torch::Tensor hand_over_noise(const std::vector<int64_t>& shape, int64_t seed, int i) {
  return pipeline::seeded_noise(shape, offset_seed(seed, 1000003ull * static_cast<uint64_t>(i + 1)));
}

namespace {

// The plan's x̂0 post-processing (dynamic thresholding) around one expert's denoiser, in the
// units of that expert's data range.
schedulers::Denoiser post_processed(schedulers::Denoiser inner, const Expert& expert,
                                    const schedulers::NoiseScheduleConfig& schedule,
                                    const CoopSettings& settings) {
  double range = settings.dynamic_threshold_range;
  if (range <= 0) range = expert.model->vae ? guidance::kLatentDataRange : 1.0;
  return pipeline::with_dynamic_threshold(std::move(inner), schedule, settings.dynamic_threshold,
                                          settings.dynamic_threshold_max, range);
}

}  // namespace

torch::Tensor hand_over(const torch::Tensor& x_vp, const Expert& from, const Expert& to,
                        const schedulers::Sampler& sampler, int i, const CoopSettings& settings) {
  if (settings.naive_latent_resize) {
    PD_CHECK(same_latent_space(*from.model, *to.model), Usage,
             "naive latent resizing needs experts that share a VAE");
    return naive_resize_latent(x_vp, to.latent_shape);
  }
  const schedulers::StepInfo info = sampler.step_info(i);
  const double ab = info.alpha_bar;
  // The outgoing expert's own prediction at this step's state (one extra call of its model), in
  // its own space and prediction type, post-processed as its steps were.
  auto own = post_processed(from.denoiser, from, from.model->scheduler, settings);
  auto eps = schedulers::NoiseSchedule(from.model->scheduler).to_eps(own(x_vp, info), x_vp, ab);
  auto x0 = map_clean_latent(x0_from_eps(eps, x_vp, ab), *from.model, *to.model, to.latent_shape);
  auto noise = hand_over_noise(to.latent_shape, settings.seed, i).to(x0.device());
  return noised(x0, noise, ab);
}

void check_shared_schedule(const std::vector<Expert>& experts,
                           const schedulers::NoiseScheduleConfig& run_schedule) {
  const schedulers::NoiseSchedule run(run_schedule);
  for (const auto& e : experts) {
    const schedulers::NoiseSchedule own(e.model->scheduler);
    const auto& a = own.alphas_cumprod();
    const auto& b = run.alphas_cumprod();
    bool same = a.size() == b.size();
    for (size_t t = 0; same && t < a.size(); ++t) same = std::abs(a[t] - b[t]) <= 1e-6f;
    PD_CHECK(same, Usage,
             e.model->name << "'s noise schedule (" << e.model->scheduler.num_train_timesteps << " steps, "
                           << e.model->scheduler.beta_schedule << ") differs from the run's ("
                           << run_schedule.num_train_timesteps << ", " << run_schedule.beta_schedule
                           << "): experts of one run must share ᾱ_t; use models trained on one schedule");
  }
}

std::vector<Stage> plan_stages(const std::vector<Expert>& experts, const schedulers::Sampler& sampler,
                               int first_step) {
  PD_CHECK(!experts.empty(), Usage, "a run needs at least one model");
  std::vector<Stage> stages;
  for (int i = first_step; i < sampler.num_steps(); ++i) {
    const size_t host = host_at(experts, sampler.step_info(i).timestep);
    if (stages.empty() || !same_space(experts[stages.back().host], experts[host])) {
      if (!stages.empty()) stages.back().last = i;
      stages.push_back({i, sampler.num_steps(), host});
    }
  }
  return stages;
}

namespace {

// The initial state: the given noise, else the first draw of the run's generator.
torch::Tensor initial_noise(const CoopSettings& settings, const Expert& first, at::Generator& gen) {
  if (settings.init_noise.defined()) return settings.init_noise.to(torch::kFloat).reshape(first.latent_shape);
  return torch::randn(first.latent_shape, gen, torch::TensorOptions().dtype(torch::kFloat));  // cpu: moved by run_experts
}

// Steps [stage.first, stage.last) on x; inpainting with a 4-channel host re-imposes the known
// region after every step (multistep history carries over between the one-step calls).
torch::Tensor run_stage(schedulers::Sampler& sampler, torch::Tensor x,
                        const schedulers::Denoiser& denoiser, const Stage& stage, const EditRun* edit) {
  if (!edit || !edit->reimposes(stage.host)) return sampler.sample(std::move(x), denoiser, stage.first, stage.last);
  for (int i = stage.first; i < stage.last; ++i) {
    x = sampler.sample(std::move(x), denoiser, i, i + 1);
    x = edit->reimpose(x, stage.host, sampler, i + 1);
  }
  return x;
}

}  // namespace

pipeline::Generated run_experts(const std::vector<Expert>& planned, const CoopSettings& settings) {
  torch::InferenceMode guard;
  PD_CHECK(!planned.empty(), Usage, "a run needs at least one model");
  schedulers::SamplerOptions options = settings.options;
  options.seed = settings.seed;
  options.generator = std::make_shared<at::Generator>(
      at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(settings.seed)));
  // One schedule ᾱ_t for the run (checked shared); the final host's config drives the sampler,
  // since its sampler owns the output latent.
  auto probe = schedulers::make_sampler(settings.sampler, planned.back().model->scheduler, options);
  const int start = settings.edit.active() ? edit_start_step(probe->num_steps(), settings.edit.strength) : 0;
  const auto stages = plan_stages(planned, *probe, start);
  const auto& run_schedule = planned[stages.back().host].model->scheduler;
  check_shared_schedule(planned, run_schedule);
  auto sampler = schedulers::make_sampler(settings.sampler, run_schedule, options);
  const Expert& first = planned[stages.front().host];
  // The first draws of the run's generator: the initial noise, or an edit's encodings and noise.
  std::optional<EditRun> edit;
  torch::Tensor x;
  if (settings.edit.active()) {
    edit.emplace(settings.edit, planned, stages.front().host, *sampler, start, settings.init_noise,
                 *options.generator);
    x = edit->initial_state();
  } else {
    x = initial_noise(settings, first, *options.generator).to(first.model->device) * sampler->init_noise_sigma();
  }
  const std::vector<Expert> experts = edit ? edit->conditioned(planned) : planned;
  for (size_t s = 0; s < stages.size(); ++s) {
    const Stage& stage = stages[s];
    const Expert& host = experts[stage.host];
    if (s > 0) {
      const Expert& prev = experts[stages[s - 1].host];
      logger().info("step {}: handing the latent from {} to {}", stage.first, prev.model->name, host.model->name);
      auto x_vp = hand_over(sampler->to_vp(x, stage.first), prev, host, *sampler, stage.first, settings);
      // A fresh sampler (no multistep history across the jump) on the same generator stream.
      sampler = schedulers::make_sampler(settings.sampler, run_schedule, options);
      x = sampler->from_vp(x_vp, stage.first);
    }
    auto denoiser = post_processed(make_fused_denoiser(experts, host, run_schedule, settings.seed),
                                   host, run_schedule, settings);
    x = run_stage(*sampler, std::move(x), denoiser, stage, edit ? &*edit : nullptr);
  }
  const Expert& final_host = experts[stages.back().host];
  pipeline::Generated out;
  out.latent = x;
  core::expect_finite(out.latent, "final latent");
  out.image = pipeline::decode_latent(*final_host.model, out.latent, settings.vae_tile);
  return out;
}

}  // namespace pangu_draw::coop
