// test_train.cpp: smoke test of the TinyWorld trainer: a tiny UNet (the sd1 fixture's config,
// random init) trained for a few steps has a lower loss on a fixed batch, and what it saves
// loads back through the library's diffusers loader with the same weights; the same for the VAE.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/runtime.h"
#include "io/model_layout.h"
#include "scene.h"
#include "support/fixtures.h"
#include "support/process.h"
#include "controlnet_trainer.h"
#include "render.h"
#include "text_encoder_trainer.h"
#include "text_encoders/conditioner.h"
#include "tokenizers/tokenizer.h"
#include "trainer.h"
#include "unet/unet_2d_condition.h"
#include "vae/autoencoder_kl.h"
#include "vae_trainer.h"

namespace pangu_draw::testing {
namespace {

TEST(Trainer, FewStepsLowerTheLossAndTheModelSavesInDiffusersLayout) {
  core::configure_threads(1);  // ctest runs two tests at once (tests/CMakeLists.txt)
  train::TrainConfig config;
  config.base_model = model_dir("sd1");
  config.batch = 4;
  config.lr = 2e-3;
  config.seed = 1;
  train::Trainer trainer(config);
  const double before = trainer.eval_loss(42, 8);
  double first = 0, last = 0;
  for (int i = 0; i < 25; ++i) {
    const double loss = trainer.step();
    if (i < 5) first += loss / 5;
    if (i >= 20) last += loss / 5;
  }
  const double after = trainer.eval_loss(42, 8);
  EXPECT_LT(after, 0.8 * before) << "before " << before << " after " << after;
  EXPECT_LT(last, first) << "first steps " << first << " last steps " << last;

  const std::string dir = temp_dir("train");
  trainer.save(dir);
  for (const char* f : {"model_index.json", "vae/config.json", "text_encoder/config.json",
                        "tokenizer/vocab.json", "scheduler/scheduler_config.json",
                        "unet/config.json", "unet/diffusion_pytorch_model.safetensors"})
    EXPECT_TRUE(std::filesystem::exists(dir + "/" + f)) << f;
  auto loaded = unet::load_unet(dir + "/unet");
  auto trained = trainer.unet();
  trained->eval();
  const auto x = torch::randn({1, 4, 8, 8}), ctx = torch::randn({1, 77, 32});
  torch::NoGradGuard no_grad;
  PD_EXPECT_CLOSE(loaded->forward(x, torch::tensor({500}), ctx),
                  trained->forward(x, torch::tensor({500}), ctx), 1e-6, "reloaded unet");
  std::filesystem::remove_all(dir);
}

// A generator trained below its sampling size (the texture generator) is told the sampling size
// by the size conditioning and saves it as its native size; otherwise the training size is both.
TEST(Trainer, SavesTheSizeItIsToldAsTheNativeSize) {
  train::TrainConfig config;
  config.base_model = model_dir("pangu");  // text_time size conditioning
  config.batch = 1;
  config.size = 32;
  const std::string dir = temp_dir("train_size");
  for (int cond_size : {0, 64}) {
    config.cond_size = cond_size;
    train::Trainer trainer(config);
    EXPECT_EQ(trainer.conditioning_size(), cond_size ? 64 : 32);
    trainer.save(dir);
    const auto unet = nlohmann::json::parse(std::ifstream(dir + "/unet/config.json"));
    const auto vae = vae::load_vae(dir + "/vae");
    EXPECT_EQ(unet["sample_size"].get<int64_t>() * vae->downscale(), cond_size ? 64 : 32);
  }
  std::filesystem::remove_all(dir);
}

// --init continues from a saved unet/ folder's weights; with --ema the saved weights are the
// exponential moving average of the weights after every step (decay 0.5: after two steps
// 0.25 w0 + 0.25 w1 + 0.5 w2), computed here independently from the live weights.
TEST(Trainer, ContinuesFromSavedWeightsAndSavesTheirMovingAverage) {
  core::configure_threads(1);  // ctest runs two tests at once (tests/CMakeLists.txt)
  train::TrainConfig config;
  config.base_model = model_dir("sd1");
  config.batch = 2;
  config.seed = 1;
  const std::string first_dir = temp_dir("train_init"), second_dir = temp_dir("train_ema");
  {
    train::Trainer first(config);
    first.step();
    first.save(first_dir);
  }
  config.init_dir = first_dir + "/unet";
  config.ema_decay = 0.5;
  config.seed = 2;
  train::Trainer second(config);
  auto snapshot = [&] {
    std::vector<torch::Tensor> w;
    for (const auto& p : second.unet()->parameters()) w.push_back(p.detach().clone());
    return w;
  };
  const auto w0 = snapshot();
  const auto saved = unet::load_unet(first_dir + "/unet")->parameters();
  ASSERT_EQ(saved.size(), w0.size());
  for (size_t i = 0; i < w0.size(); ++i) EXPECT_TRUE(torch::equal(saved[i], w0[i])) << i;
  second.step();
  const auto w1 = snapshot();
  second.step();
  const auto w2 = snapshot();
  second.save(second_dir);
  const auto averaged = unet::load_unet(second_dir + "/unet")->parameters();
  for (size_t i = 0; i < w0.size(); ++i) {
    const auto expected = 0.25 * w0[i] + 0.25 * w1[i] + 0.5 * w2[i];
    PD_EXPECT_CLOSE(averaged[i], expected, 1e-6, "averaged parameter " + std::to_string(i));
  }
  EXPECT_FALSE(torch::equal(averaged.front(), w2.front()));  // the average, not the last weights
  std::filesystem::remove_all(first_dir);
  std::filesystem::remove_all(second_dir);
}

TEST(VaeTrainer, FewStepsLowerTheReconstructionErrorAndSaveLoads) {
  core::configure_threads(1);  // ctest runs two tests at once (tests/CMakeLists.txt)
  train::VaeTrainConfig config;
  config.vae_config = model_dir("sd1") + "/vae/config.json";
  config.batch = 4;
  config.lr = 2e-3;
  train::VaeTrainer trainer(config);
  const double before = trainer.eval_loss(42, 4);
  for (int i = 0; i < 25; ++i) trainer.step();
  const double after = trainer.eval_loss(42, 4);
  EXPECT_LT(after, 0.7 * before) << "before " << before << " after " << after;
  const std::string dir = temp_dir("train_vae");
  trainer.save(dir);
  auto loaded = vae::load_vae(dir);
  auto trained = trainer.vae();
  trained->eval();
  const auto z = torch::randn({1, 4, 8, 8});
  torch::NoGradGuard no_grad;
  // The same weights; the loaded VAE runs channels-last conv kernels (another summation order).
  PD_EXPECT_CLOSE(loaded->decode(z), trained->decode(z), 1e-5, "reloaded vae");
  std::filesystem::remove_all(dir);
}

// The caption tokenizer knows every word of both languages (no unknown piece in held-out
// captions); a few distillation steps bring the student closer to the teacher on held-out
// scenes; the saved encoder loads through the library with the same outputs.
TEST(TextEncoderTrainer, TokenizerCoversBothLanguagesAndDistillationApproachesTheTeacher) {
  core::configure_threads(1);  // ctest runs two tests at once (tests/CMakeLists.txt)
  const std::string dir = temp_dir("train_text_encoder");
  train::train_caption_tokenizer(dir + "/tokenizer", 256, 2000, 0);
  const auto tok = tokenizers::load_tokenizer(dir + "/tokenizer");
  for (uint64_t seed = 0; seed < 20; ++seed) {
    const auto scene = tinyworld::sample_scene(seed, true);
    for (const auto& caption : {tinyworld::caption_en(scene), tinyworld::caption_zh(scene)}) {
      const auto ids = tok->encode(caption);
      EXPECT_EQ(ids.num_unknown, 0) << caption;
      EXPECT_GT(ids.num_tokens, 5) << caption;
    }
  }
  EXPECT_EQ(tok->encode("Two RED circles").ids, tok->encode("two red circles").ids);  // case folded

  nlohmann::json student = read_json(PD_TRAIN_CONFIGS "/text_encoder_bilingual.json");
  student["num_hidden_layers"] = 2;
  std::ofstream(dir + "/student.json") << student.dump();
  train::TextEncoderTrainConfig config;
  config.teacher_model = model_dir("pangu");
  config.tokenizer_dir = dir + "/tokenizer";
  config.encoder_config = dir + "/student.json";
  config.batch = 16;
  config.lr = 3e-3;
  train::TextEncoderTrainer trainer(config);
  const auto before = trainer.evaluate(7, 16);
  for (int i = 0; i < 40; ++i) trainer.step();
  const auto after = trainer.evaluate(7, 16);
  EXPECT_LT(after.context_en, 0.8 * before.context_en) << before.context_en << " -> " << after.context_en;
  EXPECT_LT(after.context_zh, 0.8 * before.context_zh) << before.context_zh << " -> " << after.context_zh;
  EXPECT_LT(after.pooled_en, before.pooled_en);

  trainer.save(dir + "/text_encoder");
  auto loaded = text_encoders::load_clip_text(dir + "/text_encoder");
  EXPECT_FALSE(loaded->config().causal);
  const std::vector<std::string> prompts = {"soft style, one large blue square on the left, gray background"};
  const auto [ctx, pooled] = trainer.student(prompts);
  const auto out = loaded->forward(torch::tensor(tok->encode(prompts[0]).ids, torch::kLong).unsqueeze(0));
  PD_EXPECT_CLOSE(out.penultimate_hidden, ctx.detach(), 1e-6, "reloaded context");
  PD_EXPECT_CLOSE(out.pooled_projected, pooled.detach(), 1e-6, "reloaded pooled");
  std::filesystem::remove_all(dir);
}

// A new ControlNet changes nothing (zero convolutions); a few steps on edge maps make the
// UNet's noise prediction on held-out scenes better than without it; the saved folder loads
// through the library's ControlNet loader with the same residuals.
TEST(ControlNetTrainer, StartsNeutralLearnsFromEdgesAndSavesInDiffusersLayout) {
  core::configure_threads(1);  // ctest runs two tests at once (tests/CMakeLists.txt)
  train::ControlNetTrainConfig config;
  config.model = model_dir("pangu");
  config.batch = 4;
  config.lr = 2e-3;
  config.seed = 1;
  train::ControlNetTrainer trainer(config);
  EXPECT_EQ(trainer.eval_loss(42, 8, true), trainer.eval_loss(42, 8, false));
  for (int i = 0; i < 30; ++i) trainer.step();
  const double with = trainer.eval_loss(42, 8, true), without = trainer.eval_loss(42, 8, false);
  EXPECT_LT(with, 0.9 * without) << "with edges " << with << ", UNet alone " << without;

  const std::string dir = temp_dir("train_controlnet");
  trainer.save(dir);
  auto loaded = unet::load_controlnet(dir);
  auto trained = trainer.controlnet();
  trained->eval();
  const auto scene = tinyworld::sample_scene(3, true);
  const auto edges = tinyworld::render_edges(scene, 64);
  auto hint = torch::from_blob(const_cast<uint8_t*>(edges.rgb.data()), {64, 64, 3}, torch::kUInt8)
                  .permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat) / 255.0;
  const auto x = torch::randn({1, 4, 8, 8}), ctx = torch::randn({1, 77, 96});
  unet::UNetExtra extra;
  extra.text_embeds = torch::randn({1, 48});
  extra.time_ids = torch::tensor({{5.0f}});
  torch::NoGradGuard no_grad;
  const auto a = loaded->forward(x, torch::tensor({500}), ctx, hint, 1.0, extra);
  const auto b = trained->forward(x, torch::tensor({500}), ctx, hint, 1.0, extra);
  PD_EXPECT_CLOSE(a.mid_residual, b.mid_residual, 1e-5, "reloaded mid residual");
  EXPECT_GT(b.mid_residual.abs().max().item<double>(), 0.0);
  std::filesystem::remove_all(dir);
}

// The shipped model's bilingual encoder: a Chinese caption and its English translation condition
// the UNets alike — their distance is small next to the distance between scenes, and far below
// that of the teacher encoders it was distilled from (which read the two languages apart).
TEST(EmbeddedTextEncoder, ChineseAndEnglishCaptionsConditionAlike) {
  auto gap_over_spread = [](const std::string& model) {
    const auto cond = text_encoders::load_conditioner(io::ModelLayout::open(model));
    std::vector<torch::Tensor> en, zh;
    for (uint64_t seed = 0; seed < 24; ++seed) {
      const auto scene = tinyworld::sample_scene(seed, true);
      en.push_back(cond->encode(tinyworld::caption_en(scene), 64, 64).context);
      zh.push_back(cond->encode(tinyworld::caption_zh(scene), 64, 64).context);
    }
    const auto e = torch::cat(en), z = torch::cat(zh);
    return ((e - z).pow(2).sum() / (e - e.mean(0, true)).pow(2).sum()).item<double>();
  };
  const double student = gap_over_spread(PD_TINY_MODEL);
  const double teacher = gap_over_spread(model_dir("pangu"));
  std::cout << "zh-en gap / between-scene spread: embedded " << student << ", teacher " << teacher << "\n";
  EXPECT_LT(student, 0.2);
  EXPECT_LT(student, 0.1 * teacher);
}

// Numbers out of range are usage errors that name the option, before any work or output: a
// batch of 0, a negative --cond-size (was silently taken as 0), a share above 1, a negative rate.
TEST(TrainCli, OutOfRangeNumbersAreUsageErrors) {
  const std::string out_dir = ::testing::TempDir() + "pd_train_cli_range";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"unet --base B -o OUT --batch 0", "--batch"},
      {"unet --base B -o OUT --cond-size -64", "--cond-size"},
      {"unet --base B -o OUT --caption-dropout 1.5", "--caption-dropout"},
      {"vae --config C -o OUT --lr -1e-3", "--lr"},
      {"controlnet --model M -o OUT --steps 0", "--steps"},
      {"text-encoder --teacher T --tokenizer K --config C -o OUT --zh-fraction 2", "--zh-fraction"},
      {"tokenizer -o OUT --vocab-size 0", "--vocab-size"},
      {"vae-check V -n -5", "-n"},
  };
  for (const auto& [args, option] : cases) {
    std::string command = std::string(PD_TRAIN_PATH) + " " + args + " 2>&1";
    if (const auto at = command.find("OUT"); at != std::string::npos) command.replace(at, 3, out_dir);
    const auto [code, out] = run_command(command);
    EXPECT_EQ(code, 1) << args << "\n" << out;
    EXPECT_NE(out.find(option + ": must be"), std::string::npos) << args << "\n" << out;
    EXPECT_FALSE(std::filesystem::exists(out_dir)) << args;
  }
}

}  // namespace
}  // namespace pangu_draw::testing
