// test_bench_save.cpp: `bench --save-model`: a built-in architecture written with random fp16
// weights as a diffusers folder loads through the path a user's download takes, with exactly the
// weights that were written, and its stand-in tokenizer works.
#include <gtest/gtest.h>

#include <filesystem>

#include "api/bench_models.h"
#include "api/bench_save.h"
#include "core/error.h"
#include "io/safetensors.h"
#include "pipeline/model_bundle.h"
#include "support/fixtures.h"

namespace pangu_draw {
namespace {

namespace fx = testing;

// The sd1 fixture's configs as an architecture (the real built-ins are gigabytes).
pipeline::BuiltinArch fixture_arch() {
  const std::string dir = fx::model_dir("sd1");
  pipeline::BuiltinArch arch;
  arch.name = "sd1-fixture";
  arch.unet = fx::read_json(dir + "/unet/config.json");
  arch.vae = fx::read_json(dir + "/vae/config.json");
  arch.text_encoders.push_back({fx::read_json(dir + "/text_encoder/config.json"), false});
  arch.native_size = 64;
  return arch;
}

TEST(BenchSave, RandomModelFolderLoadsWithTheWeightsWritten) {
  const auto arch = fixture_arch();
  const std::string dir = fx::temp_dir("bench_save");
  api::save_random_model(arch, dir);
  for (const char* file : {"/unet/diffusion_pytorch_model.safetensors",
                           "/vae/diffusion_pytorch_model.safetensors",
                           "/text_encoder/model.safetensors"}) {
    const auto f = io::SafetensorsFile::open(dir + file);
    for (const auto& name : f->names()) EXPECT_EQ(f->info(name).dtype, io::DType::F16) << name;
  }
  pipeline::LoadSettings settings;  // float32: the fp16 values come back exactly
  const auto bundle = pipeline::load_bundle(dir, settings);
  const nn::ParamOptions fp16{torch::kHalf, torch::kCPU, false};
  auto expect_same = [](torch::nn::Module& loaded, torch::nn::Module& written, const char* what) {
    const auto want = written.named_parameters();
    ASSERT_EQ(loaded.named_parameters().size(), want.size()) << what;
    for (const auto& p : loaded.named_parameters()) {
      EXPECT_TRUE(torch::equal(p.value(), want[p.key()].to(torch::kFloat))) << what << " " << p.key();
    }
  };
  unet::UNet2DConditionModel unet = bundle->unet;  // holder copies share the modules
  vae::AutoencoderKL vae = bundle->vae;
  expect_same(*unet, *api::random_unet(arch, fp16), "unet");
  expect_same(*vae, *api::random_vae(arch, fp16), "vae");
  // The byte-level tokenizer: every prompt encodes, no unknown pieces, ids inside the vocabulary.
  text_encoders::PromptStats stats;
  const auto cond = bundle->conditioner->encode("A red circle, 二", 64, 64, &stats);
  EXPECT_EQ(cond.context.sizes(), (std::vector<int64_t>{1, 77, 32}));
  EXPECT_EQ(stats.unknown, 0);
  EXPECT_GT(stats.tokens, 5);
  EXPECT_THROW(api::save_random_model(arch, dir), Error);  // never over an existing model
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace pangu_draw
