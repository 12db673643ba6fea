// test_unet.cpp: UNet2DConditionModel against the diffusers references of every fixture set,
// batching, non-native sizes, and the config/checkpoint error paths.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/model_layout.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "unet/unet_2d_condition.h"
#include "unet_inputs.h"

namespace pangu_draw::testing {
namespace {

std::string unet_dir(const std::string& set) { return model_dir(set) + "/unet"; }

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class UNetFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(UNetFixture, MatchesDiffusersForEveryTimestepAndPrompt) {
  const std::string set = GetParam();
  torch::InferenceMode guard;
  auto unet = unet::load_unet(unet_dir(set));
  const Reference ref(set);
  const auto c = cases(set);
  const auto x = ref.get("unet.input").unsqueeze(0);  // [1, 4, h, w]
  for (const auto& t : c["unet_timesteps"]) {
    for (const auto& p : c["unet_prompts"]) {
      const std::string key =
          "unet.t" + std::to_string(t.get<int>()) + ".prompt" + std::to_string(p.get<int>());
      auto out = unet->forward(x, timestep(t.get<double>()), reference_context(ref, p.get<int>()),
                               reference_extra(set, ref, p.get<int>(), unet->config()));
      auto expected = ref.get(key).unsqueeze(0);
      PD_EXPECT_CLOSE(out, expected, 1e-4, set + " " + key);
      std::printf("  %s %s: max|diff|/max|ref| = %.3g\n", set.c_str(), key.c_str(),
                  relative_max_diff(out, expected));
    }
  }
}

TEST_P(UNetFixture, BatchOfTwoGivesEachItemsResult) {
  const std::string set = GetParam();
  torch::InferenceMode guard;
  auto unet = unet::load_unet(unet_dir(set));
  const Reference ref(set);
  const auto c = cases(set);
  const int p0 = c["unet_prompts"][0], p1 = c["unet_prompts"].back();
  const double t0 = c["unet_timesteps"][0], t1 = c["unet_timesteps"].back();
  const auto x = ref.get("unet.input").unsqueeze(0).repeat({2, 1, 1, 1});
  auto e0 = reference_extra(set, ref, p0, unet->config());
  auto e1 = reference_extra(set, ref, p1, unet->config());
  unet::UNetExtra extra;
  if (e0.text_embeds.defined()) {
    extra.text_embeds = torch::cat({e0.text_embeds, e1.text_embeds});
    extra.time_ids = torch::cat({e0.time_ids, e1.time_ids});
  }
  auto ctx = torch::cat({reference_context(ref, p0), reference_context(ref, p1)});
  auto out = unet->forward(x, torch::tensor({float(t0), float(t1)}), ctx, extra);
  auto key = [](double t, int p) {
    return "unet.t" + std::to_string(int(t)) + ".prompt" + std::to_string(p);
  };
  PD_EXPECT_CLOSE(out[0], ref.get(key(t0, p0)), 1e-4, set + " batch item 0");
  PD_EXPECT_CLOSE(out[1], ref.get(key(t1, p1)), 1e-4, set + " batch item 1");
}

TEST_P(UNetFixture, RunsAtNonSquareNonNativeSizes) {
  const std::string set = GetParam();
  torch::InferenceMode guard;
  auto unet = unet::load_unet(unet_dir(set));
  const Reference ref(set);
  const auto& cfg = unet->config();
  const int p = cases(set)["unet_prompts"][0];
  const int64_t f = int64_t{1} << (cfg.block_out_channels.size() - 1);  // total downscale
  // A size divisible by the downscale, and an odd one that needs diffusers' upsample_size path.
  for (auto hw : {std::pair<int64_t, int64_t>{3 * f, 5 * f}, {2 * f + 1, 3 * f + 3}}) {
    auto x = torch::randn({1, cfg.in_channels, hw.first, hw.second});
    auto out = unet->forward(x, timestep(500), reference_context(ref, p),
                             reference_extra(set, ref, p, cfg));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{1, cfg.out_channels, hw.first, hw.second}));
    EXPECT_TRUE(torch::isfinite(out).all().item<bool>());
  }
}

// LoadOptions dtype "bf16": weights and compute in bfloat16, output close to the reference.
TEST_P(UNetFixture, BFloat16WeightsStayCloseToTheReference) {
  const std::string set = GetParam();
  torch::InferenceMode guard;
  auto unet = unet::load_unet(unet_dir(set), torch::kBFloat16);
  const Reference ref(set);
  const auto c = cases(set);
  const int p = c["unet_prompts"][0];
  const int t = c["unet_timesteps"][0];
  auto out = unet->forward(ref.get("unet.input").unsqueeze(0), timestep(t),
                           reference_context(ref, p), reference_extra(set, ref, p, unet->config()));
  EXPECT_EQ(out.scalar_type(), torch::kBFloat16);
  const std::string key = "unet.t" + std::to_string(t) + ".prompt" + std::to_string(p);
  PD_EXPECT_CLOSE(out.to(torch::kFloat), ref.get(key).unsqueeze(0), 5e-2, set + " bf16 " + key);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, UNetFixture, ::testing::ValuesIn(fixture_sets()));

nlohmann::json sd_config() { return read_json(unet_dir(fixture_sets().front()) + "/config.json"); }

TEST(UNetConfig, WrongFieldTypeNamesTheField) {
  auto j = sd_config();
  j["layers_per_block"] = "two";
  const auto msg =
      error_of([&] { unet::UNetConfig::from_json(io::JsonConfig(j, "unet/config.json")); });
  EXPECT_NE(msg.find("unet/config.json"), std::string::npos) << msg;
  EXPECT_NE(msg.find("layers_per_block"), std::string::npos) << msg;
}

TEST(UNetConfig, UnsupportedValuesNameFieldAndValue) {
  const std::vector<std::pair<std::string, nlohmann::json>> bad = {
      {"addition_embed_type", "image"},
      {"down_block_types", {"SimpleDownBlock2D"}},
      {"resnet_time_scale_shift", "scale_shift"},
      {"class_embed_type", "timestep"},
      {"mid_block_type", "UNetMidBlock2DSimpleCrossAttn"}};
  for (const auto& [field, value] : bad) {
    auto j = sd_config();
    j[field] = value;
    if (field == "down_block_types") {
      j[field] = j["up_block_types"];
      j[field][0] = "SimpleDownBlock2D";
    }
    std::string msg;
    try {
      unet::UNetConfig::from_json(io::JsonConfig(j, "unet/config.json"));
    } catch (const Error& e) {
      msg = e.what();
      EXPECT_EQ(e.kind, ErrorKind::Input);
    }
    EXPECT_NE(msg.find(field), std::string::npos) << field << ": " << msg;
    const std::string shown = value.is_string() ? value.get<std::string>() : "SimpleDownBlock2D";
    EXPECT_NE(msg.find(shown), std::string::npos) << field << ": " << msg;
  }
}

TEST(UNetConfig, AttentionHeadDimIsTheHeadCountWhenNumAttentionHeadsIsNull) {
  for (const auto& set : fixture_sets()) {
    const auto j = read_json(unet_dir(set) + "/config.json");
    const auto c = unet::UNetConfig::from_json(io::JsonConfig(j, set));
    const size_t n = c.block_out_channels.size();
    ASSERT_TRUE(j["num_attention_heads"].is_null());
    const auto& a = j["attention_head_dim"];
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(c.num_attention_heads[i], a.is_array() ? a[i].get<int64_t>() : a.get<int64_t>());
    }
  }
}

// named_parameters() equal the checkpoint keys exactly: nothing missing, nothing unused.
TEST(UNetLoad, ParameterNamesAreTheCheckpointKeys) {
  for (const auto& set : fixture_sets()) {
    const std::string dir = unet_dir(set);
    unet::UNet2DConditionModel model(
        unet::UNetConfig::from_json(io::JsonConfig::load(dir + "/config.json")));
    const io::WeightSource weights(io::SafetensorsFile::open(io::find_weights_file(dir)));
    const auto report = io::load_into(*model, weights, "unet");
    EXPECT_TRUE(report.unexpected.empty()) << set << ": " << report.unexpected.size()
                                           << " unused, first " << report.unexpected.front();
    EXPECT_EQ(model->named_parameters().size() + model->named_buffers().size(),
              weights.names().size())
        << set;
  }
}

TEST(UNetLoad, MissingTensorIsNamed) {
  const std::string dir = unet_dir(fixture_sets().front());
  auto file = io::SafetensorsFile::open(io::find_weights_file(dir));
  const io::WeightSource full(file);
  const std::string dropped = "mid_block.resnets.0.conv1.weight";
  ASSERT_TRUE(full.contains(dropped));
  std::map<std::string, io::WeightEntry> keys;
  for (const auto& name : full.names()) {
    if (name != dropped) keys[name] = full.entry(name);
  }
  const auto config = io::JsonConfig::load(dir + "/config.json");
  const auto msg = error_of([&] { unet::load_unet(config, io::WeightSource(file, keys)); });
  EXPECT_NE(msg.find(dropped), std::string::npos) << msg;
  EXPECT_NE(msg.find("missing"), std::string::npos) << msg;
}

// Single-file checkpoints reach the same model through io::ModelLayout's canonical names.
TEST(UNetLoad, SingleFileCheckpointGivesTheSameOutput) {
  for (const auto& set : fixture_sets()) {
    const std::string single = fixtures_root() + "/" + set + "/model_single_file.safetensors";
    if (!std::filesystem::exists(single)) continue;
    torch::InferenceMode guard;
    const auto layout = io::ModelLayout::open(single, model_dir(set));
    auto unet = unet::load_unet(layout.config("unet"), layout.weights("unet"));
    const Reference ref(set);
    const auto c = cases(set);
    const int p = c["unet_prompts"][0];
    const int t = c["unet_timesteps"][0];
    auto out =
        unet->forward(ref.get("unet.input").unsqueeze(0), timestep(t), reference_context(ref, p),
                      reference_extra(set, ref, p, unet->config()));
    const std::string key = "unet.t" + std::to_string(t) + ".prompt" + std::to_string(p);
    PD_EXPECT_CLOSE(out, ref.get(key).unsqueeze(0), 1e-4, set + " single file " + key);
  }
}

TEST(UNetForward, BadInputsAreErrors) {
  const std::string set = fixture_sets().front();
  torch::InferenceMode guard;
  auto unet = unet::load_unet(unet_dir(set));
  const auto& cfg = unet->config();
  auto x = torch::zeros({1, cfg.in_channels, 8, 8});
  auto ctx = torch::zeros({1, 7, cfg.cross_attention_dim});
  EXPECT_NE(error_of([&] {
              unet->forward(x, timestep(1), torch::zeros({1, 7, cfg.cross_attention_dim + 1}));
            }).find("context"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              unet->forward(torch::zeros({1, cfg.in_channels + 1, 8, 8}), timestep(1), ctx);
            }).find("input"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              unet->forward(x, torch::tensor({1.f, 2.f, 3.f}), ctx);
            }).find("timesteps"),
            std::string::npos);
}

TEST(UNetForward, TextTimeModelsNeedTheirExtras) {
  for (const auto& set : fixture_sets()) {
    torch::InferenceMode guard;
    auto unet = unet::load_unet(unet_dir(set));
    const auto& cfg = unet->config();
    if (cfg.addition_embed_type != "text_time") continue;
    auto x = torch::zeros({1, cfg.in_channels, 8, 8});
    auto ctx = torch::zeros({1, 7, cfg.cross_attention_dim});
    EXPECT_NE(error_of([&] { unet->forward(x, timestep(1), ctx); }).find("text_embeds"),
              std::string::npos)
        << set;
    unet::UNetExtra wrong;
    wrong.text_embeds = torch::zeros({1, 3});
    wrong.time_ids = torch::zeros({1, 1});
    EXPECT_NE(error_of([&] {
                unet->forward(x, timestep(1), ctx, wrong);
              }).find("projection_class_embeddings_input_dim"),
              std::string::npos)
        << set;
  }
}

}  // namespace
}  // namespace pangu_draw::testing
