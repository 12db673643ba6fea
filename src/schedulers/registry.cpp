// registry.cpp: sampler name -> factory ("euler_a" -> EulerAncestral...), the schedules each
// sampler can run, and the names listed for --help and request validation.
#include "schedulers/registry.h"

#include <utility>

#include "core/error.h"
#include "schedulers/sampler_names.h"

namespace pangu_draw::schedulers {

namespace {

using Factory = std::unique_ptr<Sampler> (*)(const NoiseScheduleConfig&, const SamplerOptions&);

struct Entry {
  const char* name;
  Factory make;
  bool sigma_shapes;  // karras / exponential (a sigma or DPM-Solver schedule)
  bool spacing;       // sgm_uniform (the "trailing" timestep spacing)
};

const std::vector<Entry>& entries() {
  static const std::vector<Entry> kEntries = {
      {"ddim", make_ddim, false, true},
      {"euler", make_euler, true, true},
      {"euler_a", make_euler_ancestral, true, true},
      {"heun", make_heun, true, true},
      {"dpmpp_2m", make_dpmpp_2m, true, true},
      {"lcm", make_lcm, false, false},  // its own distillation timesteps
      {"lms", make_lms, true, true},
      {"dpm2", make_dpm2, true, true},
      {"dpm2_a", make_dpm2_ancestral, true, true},
      {"dpmpp_sde", make_dpmpp_sde, true, true},
      {"dpmpp_2m_sde", make_dpmpp_2m_sde, true, true},
      {"unipc", make_unipc, true, true},
      {"ddpm", make_ddpm, false, true},
  };
  return kEntries;
}

// The schedule the options ask for ("karras" also through the karras flag).
std::string requested_schedule(const SamplerOptions& options) {
  if (!options.karras) return options.schedule;
  PD_CHECK(options.schedule == "default" || options.schedule == "karras", Usage,
           "karras is set together with the " << options.schedule << " schedule; choose one");
  return "karras";
}

void check_schedule(const Entry& e, const std::string& schedule) {
  const bool ok = schedule == "default" || (schedule == "sgm_uniform" ? e.spacing : e.sigma_shapes);
  PD_CHECK(ok, Usage,
           "the " << schedule << " schedule is not available for the " << e.name << " sampler ("
                  << (e.spacing ? "it has no sigma schedule; use --schedule default or sgm_uniform"
                                : "it has its own timesteps; use --schedule default")
                  << ")");
}

}  // namespace

std::vector<std::string> sampler_names() {
  std::vector<std::string> names;
  for (const auto& e : entries()) names.push_back(e.name);
  return names;
}

SamplerChoice checked_sampler(const std::string& name, const std::string& schedule) {
  const SamplerChoice choice = resolve_sampler(name, schedule);
  for (const auto& e : entries()) {
    if (choice.sampler == e.name) check_schedule(e, choice.schedule);
  }
  return choice;
}

std::unique_ptr<Sampler> make_sampler(const std::string& name, const NoiseScheduleConfig& config,
                                      const SamplerOptions& options) {
  const SamplerChoice choice = checked_sampler(name, requested_schedule(options));
  for (const auto& e : entries()) {
    if (choice.sampler != e.name) continue;
    NoiseScheduleConfig c = config;
    // sgm_uniform (ComfyUI / A1111): timesteps evenly spaced from the top, diffusers' "trailing"
    if (choice.schedule == "sgm_uniform") c.timestep_spacing = "trailing";
    SamplerOptions o = options;
    o.schedule = choice.schedule;
    o.karras = choice.schedule == "karras";
    return e.make(c, o);
  }
  PD_FAIL(Usage, "unknown sampler '" << name << "'");  // resolve_sampler names only known ones
}

}  // namespace pangu_draw::schedulers
