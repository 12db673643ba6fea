// PanGu-Draw's inference features on the fixtures: style-guided CFG (formula, batching, the
// zero-scale identity, styles.json names), size-bucket conditioning, bilingual prompts, the
// prompt-enhancement hook.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "io/safetensors.h"
#include "pangu_draw/pangu_draw.h"
#include "pipeline/txt2img.h"
#include "support/fixtures.h"
#include "support/latents.h"

namespace fs = std::filesystem;
namespace pt = pangu_draw::testing;
namespace pl = pangu_draw::pipeline;
using pangu_draw::Pipeline;
using pangu_draw::Request;

namespace {

// Fixture sets whose model_index.json declares size buckets (the PanGu-Draw family).
std::vector<std::string> bucket_sets() {
  std::vector<std::string> out;
  for (const auto& set : pt::fixture_sets()) {
    if (pt::read_json(pt::model_dir(set) + "/model_index.json").contains("size_buckets")) out.push_back(set);
  }
  return out;
}

// A copy of a fixture model (component folders linked) with a styles.json beside it.
std::string model_with_styles(const std::string& set) {
  const auto dir = pt::temp_dir("styled");
  for (const auto& e : fs::directory_iterator(pt::model_dir(set))) {
    if (e.is_directory()) fs::create_directory_symlink(e.path(), dir + "/" + e.path().filename().string());
    else fs::copy_file(e.path(), dir + "/" + e.path().filename().string());
  }
  std::ofstream(dir + "/styles.json") << R"({"aesthetic": "義 ", "anime": "饅 "})";
  return dir;
}

torch::Tensor latent_of(const Pipeline& pipe, Request r) { return pt::final_latent(pipe, r); }

Request request(const std::string& prompt) {
  Request r;
  r.prompt = prompt;
  r.steps = 4;
  r.seed = 9;
  r.cfg_scale = 6.0f;
  return r;
}

}  // namespace

TEST(StyleCFG, BatchedPredictionEqualsTheFormulaOverSeparateCalls) {
  for (const auto& set : pt::fixture_sets()) {
    auto model = pl::load_bundle(pt::model_dir(set), {});
    const std::string prompt = "a red cube", style = "ink painting, " + prompt;
    const int64_t w = model->native_width, h = model->native_height;
    auto g = pl::guided_conditioning(*model, prompt, "", {style}, {6.0, {4.0}}, w, h);
    ASSERT_EQ(g.plan.size(), 3);
    auto denoiser = pl::make_denoiser(model, g, {});
    auto x = torch::randn(model->latent_shape(w, h));
    pangu_draw::schedulers::StepInfo step;
    step.timestep = 500;
    auto batched = denoiser(x, step);
    // Three separate UNet calls and the paper's formula, element-wise.
    torch::InferenceMode guard;
    auto unet = model->unet;
    auto t = torch::full({1}, 500.0);
    auto call = [&](const pangu_draw::text_encoders::Conditioning& c) {
      pangu_draw::unet::UNetExtra extra;
      extra.text_embeds = c.pooled;
      extra.time_ids = c.time_ids;
      return unet->forward(x, t, c.context, extra);
    };
    auto u = call(model->conditioner->encode_negative("", w, h));
    auto c = call(model->conditioner->encode(prompt, w, h));
    auto s = call(model->conditioner->encode(style, w, h));
    PD_EXPECT_CLOSE(batched, u + 6.0 * (c - u) + 4.0 * (s - c), 1e-4, set + " style-guided CFG");
  }
}

TEST(StyleCFG, ZeroStyleScaleReproducesPlainCFGExactly) {
  const auto set = pt::fixture_sets().front();
  auto pipe = Pipeline::load(pt::model_dir(set), pt::trusting());
  auto r = request("a red cube");
  auto plain = latent_of(pipe, r);
  r.styles = {{"ink painting, ", 0.0f}};
  EXPECT_TRUE(torch::equal(plain, latent_of(pipe, r)));
  r.styles = {{"ink painting, ", 3.0f}};
  EXPECT_FALSE(torch::equal(plain, latent_of(pipe, r)));
}

TEST(StyleCFG, NamedStylesComeFromStylesJsonAndUnknownNamesListThem) {
  const auto set = pt::fixture_sets().front();
  const auto dir = model_with_styles(set);
  auto pipe = Pipeline::load(dir, pt::trusting());
  auto r = request("a red cube");
  r.styles = {{"aesthetic", 4.0f}, {"anime", 2.0f}};
  auto named = latent_of(pipe, r);
  r.styles = {{"義 ", 4.0f}, {"饅 ", 2.0f}};  // the same prefixes, given as custom text
  EXPECT_TRUE(torch::equal(named, latent_of(pipe, r)));
  r.styles = {{"watercolor", 4.0f}};
  try {
    pipe.generate(r);
    FAIL() << "accepted an unknown style";
  } catch (const pangu_draw::Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Usage);
    EXPECT_NE(msg.find("aesthetic"), std::string::npos) << msg;
    EXPECT_NE(msg.find("anime"), std::string::npos) << msg;
  }
}

TEST(SizeBuckets, UnsupportedSizeListsTheSupportedOnes) {
  for (const auto& set : bucket_sets()) {
    auto pipe = Pipeline::load(pt::model_dir(set), pt::trusting());
    auto r = request("a red cube");
    r.width = 56;
    r.height = 64;
    try {
      pipe.generate(r);
      FAIL() << set << ": accepted a size outside size_buckets";
    } catch (const pangu_draw::Error& e) {
      EXPECT_NE(std::string(e.what()).find("64x64"), std::string::npos) << e.what();
    }
  }
}

TEST(Bilingual, ChineseEnglishAndMixedPromptsGiveDistinctFiniteImages) {
  for (const auto& set : bucket_sets()) {
    auto pipe = Pipeline::load(pt::model_dir(set), pt::trusting());
    auto zh = latent_of(pipe, request("一只可爱的熊猫在竹林里吃竹子"));
    auto en = latent_of(pipe, request("a cute panda eating bamboo"));
    auto mixed = latent_of(pipe, request("赛博朋克风格的城市夜景, neon lights, 4K"));
    for (const auto* z : {&zh, &en, &mixed}) EXPECT_TRUE(torch::isfinite(*z).all().item<bool>());
    EXPECT_FALSE(torch::equal(zh, en));
    EXPECT_FALSE(torch::equal(zh, mixed));
  }
}

TEST(DynamicThreshold, ClampsTheImpliedX0AndIsOffAtZero) {
  const auto model = pl::load_bundle(pt::model_dir(pt::fixture_sets().front()), {});
  pangu_draw::schedulers::NoiseSchedule math(model->scheduler);
  const double ab = 0.5;
  auto x = torch::randn({1, 4, 8, 8});
  auto x0_big = torch::full({1, 4, 8, 8}, 5.0);
  auto eps = (x - std::sqrt(ab) * x0_big) / std::sqrt(1 - ab);
  pangu_draw::schedulers::Denoiser inner = [&](const torch::Tensor&, const pangu_draw::schedulers::StepInfo&) {
    return math.model_output(x0_big, eps, ab);
  };
  pangu_draw::schedulers::StepInfo step;
  step.alpha_bar = ab;
  auto off = pl::with_dynamic_threshold(inner, model->scheduler, 0.0, 1.0)(x, step);
  EXPECT_TRUE(torch::equal(off, inner(x, step)));
  // percentile 1: s = min(max|x0| = 5, max 2) = 2 -> x0 = clamp(5, -2, 2) / 2 = 1 everywhere.
  auto on = pl::with_dynamic_threshold(inner, model->scheduler, 1.0, 2.0)(x, step);
  PD_EXPECT_CLOSE(math.to_x0(on, x, ab), torch::ones({1, 4, 8, 8}), 1e-4, "thresholded x0");
}
