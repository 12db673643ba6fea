// txt2img.h: the text-to-image run: prompts -> conditioning -> initial noise -> sampler loop
// over a Denoiser -> final latent -> VAE decode. Owns the run state (RNG, latents); the model
// bundle stays untouched, so runs may proceed concurrently.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "pipeline/denoiser.h"

namespace pangu_draw::pipeline {

struct TextToImage {
  std::string prompt, negative_prompt;
  int64_t width = 0, height = 0;       // 0: the model's native size
  int steps = 30;
  std::string sampler = "euler";
  bool karras = false;
  double eta = 0.0;
  guidance::GuidanceScales guidance;
  std::vector<std::string> style_prompts;  // one per guidance.styles entry
  int64_t seed = 0;
  torch::Tensor init_noise;            // optional [1, C, h, w] standard normal; else from seed
  std::vector<ControlInput> controls;
  double dynamic_threshold = 0.0;      // percentile for Imagen's dynamic thresholding; 0 = off
  double dynamic_threshold_max = 1.0;
  std::function<void(int step, int steps)> on_step;
  int64_t vae_tile = -1;               // vae::decode_tiled setting: -1 auto, 0 off, N cells
};

struct Generated {
  torch::Tensor latent;  // [1, C, h, w] final latent in diffusion space (before 1/scaling)
  torch::Tensor image;   // [1, 3, H, W] decoded, in [-1, 1] (unclamped)
};

// The standard-normal initial noise for a seed (CPU generator, reproducible across runs).
torch::Tensor seeded_noise(const std::vector<int64_t>& shape, int64_t seed);

// Decodes a diffusion-space latent (tiled per `vae_tile`, see vae::decode_tiled);
// Error{Runtime} when the result is not finite.
torch::Tensor decode_latent(const ModelBundle& model, const torch::Tensor& latent,
                            int64_t vae_tile = -1);

Generated run_txt2img(std::shared_ptr<const ModelBundle> model, const TextToImage& request);

}  // namespace pangu_draw::pipeline
