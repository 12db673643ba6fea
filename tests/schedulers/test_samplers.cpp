// test_samplers.cpp: every sampler against an oracle denoiser that knows x0 (it returns the exact
// eps / v / x0 of the model input's noise level), run over the fixtures' scheduler configs
// (epsilon and v_prediction); split runs and VP hand-offs; seeded noise; progress; errors.
#include <cmath>

#include "core/error.h"
#include "scheduler_support.h"
#include "schedulers/sampler.h"

namespace pangu_draw::schedulers {
namespace {

using testing::fixture_sets;
using testing::scheduler_config;

struct Variant {
  std::string name;
  std::string schedule;
};
// The deterministic samplers: their ODE steps are exact when the model is exact. (Not DDIM with
// sgm_uniform: diffusers steps DDIM to t - T / n, which misses the next "trailing" timestep by one
// when n does not divide T; test_sampler_references checks that it does as diffusers does.)
const std::vector<Variant> kDeterministic = {
    {"ddim", "default"},        {"euler", "default"},
    {"euler", "karras"},        {"euler", "exponential"},    {"euler", "sgm_uniform"},
    {"heun", "default"},        {"heun", "karras"},          {"dpmpp_2m", "default"},
    {"dpmpp_2m", "karras"},     {"dpmpp_2m", "exponential"}, {"lms", "default"},
    {"lms", "karras"},          {"dpm2", "default"},         {"dpm2", "exponential"},
    {"unipc", "default"},       {"unipc", "karras"},         {"unipc", "sgm_uniform"}};
// Multistep samplers restart their history after a hand-over (not exact then).
bool multistep(const std::string& name) { return name == "dpmpp_2m" || name == "lms" || name == "unipc"; }

std::string label(const std::string& set, const Variant& v, int steps) {
  return set + " " + v.name + " " + v.schedule + " steps " + std::to_string(steps);
}

// x0 and eps of the test; the model input at alpha_bar should be sqrt(ab) x0 + sqrt(1 - ab) eps.
struct Oracle {
  torch::Tensor x0, eps;
  NoiseSchedule schedule;
  bool consistent = false;  // true: eps recomputed from the input (exact x0 even off-trajectory)
  double worst_input_error = 0;
  std::vector<StepInfo> calls;

  torch::Tensor vp(double ab) const { return std::sqrt(ab) * x0 + std::sqrt(1 - ab) * eps; }
  Denoiser denoiser() {
    return [this](const torch::Tensor& x_in, const StepInfo& info) {
      calls.push_back(info);
      const auto expected = vp(info.alpha_bar);
      const double err = ((x_in - expected).abs().max() / expected.abs().max()).item<double>();
      worst_input_error = std::max(worst_input_error, err);
      const auto e = consistent ? (x_in - std::sqrt(info.alpha_bar) * x0) / std::sqrt(1 - info.alpha_bar) : eps;
      return schedule.model_output(x0, e, info.alpha_bar);
    };
  }
};

Oracle make_oracle(const NoiseScheduleConfig& c) {
  torch::manual_seed(7);
  auto x0 = torch::randn({1, 4, 8, 8}) * 2;
  auto eps = torch::randn({1, 4, 8, 8});
  Oracle o{x0, eps, NoiseSchedule(c), false, 0.0, {}};
  return o;
}

// The first state of a run: the VP latent at step 0 in the sampler's own convention.
torch::Tensor initial_state(const Sampler& s, const Oracle& o) {
  return s.from_vp(o.vp(s.step_info(0).alpha_bar), 0);
}

TEST(Samplers, ExactModelStaysOnTheTrajectoryAndLandsOnX0) {
  for (const auto& set : fixture_sets()) {
    const auto c = scheduler_config(set);
    for (const auto& v : kDeterministic) {
      for (int steps : {1, 3, 8, 20}) {
        SamplerOptions opt;
        opt.steps = steps;
        opt.schedule = v.schedule;
        auto s = make_sampler(v.name, c, opt);
        Oracle o = make_oracle(c);
        const auto out = s->sample(initial_state(*s, o), o.denoiser());
        const std::string what = label(set, v, steps);
        // float32 steps: a few ulps of the largest state (|x0| + sigma |eps| ~ 60) per step
        EXPECT_LT(o.worst_input_error, 1e-4) << what;
        const StepInfo end = s->step_info(steps);
        PD_EXPECT_CLOSE(s->to_vp(out, steps), o.vp(end.alpha_bar), 1e-4, what + " final state");
        // The sigma samplers end at sigma 0: exactly x0. DDIM without set_alpha_to_one and
        // DPM-Solver++ / UniPC 0.25 end at sigma(t=0) = 0.029, i.e. x0 plus 2.9% of the noise
        // (with one Karras step their only sigma is sigma_max, repeated: they return the input).
        const bool vp = v.name == "ddim" || v.name == "dpmpp_2m" || v.name == "unipc";
        if (end.sigma == 0) {
          PD_EXPECT_CLOSE(out, o.x0, 1e-4, what + " lands on x0");
        } else if (steps > 1) {
          EXPECT_TRUE(vp) << what;
          EXPECT_LT(end.sigma, 0.03) << what;
        }
      }
    }
  }
}

TEST(Samplers, DenoiserSeesTheListedTimesteps) {
  const auto c = scheduler_config(fixture_sets().front());
  for (const auto& name : sampler_names()) {
    auto s = make_sampler(name, c, testing::with_steps(6));
    Oracle o = make_oracle(c);
    s->sample(initial_state(*s, o), o.denoiser());
    ASSERT_EQ(o.calls.size(), s->timesteps().size()) << name;
    for (size_t k = 0; k < o.calls.size(); ++k) {
      EXPECT_EQ(o.calls[k].timestep, s->timesteps()[k]) << name << " call " << k;
      EXPECT_EQ(o.calls[k].num_steps, 6) << name;
      EXPECT_NEAR(o.calls[k].alpha_bar, 1 / (1 + o.calls[k].sigma * o.calls[k].sigma), 1e-9) << name;
    }
    // Heun, DPM2 (ancestral) and DPM++ SDE evaluate twice per step except the last
    const bool two = name == "heun" || name == "dpm2" || name == "dpm2_a" || name == "dpmpp_sde";
    const size_t expected_calls = two ? 11 : 6;
    EXPECT_EQ(o.calls.size(), expected_calls) << name;
    EXPECT_EQ(o.calls.back().index, 5) << name;
  }
}

TEST(Samplers, StochasticSamplersLandOnX0WithAnExactModel) {
  for (const auto& set : fixture_sets()) {
    const auto c = scheduler_config(set);
    for (const char* name : {"euler_a", "lcm", "ddim", "dpm2_a", "dpmpp_sde", "ddpm"}) {
      SamplerOptions opt;
      opt.steps = 6;
      opt.seed = 3;
      opt.eta = 1.0;
      // DDIM reaches alpha_bar 1 (x0) only with set_alpha_to_one
      const auto cc = testing::scheduler_config_with(set, "set_alpha_to_one", true);
      auto s = make_sampler(name, cc, opt);
      Oracle o = make_oracle(cc);
      o.consistent = true;
      const auto out = s->sample(initial_state(*s, o), o.denoiser());
      // LCM keeps c_skip(t) x_t with c_skip < 1e-7 at its last timestep (>= 19); DDPM adds
      // 1e-10 of noise at t = 1
      PD_EXPECT_CLOSE(out, o.x0, 1e-4, set + " " + name);
    }
  }
}

torch::Tensor run_seeded(const std::string& name, const NoiseScheduleConfig& c,
                         std::optional<int64_t> seed) {
  SamplerOptions opt;
  opt.steps = 5;
  opt.seed = seed;
  opt.eta = 0.7;
  auto s = make_sampler(name, c, opt);
  Oracle o = make_oracle(c);
  return s->sample(initial_state(*s, o), o.denoiser());
}

TEST(Samplers, NoiseIsReproducibleForASeedAndDiffersAcrossSeeds) {
  const auto c = scheduler_config(fixture_sets().front());
  for (const char* name : {"euler_a", "lcm", "ddim", "dpm2_a", "dpmpp_sde", "dpmpp_2m_sde", "ddpm"}) {
    const auto a = run_seeded(name, c, 1), b = run_seeded(name, c, 1), d = run_seeded(name, c, 2);
    EXPECT_TRUE(torch::equal(a, b)) << name;
    EXPECT_GT((a - d).abs().max().item<double>(), 1e-3) << name;
    EXPECT_GT((a - run_seeded(name, c, std::nullopt)).abs().max().item<double>(), 1e-3) << name;
  }
}

TEST(Samplers, SplitRunsAndVPHandoffsEqualOneRun) {
  const auto c = scheduler_config(fixture_sets().front());
  for (const auto& v : kDeterministic) {
    SamplerOptions opt;
    opt.steps = 8;
    opt.schedule = v.schedule;
    Oracle o = make_oracle(c);
    // a model with an error, so that multistep history matters
    Denoiser noisy = [&o](const torch::Tensor& x, const StepInfo& info) {
      return o.denoiser()(x, info) * 1.05 + 0.01 * x;
    };
    auto whole = make_sampler(v.name, c, opt);
    const auto x_init = initial_state(*whole, o);
    const auto full = whole->sample(x_init, noisy);
    auto split = make_sampler(v.name, c, opt);
    const auto halves = split->sample(split->sample(x_init, noisy, 0, 3), noisy, 3, -1);
    PD_EXPECT_CLOSE(halves, full, 1e-6, v.name + " split at 3");
    // hand the VP latent to a fresh sampler: a lower-order restart for the multistep samplers,
    // exact otherwise
    auto first = make_sampler(v.name, c, opt);
    const auto vp = first->to_vp(first->sample(x_init, noisy, 0, 3), 3);
    auto second = make_sampler(v.name, c, opt);
    PD_EXPECT_CLOSE(second->to_vp(second->from_vp(vp, 3), 3), vp, 1e-6, v.name + " vp round trip");
    const auto handed = second->sample(second->from_vp(vp, 3), noisy, 3, -1);
    PD_EXPECT_CLOSE(handed, full, multistep(v.name) ? 5e-2 : 1e-5, v.name + " handoff");
  }
}

TEST(Samplers, ProgressIsReportedAndCanCancel) {
  const auto c = scheduler_config(fixture_sets().front());
  std::vector<std::pair<int, int>> seen;
  SamplerOptions opt;
  opt.steps = 4;
  opt.on_step = [&](int step, int n) {
    seen.emplace_back(step, n);
    if (step == 2) throw Error(ErrorKind::Runtime, "cancelled");
  };
  auto s = make_sampler("euler", c, opt);
  Oracle o = make_oracle(c);
  EXPECT_THROW(s->sample(initial_state(*s, o), o.denoiser()), Error);
  EXPECT_EQ(seen, (std::vector<std::pair<int, int>>{{1, 4}, {2, 4}}));
  EXPECT_EQ(o.calls.size(), 2u);  // no model call after the cancel
}

void expect_usage_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one mentioning '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind, ErrorKind::Usage) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Samplers, ErrorsNameTheProblem) {
  const auto c = scheduler_config(fixture_sets().front());
  expect_usage_error([&] { make_sampler("plms", c, SamplerOptions{}); }, "euler_a");
  expect_usage_error([&] { make_sampler("plms", c, SamplerOptions{}); }, "'plms'");
  for (const auto& name : sampler_names()) {
    expect_usage_error([&] { make_sampler(name, c, testing::with_steps(0)); }, "steps");
    expect_usage_error([&] { make_sampler(name, c, testing::with_steps(-3)); }, "-3");
  }
  SamplerOptions karras;
  karras.karras = true;
  expect_usage_error([&] { make_sampler("ddim", c, karras); }, "karras");
  expect_usage_error([&] { make_sampler("lcm", c, karras); }, "karras");
  expect_usage_error([&] { make_sampler("lcm", c, testing::with_steps(51)); }, "original_inference_steps");
  expect_usage_error([&] { make_sampler("euler", c, testing::with_steps(1001)); }, "num_train_timesteps");
  SamplerOptions eta;
  eta.eta = -0.5;
  expect_usage_error([&] { make_sampler("ddim", c, eta); }, "eta");
  auto s = make_sampler("euler", c, testing::with_steps(4));
  Oracle o = make_oracle(c);
  expect_usage_error([&] { s->sample(o.x0, o.denoiser(), 2, 5); }, "[2, 5)");
  expect_usage_error([&] { s->sample(o.x0, o.denoiser(), 3, 1); }, "[3, 1)");
  expect_usage_error([&] { s->sample(o.x0, Denoiser{}); }, "denoiser");
}

TEST(Samplers, DDIMFinalAlphaFollowsSetAlphaToOne) {
  for (const auto& set : fixture_sets()) {
    for (bool one : {true, false}) {
      const auto c = testing::scheduler_config_with(set, "set_alpha_to_one", one);
      const auto ddim = make_sampler("ddim", c, testing::with_steps(8));
      const double first = NoiseSchedule(c).alphas_cumprod().front();
      EXPECT_EQ(ddim->step_info(8).alpha_bar, one ? 1.0 : first) << set;
      // prev timestep = t - 1000 // 8: the state after step i sits at the next listed timestep
      EXPECT_EQ(ddim->step_info(3).timestep, ddim->timesteps()[2] - 125) << set;
    }
  }
}

TEST(Samplers, NamesAreTheDocumentedSet) {
  EXPECT_EQ(sampler_names(),
            (std::vector<std::string>{"ddim", "euler", "euler_a", "heun", "dpmpp_2m", "lcm", "lms",
                                      "dpm2", "dpm2_a", "dpmpp_sde", "dpmpp_2m_sde", "unipc",
                                      "ddpm"}));
}

}  // namespace
}  // namespace pangu_draw::schedulers
