// test_vae_upcast.cpp: the float16 VAE decode guard (diffusers' force_upcast / upcast_vae): a
// config with force_upcast decodes in float32, a float16 decode that overflows is redone in
// float32, and an image that is still not finite is an Error{Runtime}. The references are
// float32 decodes of the same (float16-rounded) weights, as diffusers' upcast decode computes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <limits>

#include "core/error.h"
#include "io/json_config.h"
#include "io/model_layout.h"
#include "io/safetensors.h"
#include "io/state_dict.h"
#include "support/fixtures.h"
#include "vae/autoencoder_kl.h"
#include "vae/tiled_decode.h"

namespace fs = std::filesystem;
using pangu_draw::Error;
using pangu_draw::ErrorKind;
using pangu_draw::io::JsonConfig;
using pangu_draw::vae::AutoencoderKL;
namespace fx = pangu_draw::testing;
namespace io = pangu_draw::io;

namespace {

constexpr double kHalfMax = 65504.0;

std::string first_vae_dir() {
  for (const auto& set : fx::fixture_sets()) {
    const std::string dir = fx::model_dir(set) + "/vae";
    if (fs::exists(dir + "/config.json")) return dir;
  }
  return "";
}

// The fixture VAE loaded in `dtype` with force_upcast set to `force_upcast` in its config.
AutoencoderKL load(torch::ScalarType dtype, bool force_upcast) {
  const std::string dir = first_vae_dir();
  auto json = fx::read_json(dir + "/config.json");
  json["force_upcast"] = force_upcast;
  const io::WeightSource weights(io::SafetensorsFile::open(io::find_weights_file(dir)));
  return pangu_draw::vae::load_vae(JsonConfig(json, dir + "/config.json"), weights, dtype);
}

// Rounds every weight to float16 and back, so a float32 VAE holds a float16 VAE's values.
void round_to_half(AutoencoderKL& vae) {
  torch::NoGradGuard no_grad;
  for (auto& p : vae->parameters()) p.copy_(p.to(torch::kHalf).to(p.scalar_type()));
}

// Scales the decoder's conv_in so that its outputs exceed float16's range while its weights
// stay inside it; the group norms after it bring a float32 decode back to image values.
void scale_conv_in(AutoencoderKL& vae, double factor) {
  torch::NoGradGuard no_grad;
  for (auto* t : {&vae->decoder->conv_in->weight, &vae->decoder->conv_in->bias}) {
    t->copy_(t->to(torch::kFloat) * factor);  // in float32: the factor itself exceeds float16
  }
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

bool all_finite(const torch::Tensor& t) { return torch::isfinite(t).all().item<bool>(); }

torch::Tensor test_latent() {
  torch::manual_seed(17);
  return torch::randn({1, 4, 6, 5});
}

}  // namespace

TEST(VAEUpcast, ConfigFieldDefaultsToTrueAsInDiffusers) {
  auto json = fx::read_json(first_vae_dir() + "/config.json");
  json.erase("force_upcast");
  EXPECT_TRUE(pangu_draw::vae::VAEConfig::from_json(JsonConfig(json, "vae")).force_upcast);
  json["force_upcast"] = false;
  EXPECT_FALSE(pangu_draw::vae::VAEConfig::from_json(JsonConfig(json, "vae")).force_upcast);
}

TEST(VAEUpcast, ForceUpcastLoadsFloat16AsFloat32AndDecodesLikeIt) {
  torch::InferenceMode guard;
  AutoencoderKL upcast = load(torch::kHalf, true);
  AutoencoderKL plain = load(torch::kHalf, false);
  EXPECT_EQ(upcast->dtype(), torch::kFloat);  // CPU: float32 (bf16 only on a CUDA GPU)
  EXPECT_EQ(plain->dtype(), torch::kHalf);
  AutoencoderKL reference = load(torch::kFloat, true);
  round_to_half(reference);
  round_to_half(upcast);  // the file's float32 weights, as a float16 checkpoint holds them
  const auto z = test_latent().to(torch::kHalf);  // the sampler's latent in compute dtype
  const auto image = upcast->decode(z);
  EXPECT_EQ(image.scalar_type(), torch::kFloat);
  PD_EXPECT_CLOSE(image, reference->decode(z.to(torch::kFloat)), 1e-5, "force_upcast decode");
  // encode runs in float32 too and answers in the image's dtype.
  const auto x = image.clamp(-1, 1).to(torch::kHalf);
  const auto mean = upcast->encode(x).mean;
  EXPECT_EQ(mean.scalar_type(), torch::kHalf);
  PD_EXPECT_CLOSE(mean.to(torch::kFloat), reference->encode(x.to(torch::kFloat)).mean, 1e-3,
                  "force_upcast encode (float16 output rounding)");
}

// A float16 module built directly (not by load_vae) whose config says force_upcast decodes with
// a float32 copy of its decoder.
TEST(VAEUpcast, ForceUpcastOnAFloat16ModuleDecodesInFloat32) {
  torch::InferenceMode guard;
  const std::string dir = first_vae_dir();
  const auto config = pangu_draw::vae::VAEConfig::from_json(JsonConfig::load(dir + "/config.json"));
  ASSERT_TRUE(config.force_upcast);  // every fixture VAE config sets it
  AutoencoderKL half(config, pangu_draw::nn::ParamOptions{torch::kHalf});
  const io::WeightSource weights(io::SafetensorsFile::open(io::find_weights_file(dir)));
  io::load_into(*half, weights, "vae", torch::kHalf);
  AutoencoderKL reference = load(torch::kFloat, true);
  round_to_half(reference);
  const auto z = test_latent();
  const auto image = half->decode(z);
  EXPECT_EQ(image.scalar_type(), torch::kFloat);
  PD_EXPECT_CLOSE(image, reference->decode(z), 1e-5, "upcast copy decode");
}

TEST(VAEUpcast, OverflowingFloat16DecodeIsRedoneInFloat32) {
  torch::InferenceMode guard;
  AutoencoderKL half = load(torch::kHalf, false);  // e.g. an fp16-fix VAE: no force_upcast
  AutoencoderKL reference = load(torch::kFloat, false);
  round_to_half(reference);
  const auto& conv_in = reference->decoder->conv_in;
  const double factor = 0.5 * kHalfMax / std::max(max_abs(conv_in->weight), max_abs(conv_in->bias));
  scale_conv_in(half, factor);
  scale_conv_in(reference, factor);
  round_to_half(reference);  // the scaled weights as float16 holds them
  ASSERT_TRUE(all_finite(half->decoder->conv_in->weight) && all_finite(half->decoder->conv_in->bias));
  const auto z = test_latent();
  // Preconditions: conv_in's float32 output leaves float16's range, and the unguarded float16
  // decoder (what decode did before the guard) gives a non-finite image.
  const auto post = reference->post_quant_conv->forward(z);
  ASSERT_GT(max_abs(reference->decoder->conv_in->forward(post)), 2 * kHalfMax);
  const auto z16 = z.to(torch::kHalf);
  const auto unguarded = half->decoder->forward(half->post_quant_conv->forward(z16));
  EXPECT_FALSE(all_finite(unguarded));
  const auto expected = reference->decode(z16.to(torch::kFloat));  // the same latent values
  ASSERT_TRUE(all_finite(expected));
  const auto image = half->decode(z16);
  EXPECT_EQ(image.scalar_type(), torch::kFloat);
  PD_EXPECT_CLOSE(image, expected, 1e-5, "guarded float16 decode");
  // The tiled decode guards each tile the same way.
  PD_EXPECT_CLOSE(pangu_draw::vae::decode_tiled(half, z16, 4),
                  pangu_draw::vae::decode_tiled(reference, z16.to(torch::kFloat), 4), 1e-5, "tiled guarded decode");
}

TEST(VAEUpcast, NonFiniteImageAfterTheFallbackIsARuntimeError) {
  torch::InferenceMode guard;
  for (bool force_upcast : {false, true}) {
    AutoencoderKL vae = load(torch::kHalf, force_upcast);
    auto z = torch::zeros({1, 4, 2, 2});
    z[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
    try {
      vae->decode(z);
      ADD_FAILURE() << "no error for a NaN latent";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind, ErrorKind::Runtime);
      EXPECT_NE(std::string(e.what()).find("NaN/Inf"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("Float"), std::string::npos) << e.what();
    }
  }
}
