// test_noise_schedule.cpp: NoiseScheduleConfig from the fixtures' scheduler_config.json, the
// alphas_cumprod / sigma tables against a float64 evaluation of their definition, the eps / x0 / v
// conversions, and the config errors.
#include <cmath>

#include "core/error.h"
#include "scheduler_support.h"

namespace pangu_draw::schedulers {
namespace {

using testing::fixture_sets;
using testing::scheduler_config;
using testing::scheduler_config_with;
using testing::scheduler_json;

TEST(NoiseScheduleConfig, ReadsTheFixtureConfigs) {
  ASSERT_FALSE(fixture_sets().empty());
  for (const auto& set : fixture_sets()) {
    const auto json = scheduler_json(set);
    const auto c = NoiseScheduleConfig::from_json(json);
    EXPECT_EQ(c.num_train_timesteps, json.get_int("num_train_timesteps")) << set;
    EXPECT_EQ(c.beta_schedule, json.get_string("beta_schedule")) << set;
    EXPECT_DOUBLE_EQ(c.beta_start, json.get_double("beta_start")) << set;
    EXPECT_DOUBLE_EQ(c.beta_end, json.get_double("beta_end")) << set;
    EXPECT_EQ(c.prediction_type, json.get_string("prediction_type")) << set;
    EXPECT_EQ(c.timestep_spacing, json.get_string("timestep_spacing")) << set;
    EXPECT_EQ(c.steps_offset, json.get_int("steps_offset")) << set;
    // the fixture references state each model's prediction type
    EXPECT_EQ(c.prediction_type, testing::cases(set).at("prediction_type").get<std::string>()) << set;
  }
}

// alphas_cumprod = prod(1 - beta_i) with the schedule's betas, evaluated in float64.
std::vector<double> alphas_cumprod_f64(const NoiseScheduleConfig& c) {
  std::vector<double> out;
  double prod = 1;
  const int64_t n = c.num_train_timesteps;
  for (int64_t i = 0; i < n; ++i) {
    double beta = 0;
    const double f = static_cast<double>(i) / static_cast<double>(n - 1);
    if (c.beta_schedule == "linear") beta = c.beta_start + f * (c.beta_end - c.beta_start);
    if (c.beta_schedule == "scaled_linear") {
      const double r = std::sqrt(c.beta_start) + f * (std::sqrt(c.beta_end) - std::sqrt(c.beta_start));
      beta = r * r;
    }
    prod *= 1 - beta;
    out.push_back(prod);
  }
  return out;
}

TEST(NoiseSchedule, TablesMatchTheirDefinition) {
  for (const auto& set : fixture_sets()) {
    for (const char* kind : {"scaled_linear", "linear"}) {
      const auto c = scheduler_config_with(set, "beta_schedule", kind);
      const NoiseSchedule s(c);
      const auto expected = alphas_cumprod_f64(c);
      ASSERT_EQ(s.alphas_cumprod().size(), expected.size());
      for (size_t t = 0; t < expected.size(); ++t) {
        // float32 betas: each factor is within 1e-7, the product of 1000 within ~1e-5
        ASSERT_NEAR(s.alphas_cumprod()[t], expected[t], 2e-5 * expected[t]) << set << " t=" << t;
        const double sigma = std::sqrt((1 - s.alphas_cumprod()[t]) / s.alphas_cumprod()[t]);
        ASSERT_NEAR(s.sigmas()[t], sigma, 1e-6 * sigma) << set << " t=" << t;
      }
      EXPECT_DOUBLE_EQ(s.sigma(10.0), s.sigmas()[10]);
      EXPECT_NEAR(s.sigma(10.25), 0.75 * s.sigmas()[10] + 0.25 * s.sigmas()[11], 1e-12);
    }
  }
}

TEST(NoiseSchedule, CosineScheduleIsMonotoneAndCapped) {
  const auto c = scheduler_config_with(fixture_sets().front(), "beta_schedule", "squaredcos_cap_v2");
  const NoiseSchedule s(c);
  for (size_t t = 1; t < s.alphas_cumprod().size(); ++t) {
    ASSERT_LT(s.alphas_cumprod()[t], s.alphas_cumprod()[t - 1]) << t;
  }
  // the first beta is tiny, the last is capped at 0.999
  EXPECT_GT(s.alphas_cumprod().front(), 0.999f);
  EXPECT_NEAR(s.alphas_cumprod().back() / s.alphas_cumprod()[s.alphas_cumprod().size() - 2], 0.001, 1e-4);
}

TEST(NoiseSchedule, PredictionConversionsInvertEachOther) {
  torch::manual_seed(0);
  const auto x0 = torch::randn({2, 4, 8, 8});
  const auto eps = torch::randn({2, 4, 8, 8});
  for (const char* type : {"epsilon", "v_prediction", "sample"}) {
    const NoiseSchedule s(scheduler_config_with(fixture_sets().front(), "prediction_type", type));
    for (double ab : {0.999, 0.5, 0.02}) {
      const auto x_t = std::sqrt(ab) * x0 + std::sqrt(1 - ab) * eps;
      const auto out = s.model_output(x0, eps, ab);
      const std::string what = std::string(type) + " ab=" + std::to_string(ab);
      PD_EXPECT_CLOSE(s.to_x0(out, x_t, ab), x0, 1e-5, what + " x0");
      PD_EXPECT_CLOSE(s.to_eps(out, x_t, ab), eps, ab > 0.99 ? 1e-3 : 1e-5, what + " eps");
    }
  }
}

TEST(NoiseSchedule, SigmaAlphaBarRoundTrip) {
  for (double ab : {0.9991, 0.5, 0.0047}) {
    EXPECT_NEAR(NoiseSchedule::alpha_bar_from_sigma(NoiseSchedule::sigma_from_alpha_bar(ab)), ab, 1e-12);
  }
}

void expect_input_error(const std::string& key, const nlohmann::json& value) {
  const auto set = fixture_sets().front();
  try {
    scheduler_config_with(set, key, value);
    ADD_FAILURE() << key << "=" << value.dump() << " was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind, ErrorKind::Input) << e.what();
    EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test:" + key), std::string::npos) << e.what();
  }
}

TEST(NoiseScheduleConfig, RejectsBadFields) {
  expect_input_error("prediction_type", "flow");
  expect_input_error("timestep_spacing", "uniform");
  expect_input_error("beta_schedule", "sigmoid");
  expect_input_error("steps_offset", "one");
  expect_input_error("num_train_timesteps", 1);
  expect_input_error("thresholding", true);
  expect_input_error("rescale_betas_zero_snr", true);
  expect_input_error("interpolation_type", "log_linear");
  expect_input_error("timestep_type", "continuous");
  expect_input_error("trained_betas", nlohmann::json::array({0.1, 0.2}));
  expect_input_error("original_inference_steps", 0);
  expect_input_error("original_inference_steps", 5000);
}

TEST(NoiseScheduleConfig, TrainedBetasReplaceTheSchedule) {
  const auto set = fixture_sets().front();
  const auto c = scheduler_config(set);
  std::vector<double> betas(static_cast<size_t>(c.num_train_timesteps), 0.01);
  const NoiseSchedule s(scheduler_config_with(set, "trained_betas", betas));
  EXPECT_NEAR(s.alphas_cumprod()[9], std::pow(0.99, 10), 1e-6);
}

}  // namespace
}  // namespace pangu_draw::schedulers
