// test_timesteps.cpp: the timesteps and noise levels each sampler produces, against the
// fixtures' diffusers 0.25 references (cases.json "sampling_cases": <key>.timesteps) and
// against the defining formulas (Karras sigmas, init_noise_sigma).
#include <cmath>

#include "core/error.h"
#include "scheduler_support.h"
#include "schedulers/sampler.h"

namespace pangu_draw::schedulers {
namespace {

using testing::fixture_sets;
using testing::scheduler_config;
using testing::scheduler_config_with;

// cases.json sampler names: "<engine name>[_karras]".
SamplerOptions options_for(const std::string& case_sampler, int steps, std::string* name) {
  SamplerOptions o;
  o.steps = steps;
  const std::string suffix = "_karras";
  *name = case_sampler;
  if (name->size() > suffix.size() &&
      name->compare(name->size() - suffix.size(), suffix.size(), suffix) == 0) {
    name->resize(name->size() - suffix.size());
    o.karras = true;
  }
  return o;
}

TEST(Timesteps, MatchTheReferenceRuns) {
  int checked = 0;
  for (const auto& set : fixture_sets()) {
    const testing::Reference ref(set);
    const auto config = scheduler_config(set);
    const auto cases = testing::cases(set);  // keep the JSON alive across the loop
    for (const auto& c : cases.at("sampling_cases")) {
      const std::string key = c.at("key").get<std::string>() + ".timesteps";
      std::string name;
      const auto options = options_for(c.at("sampler").get<std::string>(), c.at("steps").get<int>(), &name);
      const auto sampler = make_sampler(name, config, options);
      const auto expected = ref.get(key).to(torch::kDouble);
      const auto& ts = sampler->timesteps();
      ASSERT_EQ(static_cast<int64_t>(ts.size()), expected.numel()) << set << " " << key;
      for (size_t i = 0; i < ts.size(); ++i) {
        const double e = expected[static_cast<int64_t>(i)].item<double>();
        // the reference is float32: 1e-4 relative covers its rounding of fractional (Karras) t
        EXPECT_NEAR(ts[i], e, 1e-4 * std::max(1.0, std::abs(e))) << set << " " << key << " [" << i << "]";
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 0) << "no sampling_cases in the fixtures";
}

// sigma(t) for integer t from alphas_cumprod computed in float64, like test_noise_schedule.
double sigma_f64(const NoiseScheduleConfig& c, int64_t t) {
  double prod = 1;
  for (int64_t i = 0; i <= t; ++i) {
    const double f = static_cast<double>(i) / static_cast<double>(c.num_train_timesteps - 1);
    const double r = std::sqrt(c.beta_start) + f * (std::sqrt(c.beta_end) - std::sqrt(c.beta_start));
    prod *= 1 - r * r;
  }
  return std::sqrt((1 - prod) / prod);
}

void expect_karras(const Sampler& s, double sigma_min, double sigma_max, const std::string& what) {
  const int n = s.num_steps();
  for (int i = 0; i < n; ++i) {
    const double r = n > 1 ? static_cast<double>(i) / (n - 1) : 0.0;
    const double inv = std::pow(sigma_max, 1 / 7.0) + r * (std::pow(sigma_min, 1 / 7.0) - std::pow(sigma_max, 1 / 7.0));
    const double expected = std::pow(inv, 7.0);
    EXPECT_NEAR(s.step_info(i).sigma, expected, 5e-5 * expected) << what << " i=" << i;
  }
}

TEST(Timesteps, KarrasSigmasFollowTheFormula) {
  for (const auto& set : fixture_sets()) {
    const auto c = scheduler_config(set);
    ASSERT_EQ(c.beta_schedule, "scaled_linear");
    for (int steps : {3, 8, 25}) {
      SamplerOptions o;
      o.steps = steps;
      o.karras = true;
      // Euler / Heun: between the sigmas of the first and last spaced timesteps
      const auto plain = make_sampler("euler", c, testing::with_steps(steps));
      const double lo = plain->step_info(steps - 1).sigma, hi = plain->step_info(0).sigma;
      for (const char* name : {"euler", "heun", "euler_a"}) {
        const auto s = make_sampler(name, c, o);
        expect_karras(*s, lo, hi, set + " " + name + " steps " + std::to_string(steps));
        EXPECT_EQ(s->step_info(steps).sigma, 0.0);
      }
      // DPM-Solver++: over the whole training range, ending on its last sigma again
      const auto dpm = make_sampler("dpmpp_2m", c, o);
      const double dlo = sigma_f64(c, 0), dhi = sigma_f64(c, c.num_train_timesteps - 1);
      expect_karras(*dpm, dlo, dhi, set + " dpmpp_2m steps " + std::to_string(steps));
      EXPECT_EQ(dpm->step_info(steps).sigma, dpm->step_info(steps - 1).sigma);
    }
  }
}

TEST(Timesteps, SigmasMatchTheTrainingTable) {
  for (const auto& set : fixture_sets()) {
    const auto c = scheduler_config(set);
    for (const char* name : {"euler", "dpmpp_2m", "ddim"}) {
      const auto s = make_sampler(name, c, testing::with_steps(8));
      for (int i = 0; i < 8; ++i) {
        const auto t = static_cast<int64_t>(s->timesteps()[static_cast<size_t>(i)]);
        const double expected = sigma_f64(c, t);
        EXPECT_NEAR(s->step_info(i).sigma, expected, 2e-5 * expected) << set << " " << name << " " << i;
        EXPECT_NEAR(s->step_info(i).alpha_bar, 1 / (1 + expected * expected), 1e-6) << name;
      }
    }
    // DPM-Solver++ 0.25 ends at sigma(t = 0), not at 0
    EXPECT_NEAR(make_sampler("dpmpp_2m", c, testing::with_steps(8))->step_info(8).sigma, sigma_f64(c, 0), 1e-6);
  }
}

TEST(Timesteps, InitNoiseSigmaDependsOnTheSpacing) {
  for (const auto& set : fixture_sets()) {
    for (const char* spacing : {"leading", "linspace", "trailing"}) {
      const auto c = scheduler_config_with(set, "timestep_spacing", spacing);
      for (const char* name : {"euler", "euler_a", "heun"}) {
        const auto s = make_sampler(name, c, testing::with_steps(10));
        const double sigma_max = s->step_info(0).sigma;
        const double expected = std::string(spacing) == "leading" ? std::sqrt(sigma_max * sigma_max + 1) : sigma_max;
        EXPECT_NEAR(s->init_noise_sigma(), expected, 1e-6 * expected) << set << " " << spacing << " " << name;
      }
      for (const char* name : {"ddim", "dpmpp_2m", "lcm"}) {
        EXPECT_EQ(make_sampler(name, c, testing::with_steps(4))->init_noise_sigma(), 1.0) << name;
      }
    }
  }
}

TEST(Timesteps, SpacingsFollowDiffusers) {
  const auto set = fixture_sets().front();
  const auto lin = scheduler_config_with(set, "timestep_spacing", "linspace");
  const auto trail = scheduler_config_with(set, "timestep_spacing", "trailing");
  // DDIM rounds linspace(0, 999, 4) = 0, 333, 666, 999
  EXPECT_EQ(make_sampler("ddim", lin, testing::with_steps(4))->timesteps(), (std::vector<double>{999, 666, 333, 0}));
  // Euler keeps the fractional linspace values: 0, 499.5, 999
  EXPECT_EQ(make_sampler("euler", lin, testing::with_steps(3))->timesteps(), (std::vector<double>{999, 499.5, 0}));
  // trailing: round(arange(1000, 0, -1000/3)) - 1 = 999, 666, 332 (666.67 -> 667 - 1, 333.33 -> 333 - 1)
  EXPECT_EQ(make_sampler("ddim", trail, testing::with_steps(3))->timesteps(), (std::vector<double>{999, 666, 332}));
  // DPM-Solver linspace drops the 0 of linspace(0, 999, n + 1): round(999 * k / 4)
  EXPECT_EQ(make_sampler("dpmpp_2m", lin, testing::with_steps(3))->timesteps(), (std::vector<double>{999, 666, 333}));
  // LCM: the 50-step distillation grid 19, 39, ..., 999 at floor(i * 50 / 4)
  EXPECT_EQ(make_sampler("lcm", lin, testing::with_steps(4))->timesteps(), (std::vector<double>{999, 759, 499, 259}));
  // Heun lists the second evaluation of every step but the last
  EXPECT_EQ(make_sampler("heun", lin, testing::with_steps(3))->timesteps(),
            (std::vector<double>{999, 499.5, 499.5, 0, 0}));
}

}  // namespace
}  // namespace pangu_draw::schedulers
