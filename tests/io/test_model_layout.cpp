// Tests for model layouts and THE ldm key mapping: the sd1 single-file checkpoint, mapped,
// gives exactly the key set and the tensors of the sd1 diffusers folder, component by component.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/error.h"
#include "io/key_map_ldm.h"
#include "io/model_layout.h"
#include "support/fixtures.h"

namespace fs = std::filesystem;
using pangu_draw::Error;
using pangu_draw::io::ModelLayout;
using pangu_draw::io::WeightSource;
namespace pt = pangu_draw::testing;

namespace {

// Fixture sets that ship an original single-file checkpoint beside their diffusers folder.
std::vector<std::string> single_file_sets() {
  std::vector<std::string> out;
  for (const auto& set : pt::fixture_sets()) {
    if (fs::exists(pt::fixtures_root() + "/" + set + "/model_single_file.safetensors")) out.push_back(set);
  }
  return out;
}

void expect_same_weights(const WeightSource& folder, const WeightSource& single,
                         const std::string& component) {
  std::vector<std::string> want = folder.names(), got = single.names();
  // Buffers that transformers stores but never reads are not part of the comparison.
  auto drop = [](std::vector<std::string>& v) {
    v.erase(std::remove_if(v.begin(), v.end(),
                           [](const std::string& n) { return n.find("position_ids") != std::string::npos; }),
            v.end());
  };
  drop(want);
  drop(got);
  ASSERT_EQ(got, want) << component << ": mapped key set differs from the diffusers folder";
  for (const auto& name : want) {
    ASSERT_EQ(single.shape(name), folder.shape(name)) << component << " " << name;
    ASSERT_TRUE(torch::equal(single.load(name), folder.load(name))) << component << " " << name;
  }
}

}  // namespace

TEST(ModelLayout, SingleFileMapsToTheDiffusersKeySetAndTensors) {
  auto sets = single_file_sets();
  ASSERT_FALSE(sets.empty()) << "no fixture set has model_single_file.safetensors";
  for (const auto& set : sets) {
    auto folder = ModelLayout::open(pt::model_dir(set));
    auto single = ModelLayout::open(pt::fixtures_root() + "/" + set + "/model_single_file.safetensors",
                                    pt::model_dir(set));
    EXPECT_TRUE(single.single_file());
    EXPECT_FALSE(folder.single_file());
    for (const char* component : {"unet", "vae", "text_encoder"}) {
      SCOPED_TRACE(set + "/" + component);
      expect_same_weights(folder.weights(component), single.weights(component), component);
    }
  }
}

TEST(ModelLayout, FolderComponentsAndConfigs) {
  for (const auto& set : pt::fixture_sets()) {
    auto layout = ModelLayout::open(pt::model_dir(set));
    EXPECT_TRUE(layout.has("unet")) << set;
    EXPECT_TRUE(layout.has("vae")) << set;
    EXPECT_FALSE(layout.has("no_such_component")) << set;
    EXPECT_GT(layout.config("unet").get_int("in_channels"), 0);
    EXPECT_TRUE(layout.config("scheduler").has("num_train_timesteps"));
    EXPECT_FALSE(layout.weights("vae").names().empty());
  }
}

TEST(ModelLayout, SingleFileWithoutConfigDirSaysWhatToPass) {
  for (const auto& set : single_file_sets()) {
    try {
      ModelLayout::open(pt::fixtures_root() + "/" + set + "/model_single_file.safetensors");
      FAIL() << "opened a single file without configs";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--config"), std::string::npos) << e.what();
    }
  }
}

TEST(ModelLayout, MissingPathAndNonCheckpointFileAreInputErrors) {
  EXPECT_THROW(ModelLayout::open("/nonexistent/model"), Error);
  auto dir = pt::temp_dir("layout");
  pangu_draw::io::save_safetensors(dir + "/x.safetensors", {{"w", torch::ones({1})}});
  try {
    ModelLayout::open(dir + "/x.safetensors", pt::model_dir(pt::fixture_sets().front()));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("model.diffusion_model"), std::string::npos) << e.what();
  }
}

TEST(KeyMapLdm, OpenClipSplitsFusedProjectionsAndTransposes) {
  const int64_t w = 4;
  auto in_proj = torch::arange(3 * w * w, torch::kFloat).reshape({3 * w, w});
  auto proj = torch::arange(w * 6, torch::kFloat).reshape({w, 6});
  auto bytes = pangu_draw::io::safetensors_bytes(
      {{"p.transformer.resblocks.0.attn.in_proj_weight", in_proj},
       {"p.transformer.resblocks.0.mlp.c_fc.weight", torch::ones({8, w})},
       {"p.text_projection", proj},
       {"p.ln_final.weight", torch::ones({w})}});
  auto file = pangu_draw::io::SafetensorsFile::from_bytes(bytes, "mem");
  WeightSource src(file, pangu_draw::io::map_open_clip(*file, "p."));
  const std::string layer = "text_model.encoder.layers.0.";
  EXPECT_TRUE(torch::equal(src.load(layer + "self_attn.k_proj.weight"), in_proj.narrow(0, w, w)));
  EXPECT_TRUE(torch::equal(src.load(layer + "self_attn.v_proj.weight"), in_proj.narrow(0, 2 * w, w)));
  EXPECT_TRUE(src.contains(layer + "mlp.fc1.weight"));
  EXPECT_EQ(src.shape("text_projection.weight"), (std::vector<int64_t>{6, w}));
  EXPECT_TRUE(torch::equal(src.load("text_projection.weight"), proj.t()));
  EXPECT_TRUE(src.contains("text_model.final_layer_norm.weight"));
}
