// txt2img.h: the pieces of a text-to-image run around the sampler loop: seeded initial noise and
// the final decode. The loop itself is coop::run_experts (every request is a plan of experts,
// a plain request a plan of one); the model bundle stays untouched, so runs may proceed
// concurrently.
#pragma once

#include <string>
#include <vector>

#include "pipeline/denoiser.h"

namespace pangu_draw::pipeline {

struct Generated {
  torch::Tensor latent;  // [1, C, h, w] final latent in diffusion space (before 1/scaling)
  torch::Tensor image;   // [1, 3, H, W] decoded, in [-1, 1] (unclamped), float32 on the CPU
};

// The standard-normal noise for a seed (CPU generator, reproducible on every device).
torch::Tensor seeded_noise(const std::vector<int64_t>& shape, int64_t seed);

// Decodes a diffusion-space latent (tiled per `vae_tile`, see vae::decode_tiled);
// Error{Runtime} when the result is not finite.
torch::Tensor decode_latent(const ModelBundle& model, const torch::Tensor& latent,
                            int64_t vae_tile = -1);

}  // namespace pangu_draw::pipeline
