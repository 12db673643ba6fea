// sampler_names.cpp: the A1111 name tables (modules/sd_samplers_kdiffusion.py,
// sd_samplers_timesteps.py, sd_samplers_lcm.py and sd_schedulers.py of stable-diffusion-webui
// 1.0 - 1.10, plus Forge's DDPM) and the resolution of a (name, schedule) pair.
#include "schedulers/sampler_names.h"

#include <algorithm>
#include <cctype>
#include <optional>
#include <vector>

#include "core/error.h"
#include "schedulers/sampler.h"

namespace pangu_draw::schedulers {

namespace {

struct A1111Sampler {
  const char* label;      // A1111's display name
  const char* ours;       // our sampler; nullptr: not available here
  const char* automatic;  // A1111 1.9+'s "Automatic" schedule for it / the nearest of ours
  std::vector<const char*> aliases;
};

const std::vector<A1111Sampler>& a1111_samplers() {
  static const std::vector<A1111Sampler> kTable = {
      {"Euler a", "euler_a", "default", {"k_euler_a", "k_euler_ancestral"}},
      {"Euler", "euler", "default", {"k_euler"}},
      {"LMS", "lms", "default", {"k_lms"}},
      {"Heun", "heun", "default", {"k_heun"}},
      {"DPM2", "dpm2", "karras", {"k_dpm_2"}},
      {"DPM2 a", "dpm2_a", "karras", {"k_dpm_2_a"}},
      {"DPM++ 2M", "dpmpp_2m", "karras", {"k_dpmpp_2m"}},
      {"DPM++ SDE", "dpmpp_sde", "karras", {"k_dpmpp_sde"}},
      {"DPM++ 2M SDE", "dpmpp_2m_sde", "exponential", {"k_dpmpp_2m_sde"}},
      {"UniPC", "unipc", "default", {}},
      {"DDIM", "ddim", "default", {}},
      {"DDPM", "ddpm", "default", {}},  // Forge / ComfyUI
      {"LCM", "lcm", "default", {}},
      // not available here: `automatic` names the nearest sampler that is
      {"DPM++ 2S a", nullptr, "dpmpp_sde or euler_a", {"k_dpmpp_2s_a"}},
      {"DPM++ 2M SDE Heun", nullptr, "dpmpp_2m_sde", {"k_dpmpp_2m_sde_heun"}},
      {"DPM++ 3M SDE", nullptr, "dpmpp_2m_sde", {"k_dpmpp_3m_sde"}},
      {"DPM fast", nullptr, "dpmpp_2m", {"k_dpm_fast"}},
      {"DPM adaptive", nullptr, "dpmpp_2m", {"k_dpm_ad"}},
      {"Restart", nullptr, "heun", {"restart"}},
      {"HeunPP2", nullptr, "heun", {"heunpp2"}},
      {"IPNDM", nullptr, "lms", {"ipndm"}},
      {"IPNDM_V", nullptr, "lms", {"ipndm_v"}},
      {"DEIS", nullptr, "unipc", {"deis"}},
      {"PLMS", nullptr, "lms or unipc", {"plms"}},
      {"DDIM CFG++", nullptr, "ddim", {"ddim_cfgpp"}},
  };
  return kTable;
}

// A1111 < 1.9 aliases of the "... Karras" / "... Exponential" entries.
struct ScheduledAlias {
  const char* alias;
  const char* sampler;
  const char* schedule;
};
constexpr ScheduledAlias kScheduledAliases[] = {
    {"k_lms_ka", "lms", "karras"},
    {"k_dpm_2_ka", "dpm2", "karras"},
    {"k_dpm_2_a_ka", "dpm2_a", "karras"},
    {"k_dpmpp_2m_ka", "dpmpp_2m", "karras"},
    {"k_dpmpp_sde_ka", "dpmpp_sde", "karras"},
    {"k_dpmpp_2m_sde_ka", "dpmpp_2m_sde", "karras"},
    {"k_dpmpp_2m_sde_exp", "dpmpp_2m_sde", "exponential"},
};

// A1111 schedule labels and names (sd_schedulers.py). ours nullptr: not available here.
struct ScheduleLabel {
  const char* label;
  const char* ours;  // "automatic": the sampler's A1111 automatic schedule
};
constexpr ScheduleLabel kScheduleLabels[] = {
    {"default", "default"},
    {"Automatic", "automatic"},
    {"Karras", "karras"},
    {"Exponential", "exponential"},
    {"SGM Uniform", "sgm_uniform"},
    {"sgm_uniform", "sgm_uniform"},
    {"SGMUniform", "sgm_uniform"},
    {"Uniform", nullptr},
    {"Polyexponential", nullptr},
    {"KL Optimal", nullptr},
    {"kl_optimal", nullptr},
    {"Align Your Steps", nullptr},
    {"align_your_steps", nullptr},
    {"Simple", nullptr},
    {"Normal", nullptr},
    {"Beta", nullptr},
    {"DDIM", nullptr},
};

std::string lower(const std::string& s) {
  std::string out = s;
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool same(const std::string& a, const char* b) { return lower(a) == lower(b); }

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A sampler named exactly (no schedule label): ours, an A1111 label or alias.
struct Named {
  const A1111Sampler* a1111 = nullptr;  // the A1111 entry, when it is one
  std::string sampler;                  // ours ("" when not available)
  std::string schedule;                 // from a scheduled alias, else ""
};

std::optional<Named> find_sampler(const std::string& name) {
  for (const auto& n : sampler_names()) {
    if (same(name, n.c_str())) {
      Named out;
      out.sampler = n;
      for (const auto& a : a1111_samplers()) {
        if (a.ours && n == a.ours) out.a1111 = &a;
      }
      return out;
    }
  }
  for (const auto& a : a1111_samplers()) {
    bool hit = same(name, a.label);
    for (const char* alias : a.aliases) hit = hit || same(name, alias);
    if (hit) return Named{&a, a.ours ? a.ours : "", ""};
  }
  for (const auto& s : kScheduledAliases) {
    if (same(name, s.alias)) {
      Named out = *find_sampler(s.sampler);
      out.schedule = s.schedule;
      return out;
    }
  }
  return std::nullopt;
}

const ScheduleLabel* find_schedule(const std::string& label) {
  for (const auto& s : kScheduleLabels) {
    if (same(label, s.label)) return &s;
  }
  return nullptr;
}

// A schedule argument or label -> ours for that sampler ("" = none given, or default).
std::string schedule_for(const std::string& label, const Named& sampler) {
  if (label.empty() || same(label, "default")) return "";
  for (const auto& ours : schedule_names()) {
    if (label == ours) return ours;
  }
  const ScheduleLabel* s = find_schedule(label);
  PD_CHECK(s != nullptr && s->ours != nullptr, Usage,
           "schedule '" << label
                        << "' is not available; choose one of: " << joined(schedule_names())
                        << " (A1111 labels: Automatic, Karras, Exponential, SGM Uniform)");
  std::string ours = s->ours;
  if (ours == "automatic")
    ours = sampler.a1111 && sampler.a1111->ours ? sampler.a1111->automatic : "";
  return ours == "default" ? "" : ours;
}

// The name split into a sampler and a trailing schedule label ("DPM++ 2M SDE Karras").
std::pair<Named, std::string> split_name(const std::string& name) {
  if (auto exact = find_sampler(name)) return {*exact, ""};
  for (const auto& s : kScheduleLabels) {
    const std::string suffix = std::string(" ") + s.label;
    if (name.size() <= suffix.size() ||
        !same(name.substr(name.size() - suffix.size()), suffix.c_str())) {
      continue;
    }
    if (auto base = find_sampler(name.substr(0, name.size() - suffix.size())))
      return {*base, s.label};
  }
  std::vector<std::string> a1111;
  for (const auto& a : a1111_samplers()) {
    if (a.ours) a1111.push_back(std::string("\"") + a.label + "\"");
  }
  PD_FAIL(Usage, "unknown sampler '"
                     << name << "'; choose one of: " << joined(sampler_names())
                     << ", or an A1111 name (" << joined(a1111)
                     << ", optionally followed by Karras, Exponential or SGM Uniform)");
}

}  // namespace

std::vector<std::string> schedule_names() {
  return {"default", "karras", "exponential", "sgm_uniform"};
}

SamplerChoice resolve_sampler(const std::string& name, const std::string& schedule) {
  const auto [named, label] = split_name(name);
  PD_CHECK(!named.sampler.empty(), Usage,
           "sampler '" << name << "' (A1111's " << named.a1111->label
                       << ") is not available here; the nearest is " << named.a1111->automatic
                       << " (choose one of: " << joined(sampler_names()) << ")");
  std::string from_name = named.schedule.empty() ? schedule_for(label, named) : named.schedule;
  const std::string given = schedule_for(schedule, named);
  PD_CHECK(from_name.empty() || given.empty() || from_name == given, Usage,
           "sampler '" << name << "' names the " << from_name << " schedule but the schedule is "
                       << given << "; give the schedule once");
  SamplerChoice out{named.sampler, !from_name.empty() ? from_name : given};
  if (out.schedule.empty()) out.schedule = "default";
  return out;
}

std::string a1111_sampler_name(const std::string& sampler, const std::string& schedule) {
  std::string name = sampler;
  for (const auto& a : a1111_samplers()) {
    if (a.ours && sampler == a.ours) name = a.label;
  }
  if (schedule == "karras") return name + " Karras";
  if (schedule == "exponential") return name + " Exponential";
  if (schedule == "sgm_uniform") return name + " SGM Uniform";
  return name;
}

}  // namespace pangu_draw::schedulers
