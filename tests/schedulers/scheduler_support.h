// scheduler_support.h: shared helpers of the scheduler tests: the fixtures' scheduler configs
// and config variants built from them.
#pragma once

#include <string>

#include "io/json_config.h"
#include "schedulers/noise_schedule.h"
#include "schedulers/sampler.h"
#include "support/fixtures.h"

namespace pangu_draw::testing {

inline std::string scheduler_config_path(const std::string& set) {
  return model_dir(set) + "/scheduler/scheduler_config.json";
}

inline io::JsonConfig scheduler_json(const std::string& set) {
  return io::JsonConfig::load(scheduler_config_path(set));
}

inline schedulers::NoiseScheduleConfig scheduler_config(const std::string& set) {
  return schedulers::NoiseScheduleConfig::from_json(scheduler_json(set));
}

// The set's config with one field replaced (or added).
inline schedulers::NoiseScheduleConfig scheduler_config_with(const std::string& set,
                                                             const std::string& key,
                                                             const nlohmann::json& value) {
  nlohmann::json j = scheduler_json(set).raw();
  j[key] = value;
  return schedulers::NoiseScheduleConfig::from_json(io::JsonConfig(j, "test:" + key));
}

inline schedulers::SamplerOptions with_steps(int steps) {
  schedulers::SamplerOptions o;
  o.steps = steps;
  return o;
}

}  // namespace pangu_draw::testing
