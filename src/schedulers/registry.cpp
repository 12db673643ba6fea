// registry.cpp: sampler name -> factory ("euler_a" -> EulerAncestral...), the names listed for
// --help and request validation.
#include "schedulers/registry.h"

#include <utility>

#include "core/error.h"

namespace pangu_draw::schedulers {

namespace {

using Factory = std::unique_ptr<Sampler> (*)(const NoiseScheduleConfig&, const SamplerOptions&);

const std::vector<std::pair<std::string, Factory>>& factories() {
  static const std::vector<std::pair<std::string, Factory>> kFactories = {
      {"ddim", make_ddim},         {"euler", make_euler}, {"euler_a", make_euler_ancestral},
      {"heun", make_heun},         {"dpmpp_2m", make_dpmpp_2m}, {"lcm", make_lcm},
  };
  return kFactories;
}

}  // namespace

std::vector<std::string> sampler_names() {
  std::vector<std::string> names;
  for (const auto& f : factories()) names.push_back(f.first);
  return names;
}

std::unique_ptr<Sampler> make_sampler(const std::string& name, const NoiseScheduleConfig& config,
                                      const SamplerOptions& options) {
  for (const auto& f : factories()) {
    if (f.first == name) return f.second(config, options);
  }
  std::string list;
  for (const auto& n : sampler_names()) list += (list.empty() ? "" : ", ") + n;
  PD_FAIL(Usage, "unknown sampler '" << name << "'; choose one of: " << list);
}

}  // namespace pangu_draw::schedulers
