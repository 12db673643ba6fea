// sampler_names.h: sampler and schedule names as people write them: our short names
// ("dpmpp_2m") and AUTOMATIC1111's display names, aliases and "Schedule type" labels
// ("DPM++ 2M Karras", "k_dpmpp_2m_ka", "Euler a" + "SGM Uniform"), mapped to (sampler, schedule).
#pragma once

#include <string>

namespace pangu_draw::schedulers {

struct SamplerChoice {
  std::string sampler;   // one of sampler_names()
  std::string schedule;  // one of schedule_names()
};

// name: one of sampler_names() or an A1111 sampler name or alias (case-insensitive), optionally
// followed by a schedule label (" Karras", " Exponential", " SGM Uniform", " Automatic").
// schedule: one of schedule_names(), an A1111 "Schedule type" label, or "" (= "default").
// "Automatic" is the schedule A1111 (1.9+) gives that sampler (karras for DPM++ 2M, DPM++ SDE,
// DPM2 and DPM2 a; exponential for DPM++ 2M SDE; default otherwise); a name without a label
// keeps the schedule argument (A1111 before 1.9: "DPM++ 2M" = default sigmas). A label in the
// name and a different non-default schedule argument conflict. Error{Usage} naming what is
// wrong for unknown names, A1111 samplers or schedules not available here (with the nearest
// that is) and conflicts.
SamplerChoice resolve_sampler(const std::string& name, const std::string& schedule = "default");

// A1111's display name of a sampler and schedule, the form its PNG "parameters" text uses and
// resolve_sampler reads back: ("dpmpp_2m_sde", "karras") -> "DPM++ 2M SDE Karras",
// ("euler_a", "sgm_uniform") -> "Euler a SGM Uniform". Unknown samplers are returned as given.
std::string a1111_sampler_name(const std::string& sampler, const std::string& schedule);

}  // namespace pangu_draw::schedulers
