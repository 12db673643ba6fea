// coop_run.h: a run over a plan of experts. The schedule's steps are cut into stages: a new
// stage starts where the host (the first expert active at that step) moves to another latent
// space or size. Inside a stage the sampler sees one fused Denoiser; between stages the latent
// is handed over through pixels (x̂0 → decode → resize → encode → re-noise with fresh noise,
// the paper's IID-preserving resolution bridging), or, for comparison only, by resizing the
// noisy latent. Time-decoupled structure → texture sampling is the two-expert case.
#pragma once

#include <functional>
#include <vector>

#include "coop/expert.h"
#include "pipeline/txt2img.h"

namespace pangu_draw::coop {

struct Stage {
  int first = 0, last = 0;  // steps [first, last)
  size_t host = 0;          // index of the host expert
};

// Cuts the sampler's steps into stages (Error{Usage} if a step has no active expert).
std::vector<Stage> plan_stages(const std::vector<Expert>& experts, const schedulers::Sampler& sampler);

struct CoopSettings {
  std::string sampler = "euler";
  schedulers::SamplerOptions options;  // steps, karras, eta, seed, on_step
  int64_t seed = 0;
  torch::Tensor init_noise;            // optional, at the first stage's latent size
  bool naive_latent_resize = false;    // hand over by resizing z_t (comparison only)
  int64_t vae_tile = -1;               // final decode: vae::decode_tiled setting
};

// The hand-over between stages at step i: the outgoing stage's clean estimate x̂0 at step i,
// moved into the incoming host's space and size, re-noised to step i with fresh noise (seeded
// from settings.seed and i); or the resized noisy latent when settings.naive_latent_resize.
torch::Tensor hand_over(const torch::Tensor& x_vp, const Expert& from, const Expert& to,
                        const schedulers::Denoiser& outgoing, const schedulers::Sampler& sampler,
                        const schedulers::NoiseScheduleConfig& run_schedule, int i,
                        const CoopSettings& settings);

// The fresh noise hand_over adds at step i.
torch::Tensor hand_over_noise(const std::vector<int64_t>& shape, int64_t seed, int i);

// Runs the plan; the final latent lives in the last stage's host space and is decoded by its VAE.
pipeline::Generated run_experts(const std::vector<Expert>& experts, const CoopSettings& settings);

}  // namespace pangu_draw::coop
