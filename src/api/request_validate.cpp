// request_validate.cpp
#include "api/request_validate.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/error.h"
#include "schedulers/sampler.h"

namespace pangu_draw::api {

namespace {

void check_side(int value, const char* flag) {
  PD_CHECK(value >= 0, Usage, flag << " must be positive, got " << value);
  PD_CHECK(value % 8 == 0, Usage, flag << " must be a multiple of 8, got " << value);
  PD_CHECK(value <= kMaxSide, Usage, flag << " must be at most " << kMaxSide << ", got " << value);
}

void check_finite(double value, const char* flag) {
  PD_CHECK(std::isfinite(value), Usage, flag << " must be a finite number, got " << value);
}

std::string joined(const std::vector<std::string>& names) {
  std::ostringstream os;
  for (size_t i = 0; i < names.size(); ++i) os << (i ? ", " : "") << names[i];
  return os.str();
}

}  // namespace

void validate_request(const Request& r, int native_width, int native_height) {
  PD_CHECK(r.width != 0 || native_width > 0, Usage, "--width is required for this model");
  check_side(r.width, "--width");
  check_side(r.height, "--height");
  const int64_t w = r.width ? r.width : native_width, h = r.height ? r.height : native_height;
  PD_CHECK(w > 0 && h > 0, Usage, "--width/--height must be positive");
  PD_CHECK(r.steps > 0 && r.steps <= kMaxSteps, Usage,
           "--steps must be between 1 and " << kMaxSteps << ", got " << r.steps);
  PD_CHECK(r.batch_count > 0 && r.batch_count <= kMaxBatchCount, Usage,
           "--batch-count must be between 1 and " << kMaxBatchCount << ", got " << r.batch_count);
  check_finite(r.cfg_scale, "--cfg-scale");
  check_finite(r.eta, "--eta");
  check_finite(r.control_scale, "--control-scale");
  PD_CHECK(r.eta >= 0, Usage, "--eta must be >= 0, got " << r.eta);
  check_finite(r.dynamic_threshold, "--dynamic-threshold");
  PD_CHECK(r.dynamic_threshold >= 0 && r.dynamic_threshold <= 1, Usage,
           "--dynamic-threshold must be in [0, 1] (0 = off), got " << r.dynamic_threshold);
  PD_CHECK(r.dynamic_threshold == 0 || r.dynamic_threshold_max >= 1, Usage,
           "--dynamic-threshold-max must be >= 1, got " << r.dynamic_threshold_max);
  PD_CHECK(r.prompt.size() <= kMaxPromptBytes && r.negative_prompt.size() <= kMaxPromptBytes,
           Usage, "prompts are limited to " << kMaxPromptBytes << " bytes; the model reads only "
                                            "the first 75 tokens anyway");
  const auto names = schedulers::sampler_names();
  PD_CHECK(std::find(names.begin(), names.end(), r.sampler) != names.end(), Usage,
           "unknown --sampler '" << r.sampler << "'; choose one of: " << joined(names));
  PD_CHECK(r.schedule == "default" || r.schedule == "karras", Usage,
           "unknown --schedule '" << r.schedule << "'; choose default or karras");
  PD_CHECK(r.controlnet_path.empty() == r.control_image_path.empty(), Usage,
           "--controlnet and --control-image go together");
  PD_CHECK(r.controlnet_path.empty() || r.experts.empty(), Usage,
           "--controlnet applies to the model alone or to its structure -> texture plan; with "
           "--expert give each expert its own: --expert controlnet=DIR,control-image=FILE");
  PD_CHECK(r.texture_model_path.empty() || r.experts.empty(), Usage,
           "--texture-model and --expert do not combine; describe both experts with --expert");
  check_finite(r.switch_t, "--switch-t");
  PD_CHECK(r.switch_t == -1.0f || (r.switch_t >= 0 && r.switch_t <= 1000), Usage,
           "--switch-t must be in [0, 1000] (or -1: the model's plan's), got " << r.switch_t);
  PD_CHECK(r.vae_tile == -1 || r.vae_tile == 0 || r.vae_tile >= 8, Usage,
           "--vae-tile must be -1 (auto), 0 (off) or at least 8 latent cells, got " << r.vae_tile);
  PD_CHECK(r.seed >= -1, Usage, "--seed must be >= 0 (or -1 for a random seed), got " << r.seed);
}

std::string sampler_display_name(const std::string& sampler, const std::string& schedule) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"ddim", "DDIM"}, {"euler", "Euler"}, {"euler_a", "Euler a"}, {"heun", "Heun"},
      {"dpmpp_2m", "DPM++ 2M"}, {"lcm", "LCM"}};
  std::string name = sampler;
  for (const auto& [key, display] : kNames) {
    if (sampler == key) name = display;
  }
  return schedule == "karras" ? name + " Karras" : name;
}

}  // namespace pangu_draw::api
