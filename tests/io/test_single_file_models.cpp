// Tests for single-file checkpoints beyond the fixtures' layout: the config-driven ldm key map on a
// one-layer-per-block UNet and ControlNet (reference: diffusers' own single-file converters, see
// make_ldm_references.py), and loading without --config: the family recognised from full-size
// sparse checkpoints of SD 1.5, SD 2.1 768-v, SD 2.1 base and SDXL base, every tensor mapped onto
// the modules of the built-in configs (names and shapes from diffusers / transformers), and the
// built-in tokenizers giving openai CLIP's reference ids.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "core/error.h"
#include "io/arch_detect.h"
#include "io/builtin_models.h"
#include "io/key_map_ldm.h"
#include "io/model_layout.h"
#include "io/sparse_checkpoint.h"
#include "support/fixtures.h"
#include "tokenizers/tokenizer.h"

namespace fs = std::filesystem;
using pangu_draw::Error;
using pangu_draw::io::ComponentFiles;
using pangu_draw::io::ModelLayout;
using pangu_draw::io::WeightSource;
namespace pt = pangu_draw::testing;

namespace {

void expect_same_tensors(const WeightSource& want, const WeightSource& got, const std::string& what) {
  ASSERT_EQ(got.names(), want.names()) << what << ": mapped key set differs from the diffusers folder";
  for (const auto& name : want.names()) {
    ASSERT_EQ(got.shape(name), want.shape(name)) << what << " " << name;
    ASSERT_TRUE(torch::equal(got.load(name), want.load(name))) << what << " " << name;
  }
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace

TEST(LdmKeyMap, OneLayerPerBlockUNetMapsBackExactly) {
  const std::string folder = pt::io_test_data("l1_model");
  auto single = ModelLayout::open(pt::io_test_data("l1_single_file.safetensors"), folder);
  auto diffusers = pangu_draw::io::SafetensorsFile::open(folder + "/unet/diffusion_pytorch_model.safetensors");
  EXPECT_EQ(single.config("unet").get_int("layers_per_block"), 1);
  expect_same_tensors(WeightSource(diffusers), single.weights("unet"), "l1 unet");
}

TEST(LdmKeyMap, OneLayerPerBlockControlNetMapsBackExactly) {
  const std::string folder = pt::io_test_data("l1_model/controlnet");
  auto file = pangu_draw::io::SafetensorsFile::open(pt::io_test_data("l1_controlnet_single_file.safetensors"));
  const auto config = pangu_draw::io::JsonConfig::load(folder + "/config.json");
  WeightSource mapped(file, pangu_draw::io::map_ldm_unet(*file, "control_model.", config));
  auto diffusers = pangu_draw::io::SafetensorsFile::open(folder + "/diffusion_pytorch_model.safetensors");
  expect_same_tensors(WeightSource(diffusers), mapped, "l1 controlnet");
}

TEST(LdmKeyMap, PerBlockLayerCountsMapBackExactly) {
  // layers_per_block [1, 2, 1]: down blocks of 1, 2, 1 resnets, up blocks of 2, 3, 2.
  const std::string folder = pt::io_test_data("l1_model/unet_mixed");
  auto file = pangu_draw::io::SafetensorsFile::open(pt::io_test_data("mixed_single_file.safetensors"));
  const auto config = pangu_draw::io::JsonConfig::load(folder + "/config.json");
  EXPECT_EQ(config.get_int_or_list("layers_per_block", 3), (std::vector<int64_t>{1, 2, 1}));
  WeightSource mapped(file, pangu_draw::io::map_ldm_unet(*file, "model.diffusion_model.", config));
  auto diffusers = pangu_draw::io::SafetensorsFile::open(folder + "/diffusion_pytorch_model.safetensors");
  expect_same_tensors(WeightSource(diffusers), mapped, "mixed unet");
}

TEST(LdmKeyMap, ConfigOfAnotherBlockLayoutIsRefusedWithTheCounts) {
  // The fixture sd1 file has two layers per block; the l1 config says one.
  const std::string msg = message_of([] {
    ModelLayout::open(pt::fixtures_root() + "/sd1/model_single_file.safetensors", pt::io_test_data("l1_model"))
        .weights("unet");
  });
  EXPECT_NE(msg.find("has 9 input blocks"), std::string::npos) << msg;
  EXPECT_NE(msg.find("describes 6"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--config"), std::string::npos) << msg;
}

TEST(BuiltinModels, VocabularyIsOpenaiClipsAndConfigsParse) {
  std::ifstream in(pt::fixtures_root() + "/sd1/model/tokenizer/vocab.json", std::ios::binary);
  const std::string fixture_vocab((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(pangu_draw::io::builtin_sets(), (std::vector<std::string>{"sd15", "sd21", "sd21-base", "sdxl-base"}));
  for (const auto& set : pangu_draw::io::builtin_sets()) {
    const auto vocab = pangu_draw::io::builtin_file(set + "/tokenizer/vocab.json");
    ASSERT_TRUE(vocab.has_value()) << set;
    EXPECT_TRUE(*vocab == fixture_vocab) << set << ": the built-in vocab.json is not the fixture's";
    for (const char* c : {"unet", "vae", "text_encoder", "tokenizer"}) {
      EXPECT_TRUE(pangu_draw::io::builtin_has_folder(set + "/" + c)) << set << "/" << c;
    }
    EXPECT_GT(ComponentFiles::builtin(set + "/unet").json("config.json").get_int("in_channels"), 0);
    EXPECT_TRUE(ComponentFiles::builtin(set + "/scheduler").json("scheduler_config.json").has("beta_schedule"));
  }
  EXPECT_FALSE(pangu_draw::io::builtin_file("clip_tokenizer/vocab.json").has_value());
  EXPECT_FALSE(pangu_draw::io::builtin_file("sd15/unet/vocab.json").has_value());
}

// The built-in tokenizers give the reference ids of openai CLIP (fixture tokens.json), with the
// padding of each family: <|endoftext|> for CLIP-L, "!" (id 0) for OpenCLIP.
TEST(BuiltinModels, TokenizersGiveTheReferenceIds) {
  const std::vector<std::tuple<std::string, std::string, size_t>> cases = {
      {"sd15/tokenizer", "sd1", 0}, {"sd21/tokenizer", "sd2", 0},
      {"sdxl-base/tokenizer", "xl", 0}, {"sdxl-base/tokenizer_2", "xl", 1}};
  for (const auto& [folder, set, which] : cases) {
    auto tok = pangu_draw::tokenizers::load_tokenizer(ComponentFiles::builtin(folder));
    const auto ref = pt::tokens(set);
    for (const auto& [prompt, ids] : ref["token_ids"].items()) {
      EXPECT_EQ(tok->encode(prompt).ids, ids[which].get<std::vector<int64_t>>()) << folder << ": " << prompt;
    }
  }
}

namespace {

struct FamilyCase {
  std::string name;      // test label
  std::string listing;   // tests/io/data/ldm_shapes_<listing>.txt
  std::string dtype;
  double norm1_std;      // SD 2.x: std written into the v-prediction probe tensor (0: none)
  std::map<std::string, std::string> metadata;
  bool v_pred_marker;
  std::string set, family, prediction;
  int64_t sample_size;
};

// Tensors of the real checkpoints that no module of the built-in configs takes (documented in
// make_ldm_references.py): the loader logs them as unused.
bool expected_unused(const std::string& canonical) {
  for (const char* s : {"position_ids", "logit_scale", "text_model.encoder.layers.23."}) {
    if (canonical.find(s) != std::string::npos) return true;
  }
  return false;
}

void check_components(const ModelLayout& layout, const std::string& listing, const std::string& label) {
  const auto canonical = pt::read_canonical_listing(pt::io_test_data("canonical_shapes_" + listing + ".txt"));
  for (const auto& [component, want] : canonical) {
    SCOPED_TRACE(label + "/" + component);
    const WeightSource got = layout.weights(component);
    std::set<std::string> unused;
    for (const auto& name : got.names()) {
      if (want.count(name)) {
        EXPECT_EQ(got.shape(name), want.at(name)) << name;
      } else {
        unused.insert(name);
      }
    }
    for (const auto& [name, shape] : want) EXPECT_TRUE(got.contains(name)) << name << " is not mapped";
    for (const auto& name : unused) {
      // SD 2.x's text_encoder is a CLIPTextModel (no projection): open_clip's projection is unused.
      const bool sd2_projection = listing == "sd21" && name == "text_projection.weight";
      EXPECT_TRUE(expected_unused(name) || sd2_projection) << name << " maps onto no module";
    }
  }
}

}  // namespace

TEST(SingleFileFamilies, FullSizeCheckpointsAreRecognisedAndMapOntoTheBuiltinConfigs) {
  const std::vector<FamilyCase> cases = {
      {"sd15", "sd15", "F32", 0, {}, false, "sd15", "SD 1.x", "epsilon", 64},
      {"sd21-768-v", "sd21", "F32", 0.15, {}, false, "sd21", "SD 2.x 768 (v-prediction)", "v_prediction", 96},
      {"sd2-base", "sd21", "F32", 0.04, {}, false, "sd21-base", "SD 2.x 512 base", "epsilon", 64},
      {"sd2-metadata", "sd21", "F16", 0.15, {{"modelspec.prediction_type", "epsilon"}}, false, "sd21-base",
       "SD 2.x 512 base", "epsilon", 64},
      {"sdxl-base", "sdxl-base", "F16", 0, {}, false, "sdxl-base", "SDXL base", "epsilon", 128},
      {"sdxl-vpred", "sdxl-base", "F16", 0, {}, true, "sdxl-base", "SDXL base (v-prediction)", "v_prediction", 128},
  };
  const std::string dir = pt::temp_dir("families");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    pt::SparseCheckpoint ckpt;
    ckpt.shapes = pt::read_shape_listing(pt::io_test_data("ldm_shapes_" + c.listing + ".txt"));
    ckpt.dtype = c.dtype;
    ckpt.metadata = c.metadata;
    if (c.norm1_std > 0) {  // a bias with exactly this population std
      auto bias = torch::arange(320, torch::kFloat).remainder(2).mul(2).sub(1).mul(c.norm1_std);
      ckpt.values["model.diffusion_model.output_blocks.11.1.transformer_blocks.0.norm1.bias"] = bias;
    }
    if (c.v_pred_marker) ckpt.shapes["v_pred"] = {0};
    const std::string path = dir + "/" + c.name + ".safetensors";
    const uint64_t size = pt::write_sparse_checkpoint(path, ckpt);
    EXPECT_GT(size, c.dtype == "F32" ? 4'000'000'000ULL : 2'500'000'000ULL);  // full size

    const auto file = pangu_draw::io::SafetensorsFile::open(path);
    const auto detected = pangu_draw::io::detect_architecture(*file);
    EXPECT_EQ(detected.config_set, c.set);
    EXPECT_EQ(detected.family, c.family);
    EXPECT_EQ(detected.prediction_type, c.prediction) << detected.evidence;

    const auto layout = ModelLayout::open(path);
    ASSERT_TRUE(layout.detected().has_value());
    EXPECT_EQ(layout.config("scheduler").get_string("prediction_type"), c.prediction);
    EXPECT_EQ(layout.config("unet").get_int("sample_size"), c.sample_size);
    EXPECT_EQ(layout.has("text_encoder_2"), c.set == "sdxl-base");
    EXPECT_TRUE(layout.root().empty());
    check_components(layout, c.listing, c.name);
    fs::remove(path);
  }
  fs::remove_all(dir);
}

TEST(SingleFileFamilies, NonStandardModelsAreNotMisrecognised) {
  // The fixture's tiny random SD 1.x file: SD 1.x's text encoder prefix, but nothing else fits.
  const std::string tiny = pt::fixtures_root() + "/sd1/model_single_file.safetensors";
  std::string msg = message_of([&] { ModelLayout::open(tiny); });
  EXPECT_NE(msg.find("not recognised as a standard"), std::string::npos) << msg;
  EXPECT_NE(msg.find("input_blocks.0.0.weight is [32, 4, 3, 3], expected [320, 4, 3, 3]"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--config DIR"), std::string::npos) << msg;

  // Full-size variants: an inpainting UNet (9 input channels), a distilled one (a block less),
  // an SDXL refiner (only the bigG encoder), an SDXL with the zero-terminal-SNR marker.
  const std::string dir = pt::temp_dir("nonstandard");
  auto variant = [&](const std::string& listing, const std::function<void(pt::SparseCheckpoint&)>& edit) {
    pt::SparseCheckpoint ckpt;
    ckpt.shapes = pt::read_shape_listing(pt::io_test_data("ldm_shapes_" + listing + ".txt"));
    edit(ckpt);
    const std::string path = dir + "/variant.safetensors";
    pt::write_sparse_checkpoint(path, ckpt);
    return message_of([&] { ModelLayout::open(path); });
  };
  msg = variant("sd15", [](pt::SparseCheckpoint& c) {
    c.shapes["model.diffusion_model.input_blocks.0.0.weight"] = {320, 9, 3, 3};
  });
  EXPECT_NE(msg.find("input_blocks.0.0.weight is [320, 9, 3, 3]"), std::string::npos) << msg;
  msg = variant("sd15", [](pt::SparseCheckpoint& c) {
    for (auto it = c.shapes.begin(); it != c.shapes.end();) {
      it = it->first.rfind("model.diffusion_model.input_blocks.11.", 0) == 0 ? c.shapes.erase(it) : std::next(it);
    }
  });
  EXPECT_NE(msg.find("input_blocks.11.0.out_layers.3.weight is missing"), std::string::npos) << msg;
  EXPECT_NE(msg.find("the UNet has 676 tensors, expected 686"), std::string::npos) << msg;
  msg = variant("sdxl-base", [](pt::SparseCheckpoint& c) {
    for (auto it = c.shapes.begin(); it != c.shapes.end();) {
      it = it->first.rfind("conditioner.embedders.0.", 0) == 0 ? c.shapes.erase(it) : std::next(it);
    }
    pt::ShapeListing renamed;
    for (const auto& [k, s] : c.shapes) {
      const std::string from = "conditioner.embedders.1.";
      renamed[k.rfind(from, 0) == 0 ? "conditioner.embedders.0." + k.substr(from.size()) : k] = s;
    }
    c.shapes = renamed;
  });
  EXPECT_NE(msg.find("SDXL refiner"), std::string::npos) << msg;
  msg = variant("sdxl-base", [](pt::SparseCheckpoint& c) { c.shapes["ztsnr"] = {0}; });
  EXPECT_NE(msg.find("zero-terminal-SNR"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(SingleFileFamilies, ConfigDirStillOverridesDetection) {
  // With --config the folder's configs are used as they are, recognised family or not.
  auto layout = ModelLayout::open(pt::fixtures_root() + "/sd1/model_single_file.safetensors", pt::model_dir("sd1"));
  EXPECT_FALSE(layout.detected().has_value());
  EXPECT_EQ(layout.root(), pt::model_dir("sd1"));
  EXPECT_EQ(layout.config("unet").get_int("sample_size"), 8);
}
