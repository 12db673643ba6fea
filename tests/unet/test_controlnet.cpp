// test_controlnet.cpp: ControlNetModel residuals and the UNet output with them, against the
// diffusers references of every fixture set that has a controlnet; shape and error paths.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "io/model_layout.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "unet/controlnet.h"
#include "unet_inputs.h"

namespace pangu_draw::testing {
namespace {

// The reference's ControlNet case, read from the sampling case that uses the controlnet.
struct ControlCase {
  std::string set;
  std::string controlnet_dir;
  double scale = 1.0;
};

std::vector<ControlCase> control_cases() {
  std::vector<ControlCase> out;
  for (const auto& set : fixture_sets()) {
    if (!Reference(set).has("controlnet.hint")) continue;
    const auto c = cases(set);
    for (const auto& s : c["sampling_cases"]) {
      if (!s.contains("controlnet")) continue;
      const std::string root = std::filesystem::path(model_dir(set)).parent_path().string();
      out.push_back(
          {set, root + "/" + s["controlnet"].get<std::string>(), s["control_scale"].get<double>()});
      break;
    }
  }
  return out;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(ControlNet, FixturesHaveAControlCase) { EXPECT_FALSE(control_cases().empty()); }

TEST(ControlNet, ResidualsAndUNetOutputMatchDiffusers) {
  for (const auto& cc : control_cases()) {
    torch::InferenceMode guard;
    auto net = unet::load_controlnet(cc.controlnet_dir);
    auto unet = unet::load_unet(model_dir(cc.set) + "/unet");
    const Reference ref(cc.set);
    const int p = cases(cc.set)["unet_prompts"][0];  // the references use prompt 0 at t = 500
    const auto x = ref.get("unet.input").unsqueeze(0);
    const auto ctx = reference_context(ref, p);
    const auto extra = reference_extra(cc.set, ref, p, unet->config());
    const auto hint = ref.get("controlnet.hint").unsqueeze(0);  // [1, 3, 8h, 8w]
    auto r = net->forward(x, timestep(500), ctx, hint, cc.scale, extra);
    const auto down_keys = ref.keys_with_prefix("controlnet.t500.down");
    ASSERT_EQ(r.down_residuals.size(), down_keys.size());
    for (size_t i = 0; i < r.down_residuals.size(); ++i) {
      const std::string key = "controlnet.t500.down" + std::to_string(i);
      PD_EXPECT_CLOSE(r.down_residuals[i], ref.get(key).unsqueeze(0), 1e-4, cc.set + " " + key);
      std::printf("  %s %s: %.3g\n", cc.set.c_str(), key.c_str(),
                  relative_max_diff(r.down_residuals[i], ref.get(key).unsqueeze(0)));
    }
    const auto mid = ref.get("controlnet.t500.mid").unsqueeze(0);
    PD_EXPECT_CLOSE(r.mid_residual, mid, 1e-4, cc.set + " controlnet mid");
    std::printf("  %s controlnet.t500.mid: %.3g\n", cc.set.c_str(),
                relative_max_diff(r.mid_residual, mid));
    unet::UNetExtra with_control = extra;
    with_control.down_residuals = r.down_residuals;
    with_control.mid_residual = r.mid_residual;
    auto out = unet->forward(x, timestep(500), ctx, with_control);
    const auto expected = ref.get("controlnet.t500.unet_out").unsqueeze(0);
    PD_EXPECT_CLOSE(out, expected, 1e-4, cc.set + " unet with controlnet");
    std::printf("  %s controlnet.t500.unet_out: %.3g\n", cc.set.c_str(),
                relative_max_diff(out, expected));
  }
}

TEST(ControlNet, NonNativeSizeAndScaleZero) {
  for (const auto& cc : control_cases()) {
    torch::InferenceMode guard;
    auto net = unet::load_controlnet(cc.controlnet_dir);
    const Reference ref(cc.set);
    const auto& cfg = net->config().unet;
    const int64_t f = int64_t{1} << (cfg.block_out_channels.size() - 1);
    const int64_t hint_f = int64_t{1}
                           << (net->config().conditioning_embedding_out_channels.size() - 1);
    const int64_t h = 2 * f, w = 3 * f;
    auto x = torch::randn({2, cfg.in_channels, h, w});
    auto hint = torch::rand({2, net->config().conditioning_channels, h * hint_f, w * hint_f});
    auto ctx = reference_context(ref, 0).repeat({2, 1, 1});
    auto r = net->forward(x, timestep(10), ctx, hint, 0.0);
    ASSERT_FALSE(r.down_residuals.empty());
    EXPECT_EQ(r.down_residuals[0].sizes(),
              (std::vector<int64_t>{2, cfg.block_out_channels[0], h, w}));
    for (const auto& d : r.down_residuals) EXPECT_EQ(d.abs().max().item<float>(), 0.0f);
    // A control image of the wrong size is named in the error.
    auto small = torch::rand({2, 3, h * hint_f / 2, w * hint_f / 2});
    EXPECT_NE(
        error_of([&] { net->forward(x, timestep(10), ctx, small, 1.0); }).find("control image"),
        std::string::npos);
  }
}

TEST(ControlNet, BgrChannelOrderFlipsTheHint) {
  for (const auto& cc : control_cases()) {
    torch::InferenceMode guard;
    auto j = read_json(cc.controlnet_dir + "/config.json");
    j["controlnet_conditioning_channel_order"] = "bgr";
    auto file = io::SafetensorsFile::open(io::find_weights_file(cc.controlnet_dir));
    auto bgr = unet::load_controlnet(
        unet::ControlNetConfig::from_json(io::JsonConfig(j, "controlnet/config.json")),
        io::WeightSource(file));
    auto rgb = unet::load_controlnet(cc.controlnet_dir);
    const Reference ref(cc.set);
    const auto x = ref.get("unet.input").unsqueeze(0);
    auto hint = ref.get("controlnet.hint").unsqueeze(0).clone();  // grey levels: R = G = B
    hint.select(1, 0).zero_();                                    // R != B, so a missing flip shows
    auto a = rgb->forward(x, timestep(500), reference_context(ref, 0), hint, 1.0);
    auto b = bgr->forward(x, timestep(500), reference_context(ref, 0), hint.flip({1}), 1.0);
    PD_EXPECT_CLOSE(b.mid_residual, a.mid_residual, 1e-6, "bgr mid");
    auto c = bgr->forward(x, timestep(500), reference_context(ref, 0), hint, 1.0);
    EXPECT_GT((c.mid_residual - a.mid_residual).abs().max().item<float>(), 0.0f);
  }
}

TEST(ControlNet, ParameterNamesAreTheCheckpointKeys) {
  for (const auto& cc : control_cases()) {
    unet::ControlNetModel model(unet::ControlNetConfig::from_json(
        io::JsonConfig::load(cc.controlnet_dir + "/config.json")));
    const io::WeightSource weights(
        io::SafetensorsFile::open(io::find_weights_file(cc.controlnet_dir)));
    EXPECT_TRUE(io::load_into(*model, weights, "controlnet").unexpected.empty());
    EXPECT_EQ(model->named_parameters().size(), weights.names().size());
  }
}

TEST(ControlNet, MissingTensorIsNamed) {
  for (const auto& cc : control_cases()) {
    auto file = io::SafetensorsFile::open(io::find_weights_file(cc.controlnet_dir));
    const io::WeightSource full(file);
    const std::string dropped = "controlnet_mid_block.weight";
    ASSERT_TRUE(full.contains(dropped));
    std::map<std::string, io::WeightEntry> keys;
    for (const auto& name : full.names()) {
      if (name != dropped) keys[name] = full.entry(name);
    }
    const auto config =
        unet::ControlNetConfig::from_json(io::JsonConfig::load(cc.controlnet_dir + "/config.json"));
    const auto msg = error_of([&] { unet::load_controlnet(config, io::WeightSource(file, keys)); });
    EXPECT_NE(msg.find(dropped), std::string::npos) << msg;
  }
}

TEST(ControlNet, BadChannelOrderNamesTheField) {
  for (const auto& cc : control_cases()) {
    auto j = read_json(cc.controlnet_dir + "/config.json");
    j["controlnet_conditioning_channel_order"] = "yuv";
    const auto msg = error_of(
        [&] { unet::ControlNetConfig::from_json(io::JsonConfig(j, "controlnet/config.json")); });
    EXPECT_NE(msg.find("controlnet_conditioning_channel_order"), std::string::npos) << msg;
    EXPECT_NE(msg.find("yuv"), std::string::npos) << msg;
  }
}

}  // namespace
}  // namespace pangu_draw::testing
