// tiled_decode.h: VAE decoding in overlapping latent tiles, blended in image space, so that a
// large image never holds the decoder's full-resolution activations at once (SDXL 1024^2: the
// last levels' [1, 256, 1024, 1024] tensors). Like diffusers' enable_vae_tiling, the result is
// close to, not equal to, an untiled decode: the mid-block attention and the group norms see
// one tile at a time. A latent that fits in one tile is decoded exactly as without tiling.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>

#include "vae/autoencoder_kl.h"

namespace pangu_draw::vae {

struct TileOptions {
  int64_t tile = 64;     // largest tile edge in latent cells (64 = 512 px for an 8x VAE)
  int64_t overlap = 16;  // cells shared by neighbouring tiles, blended linearly (< tile / 2)
};

// tile setting of a request: 0 = never tile, > 0 = tiles of that many latent cells, -1 = auto:
// tiles of 64 cells once the latent is larger than 64 x 64 (images above 512^2 for 8x VAEs).
TileOptions resolve_tiling(int64_t setting, int64_t latent_h, int64_t latent_w, bool& tiled);

// Applies `decode` ([B, C, th, tw] -> [B, C', th * f, tw * f]) to overlapping tiles of `z` (per
// axis the fewest tiles of at most options.tile cells overlapping by at least options.overlap,
// of equal length and evenly spread: a 128-cell latent takes 3 x 3 tiles of 54) and blends the pieces with weights that ramp linearly across each overlap (weight 1 elsewhere,
// including the image border). For a decode that acts locally (per cell) the result equals
// decode(z); Error{Input} for tile <= 2 * overlap or overlap < 0.
torch::Tensor tiled_apply(const torch::Tensor& z, int64_t f, const TileOptions& options,
                          const std::function<torch::Tensor(const torch::Tensor&)>& decode);

// vae->decode(z) (raw latent), tiled per `setting` (see resolve_tiling).
torch::Tensor decode_tiled(AutoencoderKL& vae, const torch::Tensor& z, int64_t setting);

}  // namespace pangu_draw::vae
