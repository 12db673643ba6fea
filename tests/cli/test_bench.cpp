// `pangu-draw bench` run as a process on a fixture model: the JSON report's fields and the
// exit codes for bad options. Never timings: those are measured, not asserted.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace pt = pangu_draw::testing;

namespace {

// The JSON object printed on stdout (log lines go to stderr but share the captured output).
nlohmann::json report_of(const std::string& output) {
  const size_t start = output.find("{\n");
  const size_t end = output.rfind('}');
  EXPECT_NE(start, std::string::npos) << output;
  if (start == std::string::npos || end == std::string::npos) return {};
  return nlohmann::json::parse(output.substr(start, end - start + 1));
}

}  // namespace

TEST(CliBench, ReportsEveryComponentOfAFixtureModel) {
  for (const std::string dtype : {"fp32", "bf16"}) {
    auto o = pt::run_cli({"bench", "--model", pt::model_dir("sd1"), "--steps", "2", "--no-peak",
                          "-W", "64", "-H", "64", "--dtype", dtype, "--json", "-q"});
    ASSERT_EQ(o.code, 0) << o.output;
    const auto r = report_of(o.output);
    EXPECT_EQ(r.at("dtype"), dtype);
    EXPECT_EQ(r.at("width"), 64);
    EXPECT_EQ(r.at("steps"), 2);
    ASSERT_EQ(r.at("components").size(), 3u);
    const std::vector<std::string> names = {"text_encoder", "unet_step_cfg", "vae_decode"};
    for (size_t i = 0; i < names.size(); ++i) {
      const auto& c = r["components"][i];
      EXPECT_EQ(c.at("name"), names[i]);
      EXPECT_GT(c.at("gflop").get<double>(), 0.0) << names[i];
      EXPECT_GE(c.at("median_s").get<double>(), c.at("min_s").get<double>()) << names[i];
    }
    EXPECT_EQ(r["components"][1].at("shape"), "[2, 4, 8, 8]");  // CFG doubles the batch
    EXPECT_GE(r.at("peak_rss_mb").get<double>(), r.at("rss_after_load_mb").get<double>());
    EXPECT_GT(r.at("params_millions").get<double>(), 0.0);
  }
}

TEST(CliBench, PeakOnlyMeasuresTheMachine) {
  auto o = pt::run_cli({"bench", "--peak-only", "--json", "-q"});
  ASSERT_EQ(o.code, 0) << o.output;
  const auto r = report_of(o.output);
  EXPECT_GT(r.at("peak_gemm_gflops").get<double>(), 0.0);
  EXPECT_GT(r.at("peak_conv_gflops").get<double>(), 0.0);
  EXPECT_TRUE(r.at("components").empty());
}

TEST(CliBench, BadOptionsAreUsageErrors) {
  auto unknown = pt::run_cli({"bench", "--arch", "sd3", "--no-peak", "-q"});
  EXPECT_EQ(unknown.code, 1) << unknown.output;
  EXPECT_NE(unknown.output.find("sd15 or sdxl"), std::string::npos) << unknown.output;
  EXPECT_EQ(pt::run_cli({"bench", "--steps", "0", "-q"}).code, 1);
  EXPECT_EQ(pt::run_cli({"bench", "--dtype", "fp8", "--no-peak", "-q"}).code, 1);
  EXPECT_EQ(pt::run_cli({"bench", "--model", "/nonexistent", "--no-peak", "-q"}).code, 2);
}
