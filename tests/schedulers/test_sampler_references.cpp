// test_sampler_references.cpp: every sampler x schedule that diffusers 0.25 can run, against its
// reference runs (tests/schedulers/data, made by make_sampler_references.py): the same closed-form
// "model", the run's CPU generator seeded as diffusers' and drawing the initial noise first, then
// the stochastic steps from the same stream. Final latents within 1e-4 of the reference's max
// magnitude; the model's timesteps as diffusers lists them.
#include <ATen/CPUGeneratorImpl.h>

#include <cstdio>
#include <map>

#include "io/json_config.h"
#include "io/safetensors.h"
#include "scheduler_support.h"
#include "schedulers/sampler.h"

namespace pangu_draw::schedulers {
namespace {

std::string data_path(const std::string& name) {
  return std::string(PD_SCHEDULER_TEST_DATA) + "/" + name;
}

const nlohmann::json& listing() {
  static const nlohmann::json j = testing::read_json(data_path("sampler_cases.json"));
  return j;
}

const io::SafetensorsFile& references() {
  static const auto file = io::SafetensorsFile::open(data_path("sampler_reference.safetensors"));
  return *file;
}

// The reference script's model: 0.6 tanh(x) + 0.3 sin(1.7 x + t / 250) + 0.1 x, float32.
Denoiser closed_form_model() {
  return [](const torch::Tensor& x, const StepInfo& info) {
    const double t = static_cast<float>(info.timestep);  // diffusers' float32 / int64 timesteps
    return 0.6 * torch::tanh(x) + 0.3 * torch::sin(1.7 * x + t / 250.0) + 0.1 * x;
  };
}

NoiseScheduleConfig config_named(const std::string& name) {
  return NoiseScheduleConfig::from_json(
      io::JsonConfig(listing().at("configs").at(name), "cases:" + name));
}

double relative_max_diff(const torch::Tensor& a, const torch::Tensor& e) {
  return ((a - e).abs().max() / e.abs().max()).item<double>();
}

std::shared_ptr<at::Generator> seeded(int64_t seed) {
  return std::make_shared<at::Generator>(
      at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed)));
}

TEST(SamplerReferences, GeneratorIsTorchsCpuStream) {
  const auto gen = seeded(1234);
  const auto noise = torch::randn({1, 4, 8, 8}, *gen, torch::kFloat);
  EXPECT_TRUE(torch::equal(noise, references().load("generator.seed1234")));
}

TEST(SamplerReferences, FinalLatentsMatchDiffusers) {
  std::map<std::string, double> worst;  // per sampler
  int checked = 0;
  for (const auto& c : listing().at("cases")) {
    const std::string key = c.at("key").get<std::string>();
    const std::string sampler = c.at("sampler").get<std::string>();
    SamplerOptions options = testing::with_steps(c.at("steps").get<int>());
    options.schedule = c.at("schedule").get<std::string>();
    options.generator = seeded(c.at("seed").get<int64_t>());
    // the pipeline draws the initial noise from the run's generator first
    const auto noise = torch::randn({1, 4, 8, 8}, *options.generator, torch::kFloat);
    auto s = make_sampler(sampler, config_named(c.at("config").get<std::string>()), options);
    const auto latent = s->sample(noise * s->init_noise_sigma(), closed_form_model());
    const auto expected = references().load(key + ".latent");
    PD_EXPECT_CLOSE(latent, expected, 1e-4, key);
    const auto timesteps = references().load(key + ".timesteps", torch::kDouble);
    ASSERT_EQ(static_cast<int64_t>(s->timesteps().size()), timesteps.numel()) << key;
    for (int64_t k = 0; k < timesteps.numel(); ++k) {
      EXPECT_NEAR(s->timesteps()[static_cast<size_t>(k)], timesteps[k].item<double>(), 1e-3)
          << key << " timestep " << k;
    }
    double& w = worst[sampler + " " + c.at("schedule").get<std::string>()];
    w = std::max(w, relative_max_diff(latent, expected));
    ++checked;
  }
  for (const auto& [what, diff] : worst)
    std::printf("  %-26s max|diff|/max|ref| = %.3g\n", what.c_str(), diff);
  EXPECT_EQ(checked, static_cast<int>(listing().at("cases").size()));
  EXPECT_GT(checked, 150);
}

}  // namespace
}  // namespace pangu_draw::schedulers
