// Coop-Diffusion checked by value against an independent replay with diffusers' own modules
// (tests/coop/replay/make_coop_reference.py -> tests/coop/data/coop_replay.safetensors): the
// fused step of sd1 (host, 64x64) + sd2 bridged at 128x128 (PanGu-Draw Alg. 1: the bridged
// expert's first-call noise, its mirrored state on the next call, v -> eps, pixel bridges both
// ways), two Euler steps driven by it, and the hand-over in both directions.
#include <gtest/gtest.h>

#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "coop/coop_run.h"
#include "coop/fused_denoiser.h"
#include "coop/latent_bridge.h"
#include "io/safetensors.h"
#include "pipeline/denoiser.h"
#include "pipeline/model_bundle.h"
#include "support/fixtures.h"

namespace pt = pangu_draw::testing;
namespace coop = pangu_draw::coop;
namespace pipeline = pangu_draw::pipeline;
namespace schedulers = pangu_draw::schedulers;

namespace {

// Tolerances (relative to the reference's max magnitude): one module pass, a composed step.
constexpr double kModuleTol = 1e-4;
constexpr double kStepTol = 1e-3;

// The replay's settings (make_coop_reference.py).
const char* const kPrompt = "a photo of an astronaut riding a horse on the moon";
constexpr double kCfg = 5.0;
constexpr int64_t kFuseSeed = 11;
constexpr int kSteps = 10;
constexpr int64_t kHandOverSeed = 17;
constexpr int kHandOverStep = 4;

torch::Tensor replay(const std::string& key) {
  static const auto file = pangu_draw::io::SafetensorsFile::open(std::string(PD_COOP_DATA_DIR) +
                                                                 "/coop_replay.safetensors");
  return file->load(key, torch::kFloat);
}

double scalar(const std::string& key) { return replay(key).item<double>(); }

std::shared_ptr<const pipeline::ModelBundle> bundle(const std::string& set) {
  static std::map<std::string, std::shared_ptr<const pipeline::ModelBundle>> cache;
  auto& b = cache[set];
  if (!b) b = pipeline::load_bundle(pt::model_dir(set), {});
  return b;
}

// An expert of `set` at size x size pixels with the replay's prompt, empty negative and CFG; every
// input its denoiser gets is appended to `inputs` when given.
coop::Expert expert(const std::string& set, int64_t size, double weight,
                    std::shared_ptr<std::vector<torch::Tensor>> inputs = nullptr) {
  coop::Expert e;
  e.model = bundle(set);
  pangu_draw::guidance::GuidanceScales scales;
  scales.cfg = kCfg;
  auto inner = pipeline::make_denoiser(
      e.model, pipeline::guided_conditioning(*e.model, kPrompt, "", {}, scales, size, size), {});
  e.denoiser = [inner, inputs](const torch::Tensor& z, const schedulers::StepInfo& step) {
    if (inputs) inputs->push_back(z.clone());
    return inner(z, step);
  };
  e.weight = weight;
  e.latent_shape = e.model->latent_shape(size, size);
  return e;
}

std::unique_ptr<schedulers::Sampler> euler() {
  schedulers::SamplerOptions options;
  options.steps = kSteps;
  return schedulers::make_sampler("euler", bundle("sd1")->scheduler, options);
}

// The sampler's step i has the replay's timestep and alpha_bar (diffusers' EulerDiscreteScheduler).
schedulers::StepInfo checked_step(const schedulers::Sampler& sampler, int i,
                                  const std::string& prefix) {
  const auto info = sampler.step_info(i);
  EXPECT_EQ(info.timestep, scalar(prefix + "timestep")) << prefix;
  EXPECT_NEAR(info.alpha_bar, scalar(prefix + "alpha_bar"), 1e-6 * info.alpha_bar) << prefix;
  return info;
}

std::string call(int k) { return "fuse.call" + std::to_string(k) + "."; }

// PD_EXPECT_CLOSE that also prints the max error when it passes (the numbers of the comparison).
#define EXPECT_CLOSE_SHOWN(actual, expected, rel_tol, what)                     \
  do {                                                                          \
    const auto result_ = pt::close_to((actual), (expected), (rel_tol), (what)); \
    EXPECT_TRUE(result_);                                                       \
    if (result_) std::cout << "  " << result_.message() << "\n";                \
  } while (0)

// The opposite: `actual` must miss the reference by more than rel_tol (prints by how much).
#define EXPECT_MISSES(actual, expected, rel_tol, what)                                 \
  do {                                                                                 \
    const auto result_ = pt::close_to((actual), (expected), (rel_tol), (what));        \
    EXPECT_FALSE(result_);                                                             \
    if (!result_) std::cout << "  missed as it should: " << result_.message() << "\n"; \
  } while (0)

}  // namespace

// Single module passes: each expert's guided prediction (CFG 5 over [negative "", prompt]) and the
// pixel bridges in both directions, on the replay's own inputs.
TEST(CoopReplay, GuidedPredictionsAndBridgesMatchDiffusers) {
  auto a = expert("sd1", 64, 0.5), b = expert("sd2", 128, 0.5);
  auto sampler = euler();
  for (int k = 0; k < 2; ++k) {
    const auto info = checked_step(*sampler, k, call(k));
    const double ab = info.alpha_bar;
    const auto z = replay(call(k) + "z"), z_b = replay(call(k) + "z_b");
    EXPECT_CLOSE_SHOWN(a.denoiser(z, info), replay(call(k) + "eps_a"), kModuleTol,
                       call(k) + "sd1 guided eps");
    EXPECT_CLOSE_SHOWN(b.denoiser(z_b, info), replay(call(k) + "v_b"), kModuleTol,
                       call(k) + "sd2 guided v");
    // sd2's x0 (from the reference v) -> 128^2 pixels -> 64^2 (antialiased bicubic) -> sd1.
    const auto eps_b =
        schedulers::NoiseSchedule(b.model->scheduler).to_eps(replay(call(k) + "v_b"), z_b, ab);
    EXPECT_CLOSE_SHOWN(coop::map_clean_latent(coop::x0_from_eps(eps_b, z_b, ab), *b.model, *a.model,
                                              a.latent_shape),
                       replay(call(k) + "x0_ba"), kModuleTol, call(k) + "bridge sd2 -> sd1");
    // The fused x0 -> 64^2 pixels -> 128^2 (bicubic) -> sd2: the mirrored state's x0.
    const auto x0 = coop::x0_from_eps(replay(call(k) + "fused"), z, ab);
    EXPECT_CLOSE_SHOWN(coop::map_clean_latent(x0, *a.model, *b.model, b.latent_shape),
                       replay(call(k) + "mirror_x0"), kModuleTol, call(k) + "bridge sd1 -> sd2");
  }
}

// Two consecutive calls of the fused denoiser: the first gives the bridged expert seeded noise
// (seed + 7919), the second its mirrored state; the fused eps of both calls match the replay.
TEST(CoopReplay, FusedStepWithABridgedExpertMatchesTheReplay) {
  auto inputs = std::make_shared<std::vector<torch::Tensor>>();
  auto a = expert("sd1", 64, 0.5), b = expert("sd2", 128, 0.5, inputs);
  auto sampler = euler();
  auto fused = coop::make_fused_denoiser({a, b}, a, a.model->scheduler, kFuseSeed);
  for (int k = 0; k < 2; ++k) {
    const auto info = checked_step(*sampler, k, call(k));
    const auto out = fused(replay(call(k) + "z"), info);
    ASSERT_EQ(inputs->size(), static_cast<size_t>(k + 1));
    EXPECT_CLOSE_SHOWN(inputs->back(), replay(call(k) + "z_b"), k == 0 ? kModuleTol : kStepTol,
                       call(k) + "bridged expert's input");
    EXPECT_CLOSE_SHOWN(out, replay(call(k) + "fused"), kStepTol, call(k) + "fused eps");
  }
}

// The fused denoiser inside the engine's Euler sampler for two steps equals diffusers'
// EulerDiscreteScheduler stepping on the replayed fused eps.
TEST(CoopReplay, TwoEulerStepsOfTheFusedDenoiserMatchDiffusers) {
  auto a = expert("sd1", 64, 0.5), b = expert("sd2", 128, 0.5);
  auto sampler = euler();
  auto fused = coop::make_fused_denoiser({a, b}, a, a.model->scheduler, kFuseSeed);
  const auto x = replay("fuse.init_noise") * sampler->init_noise_sigma();
  EXPECT_CLOSE_SHOWN(sampler->sample(x, fused, 0, 2), replay("fuse.after2.state"), kStepTol,
                     "state after 2 steps");
}

// Not vacuous: other weights (0.6 / 0.4) move the fused eps far beyond the tolerance, and another
// seed for the bridged expert's first noise beyond it (that expert's x̂0 reaches the host through
// the tiny VAEs, max 0.18, so its noise moves the fused eps by ~0.7%).
TEST(CoopReplay, PerturbedWeightsOrSeedMissTheReplay) {
  auto sampler = euler();
  const auto info = sampler->step_info(0);
  const auto z = replay(call(0) + "z"), expected = replay(call(0) + "fused");
  auto a = expert("sd1", 64, 0.6), b = expert("sd2", 128, 0.4);
  EXPECT_MISSES(coop::make_fused_denoiser({a, b}, a, a.model->scheduler, kFuseSeed)(z, info),
                expected, 10 * kStepTol, "weights 0.6 / 0.4");
  a.weight = b.weight = 0.5;
  EXPECT_MISSES(coop::make_fused_denoiser({a, b}, a, a.model->scheduler, kFuseSeed + 1)(z, info),
                expected, kStepTol, "seed + 1");
}

// The hand-over at step 4 (x̂0 of the outgoing expert -> pixels -> resize -> the incoming
// expert's VAE -> re-noised with seed + 1000003 * (i + 1)) in both directions; another seed or
// step misses.
TEST(CoopReplay, HandOverBothWaysMatchesTheReplay) {
  auto sampler = euler();
  coop::CoopSettings settings;
  settings.seed = kHandOverSeed;
  for (const auto& [key, from_set, from_size, to_set, to_size] :
       {std::tuple<std::string, std::string, int64_t, std::string, int64_t>{"sd1_to_sd2", "sd1", 64,
                                                                            "sd2", 128},
        {"sd2_to_sd1", "sd2", 128, "sd1", 64}}) {
    const std::string p = "hand_over." + key + ".";
    checked_step(*sampler, kHandOverStep, p);
    auto from = expert(from_set, from_size, 1.0), to = expert(to_set, to_size, 1.0);
    EXPECT_TRUE(torch::equal(coop::hand_over_noise(to.latent_shape, kHandOverSeed, kHandOverStep),
                             replay(p + "noise")))
        << key << ": hand-over noise is torch's CPU generator at seed + 1000003 * (i + 1)";
    const auto x = replay(p + "x");
    EXPECT_CLOSE_SHOWN(coop::hand_over(x, from, to, *sampler, kHandOverStep, settings),
                       replay(p + "out"), kStepTol, key + " hand-over");
    settings.seed = kHandOverSeed + 1;
    EXPECT_MISSES(coop::hand_over(x, from, to, *sampler, kHandOverStep, settings),
                  replay(p + "out"), 10 * kStepTol, key + " with another seed");
    settings.seed = kHandOverSeed;
    EXPECT_MISSES(coop::hand_over(x, from, to, *sampler, kHandOverStep + 1, settings),
                  replay(p + "out"), 10 * kStepTol, key + " at another step");
  }
}
