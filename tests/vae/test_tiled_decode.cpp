// Tests for tiled VAE decoding: the tile plan and blending are exact for a decode that acts per
// latent cell, a latent that fits one tile decodes exactly as untiled, and on the trained VAE of
// models/tiny a tiled decode stays close to the untiled one.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "io/png.h"
#include "support/fixtures.h"
#include "vae/autoencoder_kl.h"
#include "vae/tiled_decode.h"

using pangu_draw::vae::AutoencoderKL;
using pangu_draw::vae::decode_tiled;
using pangu_draw::vae::load_vae;
using pangu_draw::vae::resolve_tiling;
using pangu_draw::vae::tiled_apply;
using pangu_draw::vae::TileOptions;
namespace fx = pangu_draw::testing;

namespace {

at::Generator seeded(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// A "decoder" that acts on each latent cell alone: f x f nearest upsampling of tanh(sum_c z).
torch::Tensor local_decode(const torch::Tensor& z, int64_t f) {
  auto v = torch::tanh(z.sum(1, true)).repeat({1, 3, 1, 1});
  return v.repeat_interleave(f, 2).repeat_interleave(f, 3);
}

}  // namespace

TEST(TiledDecode, ALocalDecodeIsReproducedExactlyWithIrregularTiles) {
  const auto z = torch::randn({2, 4, 37, 53}, seeded(1));
  const int64_t f = 4;
  int64_t calls = 0, max_h = 0, max_w = 0;
  const auto tiled = tiled_apply(z, f, TileOptions{16, 4}, [&](const torch::Tensor& t) {
    ++calls;
    max_h = std::max(max_h, t.size(2));
    max_w = std::max(max_w, t.size(3));
    return local_decode(t, f);
  });
  EXPECT_EQ(calls, 3 * 5);  // rows: 3 tiles of 15 at 0, 11, 22; columns: 5 of 14 at 0, 9, 19, 29, 39
  EXPECT_EQ(max_h, 15);
  EXPECT_EQ(max_w, 14);
  const auto whole = local_decode(z, f);
  ASSERT_EQ(tiled.sizes(), whole.sizes());
  EXPECT_LT((tiled - whole).abs().max().item<double>(), 1e-6);
}

TEST(TiledDecode, NeighbouringTilesAreBlendedWithALinearRamp) {
  // Each tile decodes to a constant (its call index): across their overlap of `ramp` pixels
  // the output must move from one constant to the next linearly, with no jump.
  const int64_t f = 2, overlap = 4, ramp = overlap * f;
  int64_t call = 0;
  const auto out = tiled_apply(torch::zeros({1, 1, 8, 28}), f, TileOptions{16, overlap},
                               [&](const torch::Tensor& t) {
                                 return torch::full({1, 1, t.size(2) * f, t.size(3) * f},
                                                    static_cast<float>(call++));
                               });
  ASSERT_EQ(call, 2);  // columns 0 and 12: an overlap of cells 12..15 (pixels 24..31)
  const auto row = out[0][0][0];
  EXPECT_EQ(row[23].item<float>(), 0.0f);
  EXPECT_EQ(row[32].item<float>(), 1.0f);
  const auto expected = (torch::arange(ramp, torch::kFloat) + 0.5) / ramp;
  EXPECT_TRUE(torch::allclose(row.slice(0, 24, 32), expected, 1e-5, 1e-6)) << row;
}

TEST(TiledDecode, AutoTilesOnlyLatentsLargerThan64Cells) {
  bool tiled = true;
  resolve_tiling(-1, 64, 64, tiled);
  EXPECT_FALSE(tiled);
  auto o = resolve_tiling(-1, 128, 128, tiled);
  EXPECT_TRUE(tiled);
  EXPECT_EQ(o.tile, 64);
  EXPECT_EQ(o.overlap, 16);
  resolve_tiling(0, 500, 500, tiled);
  EXPECT_FALSE(tiled);
  o = resolve_tiling(8, 9, 8, tiled);
  EXPECT_TRUE(tiled);
  EXPECT_EQ(o.overlap, 2);
}

TEST(TiledDecode, OneTileIsTheUntiledDecodeAndBadTilesAreInputErrors) {
  torch::InferenceMode guard;
  AutoencoderKL vae = load_vae(fx::model_dir("sd1") + "/vae");
  const auto z = torch::randn({1, 4, 8, 8}, seeded(2));
  EXPECT_TRUE(torch::equal(decode_tiled(vae, z, -1), vae->decode(z)));
  EXPECT_TRUE(torch::equal(decode_tiled(vae, z, 8), vae->decode(z)));
  EXPECT_THROW(tiled_apply(z, 8, TileOptions{4, 2}, [](const torch::Tensor& t) { return t; }),
               pangu_draw::Error);
  const auto tiled = decode_tiled(vae, torch::randn({1, 4, 9, 20}, seeded(3)), 8);
  EXPECT_EQ(tiled.sizes(), torch::IntArrayRef({1, 3, 9 * vae->downscale(), 20 * vae->downscale()}));
  EXPECT_TRUE(torch::isfinite(tiled).all().item<bool>());
}

// The trained VAE of the embedded model (trained on 64 x 64 images, 16 x 16 latents), on a
// 2 x 2 mosaic of its sample pictures (128 x 128, latent 32 x 32), decoded in tiles of at most
// its native 16 cells (3 x 3 tiles of 14): the mosaic comes back nearly as faithfully as
// untiled. Measured mean |error|: untiled 0.086, tiled 0.121
// (tiles of at most 12 cells: 0.199; at most 20: 0.124). This small VAE's group norms and
// mid-block attention see a tile at a time, which costs more than for Stable Diffusion's VAE
// at its 64-cell (512 px) auto tiles.
TEST(TiledDecode, TheTrainedTinyVaeReconstructsNearlyAsWellTiled) {
  torch::InferenceMode guard;
  AutoencoderKL vae = load_vae(std::string(PD_TINY_MODEL) + "/vae");
  std::vector<torch::Tensor> pictures;
  for (const char* name : {"en_0", "en_1", "zh_0", "zh_1"}) {
    const auto img = pangu_draw::io::read_image(std::string(PD_TINY_MODEL) + "/samples/" + name + ".png");
    auto t = torch::tensor(std::vector<float>(img.rgb.begin(), img.rgb.end()))
                 .view({img.height, img.width, 3}).permute({2, 0, 1});
    pictures.push_back(t / 127.5 - 1);
  }
  const auto mosaic = torch::cat({torch::cat({pictures[0], pictures[1]}, 2),
                                  torch::cat({pictures[2], pictures[3]}, 2)}, 1).unsqueeze(0);
  const auto z = vae->encode(mosaic).mean;
  ASSERT_EQ(z.size(2), 32);
  const auto whole = vae->decode(z);
  const auto tiled = decode_tiled(vae, z, 16);
  const double untiled_error = (whole - mosaic).abs().mean().item<double>();
  const double tiled_error = (tiled - mosaic).abs().mean().item<double>();
  EXPECT_FALSE(torch::equal(tiled, whole));  // tiles really were used
  EXPECT_LT(tiled_error, 1.5 * untiled_error) << "untiled " << untiled_error;
  EXPECT_LT(tiled_error, 0.15);
}
