// Tests for the VAE: decode and encode against the diffusers references of every fixture set,
// seeded posterior sampling, latent scaling, free image sizes, config and input errors.
#include <gtest/gtest.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <limits>
#include <set>

#include "core/error.h"
#include "io/model_layout.h"
#include "nn/init.h"
#include "support/fixtures.h"
#include "vae/autoencoder_kl.h"

namespace fs = std::filesystem;
using pangu_draw::Error;
using pangu_draw::ErrorKind;
using pangu_draw::io::JsonConfig;
using pangu_draw::vae::AutoencoderKL;
using pangu_draw::vae::load_vae;
using pangu_draw::vae::VAEConfig;
namespace fx = pangu_draw::testing;

namespace {

std::vector<std::string> sets_with_vae() {
  std::vector<std::string> out;
  for (const auto& set : fx::fixture_sets()) {
    if (fs::exists(fx::model_dir(set) + "/vae/config.json")) out.push_back(set);
  }
  return out;
}

std::string vae_dir(const std::string& set) { return fx::model_dir(set) + "/vae"; }

nlohmann::json vae_json(const std::string& set) { return fx::read_json(vae_dir(set) + "/config.json"); }

at::Generator seeded(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

// Runs `fn` and returns the message of the Error{kind} it throws (fails when none is thrown).
template <typename Fn>
std::string error_of(Fn fn, ErrorKind kind) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind, kind) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no Error thrown";
  return "";
}

std::string config_error(nlohmann::json json) {
  return error_of([&] { VAEConfig::from_json(JsonConfig(json, "vae/config.json")); }, ErrorKind::Input);
}

}  // namespace

TEST(VAE, DecodeAndEncodeMatchTheReferences) {
  torch::InferenceMode guard;
  int checked = 0;
  double worst = 0.0;
  auto rel = [](const torch::Tensor& a, const torch::Tensor& e) {
    return ((a - e).abs().max() / e.abs().max()).item<double>();
  };
  for (const auto& set : sets_with_vae()) {
    const fx::Reference ref(set);
    if (!ref.has("vae.latent")) continue;
    AutoencoderKL vae = load_vae(vae_dir(set));
    const auto decoded = vae->decode(ref.get("vae.latent").unsqueeze(0));  // [1, 3, H, W]
    PD_EXPECT_CLOSE(decoded[0], ref.get("vae.decoded"), 1e-4, set + " vae.decoded");
    const auto posterior = vae->encode(ref.get("vae.image").unsqueeze(0));
    PD_EXPECT_CLOSE(posterior.mean[0], ref.get("vae.encoded_mean"), 1e-4, set + " vae.encoded_mean");
    worst = std::max({worst, rel(decoded[0], ref.get("vae.decoded")),
                      rel(posterior.mean[0], ref.get("vae.encoded_mean"))});
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no VAE reference found under " << fx::fixtures_root();
  std::cout << "[   INFO   ] " << checked << " VAEs, worst max|a-e|/max|e| = " << worst << "\n";
}

TEST(VAE, ParametersAreTheCheckpointKeys) {
  for (const auto& set : sets_with_vae()) {
    const auto file = pangu_draw::io::SafetensorsFile::open(pangu_draw::io::find_weights_file(vae_dir(set)));
    const pangu_draw::io::WeightSource source(file);
    const auto names = source.names();
    const std::set<std::string> expected(names.begin(), names.end());
    AutoencoderKL vae(VAEConfig::from_json(JsonConfig::load(vae_dir(set) + "/config.json")));
    std::set<std::string> actual;
    for (const auto& item : vae->named_parameters(true)) actual.insert(item.key());
    for (const auto& item : vae->named_buffers(true)) actual.insert(item.key());
    EXPECT_EQ(actual, expected) << set;
  }
}

TEST(VAE, OptionalLayersFollowTheConfig) {
  auto json = vae_json(sets_with_vae().front());
  json["use_quant_conv"] = false;
  json["use_post_quant_conv"] = false;
  json["mid_block_add_attention"] = false;
  AutoencoderKL vae(VAEConfig::from_json(JsonConfig(json, "vae/config.json")));
  pangu_draw::nn::init_parameters(*vae, 0);  // built uninitialised; the decode checks for NaN
  for (const auto& item : vae->named_parameters(true)) {
    EXPECT_EQ(item.key().find("quant_conv"), std::string::npos) << item.key();
    EXPECT_EQ(item.key().find("attentions"), std::string::npos) << item.key();
  }
  torch::InferenceMode guard;
  EXPECT_EQ(vae->decode(torch::zeros({1, 4, 3, 2})).sizes(), torch::IntArrayRef({1, 3, 24, 16}));
}

TEST(VAE, SamplingIsSeededAndFollowsThePosterior) {
  torch::InferenceMode guard;
  const auto set = sets_with_vae().front();
  AutoencoderKL vae = load_vae(vae_dir(set));
  const auto image = torch::rand({1, 3, 32, 24}, seeded(1)) * 2 - 1;
  const auto posterior = vae->encode(image);
  const auto a = posterior.sample(seeded(42));
  const auto b = posterior.sample(seeded(42));
  const auto c = posterior.sample(seeded(43));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_GT((a - c).abs().max().item<double>(), 1e-3);
  const auto noise = torch::randn(posterior.mean.sizes(), seeded(42));
  PD_EXPECT_CLOSE(a, posterior.mean + torch::exp(0.5 * posterior.logvar) * noise, 1e-6, "sample");
  EXPECT_LE(posterior.logvar.max().item<double>(), 20.0);
  EXPECT_GE(posterior.logvar.min().item<double>(), -30.0);
}

TEST(VAE, LatentScalingUsesTheConfigAndInverts) {
  torch::InferenceMode guard;
  for (const auto& set : sets_with_vae()) {
    auto json = vae_json(set);
    for (const double shift : {0.0, 0.1159}) {
      json["shift_factor"] = shift;
      AutoencoderKL vae(VAEConfig::from_json(JsonConfig(json, "vae/config.json")));
      const double scale = json["scaling_factor"].get<double>();
      EXPECT_DOUBLE_EQ(vae->config().scaling_factor, scale);
      const auto z = torch::randn({2, 4, 3, 5}, seeded(7));
      PD_EXPECT_CLOSE(vae->to_latent(z), (z - shift) * scale, 1e-6, set + " to_latent");
      PD_EXPECT_CLOSE(vae->from_latent(vae->to_latent(z)), z, 1e-6, set + " round trip");
    }
  }
  auto json = vae_json(sets_with_vae().front());
  json["shift_factor"] = nullptr;  // diffusers writes null for "no shift"
  EXPECT_EQ(VAEConfig::from_json(JsonConfig(json, "vae/config.json")).shift_factor, 0.0);
}

TEST(VAE, NonSquareNonNativeSizesHaveTheRightShapes) {
  torch::InferenceMode guard;
  AutoencoderKL vae = load_vae(vae_dir(sets_with_vae().front()));
  const int64_t f = vae->downscale();
  EXPECT_EQ(f, int64_t{1} << (vae->config().block_out_channels.size() - 1));
  const auto image = torch::rand({2, 3, 6 * f, 10 * f}, seeded(3)) * 2 - 1;
  const auto posterior = vae->encode(image);
  EXPECT_EQ(posterior.mean.sizes(), torch::IntArrayRef({2, 4, 6, 10}));
  EXPECT_EQ(posterior.logvar.sizes(), torch::IntArrayRef({2, 4, 6, 10}));
  const auto decoded = vae->decode(torch::randn({1, 4, 5, 7}, seeded(4)));
  EXPECT_EQ(decoded.sizes(), torch::IntArrayRef({1, 3, 5 * f, 7 * f}));
}

TEST(VAE, WrongInputShapesAreInputErrors) {
  torch::InferenceMode guard;
  AutoencoderKL vae = load_vae(vae_dir(sets_with_vae().front()));
  const int64_t f = vae->downscale();
  auto msg = error_of([&] { vae->encode(torch::zeros({1, 3, 4 * f + 1, 4 * f})); }, ErrorKind::Input);
  EXPECT_NE(msg.find("multiples of " + std::to_string(f)), std::string::npos) << msg;
  error_of([&] { vae->encode(torch::zeros({1, 4, 4 * f, 4 * f})); }, ErrorKind::Input);
  msg = error_of([&] { vae->decode(torch::zeros({1, 3, 4, 4})); }, ErrorKind::Input);
  EXPECT_NE(msg.find("[1, 3, 4, 4]"), std::string::npos) << msg;
  error_of([&] { vae->decode(torch::zeros({4, 4, 4})); }, ErrorKind::Input);
}

TEST(VAE, NonFiniteDecodeIsARuntimeError) {
  torch::InferenceMode guard;
  AutoencoderKL vae = load_vae(vae_dir(sets_with_vae().front()));
  auto z = torch::zeros({1, 4, 2, 2});
  z[0][0][0][0] = std::numeric_limits<float>::quiet_NaN();
  error_of([&] { vae->decode(z); }, ErrorKind::Runtime);
}

TEST(VAE, BadConfigsNameTheField) {
  const auto base = vae_json(sets_with_vae().front());
  auto json = base;
  json["block_out_channels"] = "wide";
  EXPECT_NE(config_error(json).find("'block_out_channels'"), std::string::npos);
  json = base;
  json["layers_per_block"] = 1.5;
  EXPECT_NE(config_error(json).find("'layers_per_block'"), std::string::npos);
  json = base;
  json["down_block_types"][1] = "AttnDownEncoderBlock2D";
  auto msg = config_error(json);
  EXPECT_NE(msg.find("'down_block_types'[1]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("AttnDownEncoderBlock2D"), std::string::npos) << msg;
  json = base;
  json["up_block_types"].erase(0);
  EXPECT_NE(config_error(json).find("'up_block_types'"), std::string::npos);
  json = base;
  json["act_fn"] = "relu";
  EXPECT_NE(config_error(json).find("'act_fn'"), std::string::npos);
  json = base;
  json["norm_num_groups"] = 7;
  EXPECT_NE(config_error(json).find("'norm_num_groups'"), std::string::npos);
  json = base;
  json["scaling_factor"] = "big";
  EXPECT_NE(config_error(json).find("'scaling_factor'"), std::string::npos);
}

TEST(VAE, WeightsOfAnotherShapeAreReported) {
  auto json = vae_json(sets_with_vae().front());
  json["latent_channels"] = 8;
  const auto file = pangu_draw::io::SafetensorsFile::open(
      pangu_draw::io::find_weights_file(vae_dir(sets_with_vae().front())));
  auto msg = error_of([&] { load_vae(JsonConfig(json, "vae/config.json"), pangu_draw::io::WeightSource(file)); },
                      ErrorKind::Input);
  EXPECT_NE(msg.find("quant_conv.weight is ["), std::string::npos) << msg;
}

TEST(VAE, SingleFileCheckpointsGiveTheFolderResult) {
  torch::InferenceMode guard;
  int checked = 0;
  for (const auto& set : sets_with_vae()) {
    const std::string single = fx::fixtures_root() + "/" + set + "/model_single_file.safetensors";
    if (!fs::exists(single)) continue;
    const auto layout = pangu_draw::io::ModelLayout::open(single, fx::model_dir(set));
    AutoencoderKL from_file = load_vae(layout.config("vae"), layout.weights("vae"));
    AutoencoderKL from_folder = load_vae(vae_dir(set));
    const auto z = torch::randn({1, 4, 3, 4}, seeded(5));
    PD_EXPECT_CLOSE(from_file->decode(z), from_folder->decode(z), 0.0, set + " single-file VAE decode");
    ++checked;
  }
  if (checked == 0) GTEST_SKIP() << "no single-file checkpoint among the fixtures";
}

// load_vae stores the conv weights channels-last (faster oneDNN kernels); the decode and encode
// values are those of the plain NCHW module.
TEST(VAE, ChannelsLastWeightsGiveTheNchwResults) {
  torch::InferenceMode guard;
  AutoencoderKL loaded = load_vae(vae_dir(sets_with_vae().front()));
  ASSERT_TRUE(loaded->channels_last());
  AutoencoderKL plain(loaded->config());
  plain->eval();
  torch::NoGradGuard no_grad;
  const auto src = loaded->named_parameters();
  for (auto& p : plain->named_parameters()) p.value().copy_(src[p.key()].contiguous());
  EXPECT_TRUE(loaded->decoder->conv_in->weight.is_contiguous(torch::MemoryFormat::ChannelsLast));
  EXPECT_TRUE(plain->decoder->conv_in->weight.is_contiguous());
  const auto z = torch::randn({1, 4, 6, 5}, seeded(11));
  const auto a = loaded->decode(z), b = plain->decode(z);
  EXPECT_TRUE(a.is_contiguous());
  EXPECT_TRUE(torch::allclose(a, b, 1e-4, 1e-5)) << (a - b).abs().max();
  const auto image = torch::rand({1, 3, 8 * loaded->downscale(), 4 * loaded->downscale()}, seeded(12)) * 2 - 1;
  EXPECT_TRUE(torch::allclose(loaded->encode(image).mean, plain->encode(image).mean, 1e-4, 1e-5));
}
