// tiled_decode.cpp: overlapping-tile VAE decoding with linear blending (see tiled_decode.h).
#include "vae/tiled_decode.h"

#include <vector>

#include "core/error.h"
#include "core/memory.h"

namespace pangu_draw::vae {

namespace {

// Tiles along one axis of `size` cells: the fewest tiles of at most `max_tile` cells that
// overlap by at least `overlap`, all of one length, spread evenly.
struct AxisTiles {
  int64_t tile = 0;
  std::vector<int64_t> starts;
};

AxisTiles axis_tiles(int64_t size, int64_t max_tile, int64_t overlap) {
  if (size <= max_tile) return {size, {0}};
  const int64_t stride = max_tile - overlap;
  const int64_t n = (size - overlap + stride - 1) / stride;      // ceil((size - overlap) / stride)
  AxisTiles a;
  a.tile = (size + (n - 1) * overlap + n - 1) / n;               // <= max_tile
  for (int64_t k = 0; k < n; ++k) a.starts.push_back(k * (size - a.tile) / (n - 1));
  return a;
}

// Blend weights along one axis of a piece of `n` pixels: (i + 0.5) / before over the first
// `before` pixels and its mirror over the last `after` (the overlaps with its neighbours; 0 =
// none), 1 elsewhere. Two neighbours' ramps over their common pixels sum to 1.
torch::Tensor axis_weights(int64_t n, int64_t before, int64_t after, const torch::Device& device) {
  auto w = torch::ones({n}, torch::TensorOptions().dtype(torch::kFloat).device(device));
  const auto ramp = [&](int64_t len) {
    return (torch::arange(len, w.options()) + 0.5) / static_cast<double>(len);
  };
  if (before > 0) w.slice(0, 0, before).mul_(ramp(before));
  if (after > 0) w.slice(0, n - after, n).mul_(ramp(after).flip(0));
  return w;
}

// Pixels shared by tile k and its previous / next neighbour along one axis.
int64_t shared_before(const AxisTiles& a, size_t k, int64_t f) {
  return k == 0 ? 0 : (a.starts[k - 1] + a.tile - a.starts[k]) * f;
}
int64_t shared_after(const AxisTiles& a, size_t k, int64_t f) {
  return k + 1 == a.starts.size() ? 0 : (a.starts[k] + a.tile - a.starts[k + 1]) * f;
}

}  // namespace

TileOptions resolve_tiling(int64_t setting, int64_t latent_h, int64_t latent_w, bool& tiled) {
  TileOptions o;
  if (setting > 0) {
    o.tile = setting;
    o.overlap = setting / 4;
  }
  tiled = setting != 0 && (latent_h > o.tile || latent_w > o.tile);
  return o;
}

torch::Tensor tiled_apply(const torch::Tensor& z, int64_t f, const TileOptions& options,
                          const std::function<torch::Tensor(const torch::Tensor&)>& decode) {
  PD_CHECK(options.overlap >= 0 && options.tile > 2 * options.overlap, Input,
           "VAE tiling: the tile (" << options.tile << " latent cells) must be larger than twice "
               << "the overlap (" << options.overlap << "); use a larger tile");
  PD_CHECK(z.dim() == 4, Input, "VAE tiling: the latent must be [B, C, h, w]");
  const int64_t h = z.size(2), w = z.size(3);
  const auto rows = axis_tiles(h, options.tile, options.overlap);
  const auto cols = axis_tiles(w, options.tile, options.overlap);
  const int64_t th = rows.tile, tw = cols.tile;
  torch::Tensor out, weight_sum;
  auto dtype = z.scalar_type();
  for (size_t i = 0; i < rows.starts.size(); ++i) {
    for (size_t j = 0; j < cols.starts.size(); ++j) {
      const int64_t y0 = rows.starts[i], x0 = cols.starts[j];
      auto piece = decode(z.slice(2, y0, y0 + th).slice(3, x0, x0 + tw));
      if (!out.defined()) {
        dtype = piece.scalar_type();
        out = torch::zeros({piece.size(0), piece.size(1), h * f, w * f}, piece.options().dtype(torch::kFloat));
        weight_sum = torch::zeros({1, 1, h * f, w * f}, piece.options().dtype(torch::kFloat));
      }
      auto wy = axis_weights(th * f, shared_before(rows, i, f), shared_after(rows, i, f), piece.device());
      auto wx = axis_weights(tw * f, shared_before(cols, j, f), shared_after(cols, j, f), piece.device());
      auto wt = (wy.unsqueeze(1) * wx.unsqueeze(0)).view({1, 1, th * f, tw * f});
      const int64_t y = y0 * f, x = x0 * f;
      out.slice(2, y, y + th * f).slice(3, x, x + tw * f).add_(piece.to(torch::kFloat) * wt);
      weight_sum.slice(2, y, y + th * f).slice(3, x, x + tw * f).add_(wt);
    }
  }
  return out.div_(weight_sum).to(dtype);
}

torch::Tensor decode_tiled(AutoencoderKL& vae, const torch::Tensor& z, int64_t setting) {
  // The final decode's full-resolution levels set a run's peak memory: hand the sampler's freed
  // heap back first (once per image, not per tile nor per Coop-Diffusion bridging step).
  core::release_free_memory();
  if (z.dim() != 4) return vae->decode(z);  // its own error names the shape
  bool tiled = false;
  const TileOptions o = resolve_tiling(setting, z.size(2), z.size(3), tiled);
  if (!tiled) return vae->decode(z);
  return tiled_apply(z, vae->downscale(), o,
                     [&vae](const torch::Tensor& t) { return vae->decode(t); });
}

}  // namespace pangu_draw::vae
