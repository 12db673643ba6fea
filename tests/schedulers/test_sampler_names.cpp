// test_sampler_names.cpp: A1111's sampler names (every entry of stable-diffusion-webui 1.0 - 1.10's
// sd_samplers_kdiffusion.py / sd_samplers_timesteps.py / sd_samplers_lcm.py, their aliases, and
// Forge's DDPM) and schedule labels (sd_schedulers.py) resolve to our sampler + schedule or to an
// error that names the problem; display names round-trip; make_sampler takes the A1111 names.
#include "core/error.h"
#include "scheduler_support.h"
#include "schedulers/sampler.h"
#include "schedulers/sampler_names.h"

namespace pangu_draw::schedulers {
namespace {

struct Expected {
  const char* name;
  const char* sampler;
  const char* schedule;
};

// Every A1111 name (labels and aliases) that runs here.
const Expected kAvailable[] = {
    {"Euler a", "euler_a", "default"},
    {"Euler", "euler", "default"},
    {"LMS", "lms", "default"},
    {"Heun", "heun", "default"},
    {"DPM2", "dpm2", "default"},
    {"DPM2 a", "dpm2_a", "default"},
    {"DPM++ 2M", "dpmpp_2m", "default"},
    {"DPM++ SDE", "dpmpp_sde", "default"},
    {"DPM++ 2M SDE", "dpmpp_2m_sde", "default"},
    {"LMS Karras", "lms", "karras"},
    {"DPM2 Karras", "dpm2", "karras"},
    {"DPM2 a Karras", "dpm2_a", "karras"},
    {"DPM++ 2M Karras", "dpmpp_2m", "karras"},
    {"DPM++ SDE Karras", "dpmpp_sde", "karras"},
    {"DPM++ 2M SDE Karras", "dpmpp_2m_sde", "karras"},
    {"DPM++ 2M SDE Exponential", "dpmpp_2m_sde", "exponential"},
    {"DDIM", "ddim", "default"},
    {"UniPC", "unipc", "default"},
    {"LCM", "lcm", "default"},
    {"DDPM", "ddpm", "default"},
    {"k_euler_a", "euler_a", "default"},
    {"k_euler_ancestral", "euler_a", "default"},
    {"k_euler", "euler", "default"},
    {"k_lms", "lms", "default"},
    {"k_heun", "heun", "default"},
    {"k_dpm_2", "dpm2", "default"},
    {"k_dpm_2_a", "dpm2_a", "default"},
    {"k_dpmpp_2m", "dpmpp_2m", "default"},
    {"k_dpmpp_sde", "dpmpp_sde", "default"},
    {"k_dpmpp_2m_sde", "dpmpp_2m_sde", "default"},
    {"k_lms_ka", "lms", "karras"},
    {"k_dpm_2_ka", "dpm2", "karras"},
    {"k_dpm_2_a_ka", "dpm2_a", "karras"},
    {"k_dpmpp_2m_ka", "dpmpp_2m", "karras"},
    {"k_dpmpp_sde_ka", "dpmpp_sde", "karras"},
    {"k_dpmpp_2m_sde_ka", "dpmpp_2m_sde", "karras"},
    {"k_dpmpp_2m_sde_exp", "dpmpp_2m_sde", "exponential"},
    {"ddim", "ddim", "default"},
    {"unipc", "unipc", "default"},
    {"lcm", "lcm", "default"},
    // labels after any A1111 sampler, in any case
    {"Euler a SGM Uniform", "euler_a", "sgm_uniform"},
    {"Euler SGMUniform", "euler", "sgm_uniform"},
    {"Heun Exponential", "heun", "exponential"},
    {"UniPC Karras", "unipc", "karras"},
    {"DPM++ 2M Automatic", "dpmpp_2m", "karras"},
    {"dpm++ 2m sde karras", "dpmpp_2m_sde", "karras"},
    {"EULER A", "euler_a", "default"},
};

// A1111 samplers not implemented here; the error names the nearest one that is.
const Expected kUnavailable[] = {
    {"DPM++ 2S a", "dpmpp_sde", ""},
    {"DPM++ 2S a Karras", "dpmpp_sde", ""},
    {"DPM++ 2M SDE Heun", "dpmpp_2m_sde", ""},
    {"DPM++ 2M SDE Heun Karras", "dpmpp_2m_sde", ""},
    {"DPM++ 2M SDE Heun Exponential", "dpmpp_2m_sde", ""},
    {"DPM++ 3M SDE", "dpmpp_2m_sde", ""},
    {"DPM++ 3M SDE Karras", "dpmpp_2m_sde", ""},
    {"DPM++ 3M SDE Exponential", "dpmpp_2m_sde", ""},
    {"DPM fast", "dpmpp_2m", ""},
    {"DPM adaptive", "dpmpp_2m", ""},
    {"Restart", "heun", ""},
    {"HeunPP2", "heun", ""},
    {"IPNDM", "lms", ""},
    {"IPNDM_V", "lms", ""},
    {"DEIS", "unipc", ""},
    {"PLMS", "lms", ""},
    {"DDIM CFG++", "ddim", ""},
    {"k_dpmpp_2s_a", "dpmpp_sde", ""},
    {"k_dpm_fast", "dpmpp_2m", ""},
    {"k_dpm_ad", "dpmpp_2m", ""},
};

std::string usage_error(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind, ErrorKind::Usage) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error";
  return "";
}

TEST(SamplerNames, EveryAvailableA1111NameResolves) {
  for (const auto& e : kAvailable) {
    const SamplerChoice c = resolve_sampler(e.name);
    EXPECT_EQ(c.sampler, e.sampler) << e.name;
    EXPECT_EQ(c.schedule, e.schedule) << e.name;
  }
}

TEST(SamplerNames, UnavailableA1111SamplersSayWhatToUseInstead) {
  for (const auto& e : kUnavailable) {
    const std::string what = usage_error([&] { resolve_sampler(e.name); });
    EXPECT_NE(what.find("not available"), std::string::npos) << e.name << ": " << what;
    EXPECT_NE(what.find(e.sampler), std::string::npos) << e.name << ": " << what;
  }
  const std::string unknown = usage_error([] { resolve_sampler("Euler b"); });
  EXPECT_NE(unknown.find("'Euler b'"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("dpmpp_2m_sde"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("\"DPM++ 2M\""), std::string::npos) << unknown;
}

TEST(SamplerNames, ScheduleTypeLabels) {
  // A1111 1.9+ writes the schedule apart: "Sampler: DPM++ 2M", "Schedule type: Karras"
  const Expected with_label[] = {
      {"DPM++ 2M", "dpmpp_2m", "Karras"},
      {"DPM++ 2M SDE", "dpmpp_2m_sde", "Automatic"},
      {"Euler a", "euler_a", "Automatic"},
      {"Euler", "euler", "SGM Uniform"},
      {"DPM++ SDE", "dpmpp_sde", "exponential"},
      {"DPM2 a", "dpm2_a", "automatic"},
      {"LMS", "lms", "default"},
      {"DPM++ 2M Karras", "dpmpp_2m", "Karras"},
      {"Euler a Karras", "euler_a", "Automatic"},
  };
  const char* resolved[] = {"karras", "exponential", "default", "sgm_uniform", "exponential",
                            "karras", "default",     "karras",  "karras"};
  for (size_t i = 0; i < std::size(with_label); ++i) {
    const SamplerChoice c = resolve_sampler(with_label[i].name, with_label[i].schedule);
    EXPECT_EQ(c.sampler, with_label[i].sampler) << with_label[i].name;
    EXPECT_EQ(c.schedule, resolved[i]) << with_label[i].name << " + " << with_label[i].schedule;
  }
  for (const char* label : {"Uniform", "Polyexponential", "KL Optimal", "Align Your Steps",
                            "Simple", "Normal", "Beta", "DDIM", "cosine"}) {
    const std::string what = usage_error([&] { resolve_sampler("Euler", label); });
    EXPECT_NE(what.find(label), std::string::npos) << what;
    EXPECT_NE(what.find("sgm_uniform"), std::string::npos) << what;
  }
  const std::string suffix = usage_error([] { resolve_sampler("Euler Beta"); });
  EXPECT_NE(suffix.find("'Beta'"), std::string::npos) << suffix;
  const std::string conflict =
      usage_error([] { resolve_sampler("DPM++ 2M Karras", "exponential"); });
  EXPECT_NE(conflict.find("karras"), std::string::npos) << conflict;
  EXPECT_NE(conflict.find("exponential"), std::string::npos) << conflict;
}

TEST(SamplerNames, DisplayNamesRoundTrip) {
  EXPECT_EQ(a1111_sampler_name("dpmpp_2m_sde", "karras"), "DPM++ 2M SDE Karras");
  EXPECT_EQ(a1111_sampler_name("euler_a", "default"), "Euler a");
  EXPECT_EQ(a1111_sampler_name("euler_a", "sgm_uniform"), "Euler a SGM Uniform");
  EXPECT_EQ(a1111_sampler_name("dpmpp_2m", "exponential"), "DPM++ 2M Exponential");
  EXPECT_EQ(a1111_sampler_name("unipc", "default"), "UniPC");
  for (const auto& sampler : sampler_names()) {
    EXPECT_EQ(resolve_sampler(sampler).sampler, sampler);  // our own names are A1111-proof
    for (const auto& schedule : schedule_names()) {
      const SamplerChoice c = resolve_sampler(a1111_sampler_name(sampler, schedule));
      EXPECT_EQ(c.sampler, sampler) << schedule;
      EXPECT_EQ(c.schedule, schedule) << sampler;
    }
  }
}

TEST(SamplerNames, MakeSamplerTakesA1111NamesAndChecksSchedules) {
  const auto config = testing::scheduler_config(testing::fixture_sets().front());
  SamplerOptions karras = testing::with_steps(12);
  karras.schedule = "karras";
  const auto ours = make_sampler("dpmpp_2m_sde", config, karras);
  const auto theirs = make_sampler("DPM++ 2M SDE Karras", config, testing::with_steps(12));
  EXPECT_EQ(ours->timesteps(), theirs->timesteps());
  // sgm_uniform is diffusers' "trailing" spacing of the same config
  SamplerOptions sgm = testing::with_steps(7);
  sgm.schedule = "sgm_uniform";
  auto trailing = config;
  trailing.timestep_spacing = "trailing";
  for (const char* name : {"euler", "dpm2", "unipc", "ddim", "ddpm"}) {
    EXPECT_EQ(make_sampler(name, config, sgm)->timesteps(),
              make_sampler(name, trailing, testing::with_steps(7))->timesteps())
        << name;
  }
  EXPECT_EQ(make_sampler("euler", config, sgm)->timesteps().front(), 999);
  const std::pair<const char*, const char*> refused[] = {
      {"ddim", "karras"}, {"ddpm", "exponential"},    {"lcm", "sgm_uniform"},
      {"lcm", "karras"},  {"DDIM Karras", "default"}, {"euler", "beta"}};
  for (const auto& [name, schedule] : refused) {
    SamplerOptions o = testing::with_steps(4);
    o.schedule = schedule;
    const std::string what = usage_error([&] { make_sampler(name, config, o); });
    EXPECT_NE(what.find("schedule"), std::string::npos) << name << " " << schedule << ": " << what;
  }
  EXPECT_EQ(schedule_names(),
            (std::vector<std::string>{"default", "karras", "exponential", "sgm_uniform"}));
}

}  // namespace
}  // namespace pangu_draw::schedulers
