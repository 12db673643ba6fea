// coop_run.h: THE run engine: every request is a plan of experts run by run_experts — a plain
// request is a one-expert plan (bit-identical to that model's own sampling loop), PanGu-Draw's
// time-decoupled structure -> texture sampling is a two-expert plan, Coop-Diffusion any number.
// The schedule's steps are cut into stages: a new
// stage starts where the host (the first expert active at that step) moves to another latent
// space or size. Inside a stage the sampler sees one fused Denoiser; between stages the latent
// is handed over through pixels (x̂0 → decode → resize → encode → re-noise with fresh noise,
// the paper's IID-preserving resolution bridging), or, for comparison only, by resizing the
// noisy latent. Time-decoupled structure → texture sampling is the two-expert case.
#pragma once

#include <functional>
#include <vector>

#include "coop/edit_run.h"
#include "coop/expert.h"
#include "pipeline/txt2img.h"

namespace pangu_draw::coop {

struct Stage {
  int first = 0, last = 0;  // steps [first, last)
  size_t host = 0;          // index of the host expert
};

// Cuts the sampler's steps [first_step, steps) into stages (Error{Usage} if a step has no active
// expert); an img2img run starts at a later step than 0.
std::vector<Stage> plan_stages(const std::vector<Expert>& experts, const schedulers::Sampler& sampler,
                               int first_step = 0);

struct CoopSettings {
  std::string sampler = "euler";
  schedulers::SamplerOptions options;  // steps, karras, eta, on_step (seed/generator: the run's)
  int64_t seed = 0;
  // Optional initial noise at the first stage's latent size (diffusers' `latents=`: nothing is
  // drawn for it, so ancestral steps start the seed's stream at its beginning).
  torch::Tensor init_noise;
  bool naive_latent_resize = false;    // hand over by resizing z_t (comparison only)
  int64_t vae_tile = -1;               // final decode: vae::decode_tiled setting
  // Imagen's dynamic thresholding of every step's fused x̂0 (0 = off); see
  // pipeline::with_dynamic_threshold. Part of the plan, so every run kind gets it.
  double dynamic_threshold = 0.0;
  double dynamic_threshold_max = 1.0;
  double dynamic_threshold_range = 0.0;  // its data range R; 0: 1 in pixel space, else
                                         // guidance::kLatentDataRange (per host expert)
  // Image editing (img2img / inpainting, coop/edit_run.h); inactive: text-to-image.
  EditSettings edit;
};

// The hand-over between stages at step i: the outgoing host expert's own clean estimate x̂0 at
// step i (its guided prediction in its own space), moved into the incoming host's space and
// size, re-noised to step i with fresh noise (seeded from settings.seed and i); or the resized
// noisy latent when settings.naive_latent_resize.
torch::Tensor hand_over(const torch::Tensor& x_vp, const Expert& from, const Expert& to,
                        const schedulers::Sampler& sampler, int i, const CoopSettings& settings);

// Error{Usage} unless every expert shares the run's noise schedule (ᾱ_t for every train
// timestep): the fused ε and the hand-over re-noising assume one.
void check_shared_schedule(const std::vector<Expert>& experts,
                           const schedulers::NoiseScheduleConfig& run_schedule);

// The fresh noise hand_over adds at step i.
torch::Tensor hand_over_noise(const std::vector<int64_t>& shape, int64_t seed, int i);

// Runs the plan; the final latent lives in the last stage's host space and is decoded by its VAE.
pipeline::Generated run_experts(const std::vector<Expert>& experts, const CoopSettings& settings);

}  // namespace pangu_draw::coop
