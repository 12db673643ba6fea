// request_validate.cpp: validate_request: every bound and consistency rule of a public Request,
// checked before any work; A1111 sampler display names.
#include "api/request_validate.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "api/edit_request.h"
#include "core/error.h"
#include "schedulers/sampler.h"
#include "schedulers/sampler_names.h"

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

// The bounds of the plan's parts: every expert's size and numbers, and how many of each.
void validate_plan(const Request& r) {
  PD_CHECK(r.experts.size() <= kMaxExperts, Usage,
           "at most " << kMaxExperts << " experts per run, got " << r.experts.size());
  PD_CHECK(r.styles.size() <= kMaxStyles, Usage,
           "at most " << kMaxStyles << " styles per run, got " << r.styles.size());
  for (const auto& s : r.styles) check_finite(s.scale, "--style-scale");
  for (const auto& e : r.experts) {
    check_side(e.width, "expert size (width)");
    check_side(e.height, "expert size (height)");
    check_finite(e.weight, "expert weight");
    check_finite(e.cfg_scale, "expert cfg");
    check_finite(e.control_scale, "expert control-scale");
    check_finite(e.from_t, "expert from-t");
    check_finite(e.to_t, "expert to-t");
    PD_CHECK(e.weight >= 0, Usage, "expert weight must be >= 0, got " << e.weight);
    PD_CHECK(e.controlnet_path.empty() == e.control_image.rgb.empty(), Usage,
             "an expert's controlnet= and control-image= go together");
  }
  // Seeds seed, seed + 1, ... of a batch stay representable.
  PD_CHECK(r.seed < 0 || r.seed <= std::numeric_limits<int64_t>::max() - (r.batch_count - 1), Usage,
           "--seed " << r.seed << " + --batch-count " << r.batch_count << " overflows the seed range");
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
  check_finite(r.dynamic_threshold_range, "--dynamic-threshold-range");
  PD_CHECK(r.dynamic_threshold_range >= 0, Usage,
           "--dynamic-threshold-range must be >= 0 (0 = the model's), got " << r.dynamic_threshold_range);
  PD_CHECK(r.prompt.size() <= kMaxPromptBytes && r.negative_prompt.size() <= kMaxPromptBytes,
           Usage, "prompts are limited to " << kMaxPromptBytes << " bytes");
  PD_CHECK(r.prompt_syntax == "a1111" || r.prompt_syntax == "plain", Usage,
           "--prompt-syntax must be a1111 (weights, BREAK, long prompts) or plain, got '"
               << r.prompt_syntax << "'");
  PD_CHECK(r.clip_skip >= 0 && r.clip_skip <= 12, Usage,
           "--clip-skip must be between 0 (the model's own) and 12, got " << r.clip_skip);
  for (size_t i = 0; i < r.embeddings.size(); ++i) {
    PD_CHECK(!r.embeddings[i].name.empty() && r.embeddings[i].safetensors, Usage,
             "every embedding needs a name and its file's bytes");
    for (size_t j = 0; j < i; ++j) {
      PD_CHECK(r.embeddings[j].name != r.embeddings[i].name, Usage,
               "embedding '" << r.embeddings[i].name << "' is given twice");
    }
  }
  // --sampler: our name or A1111's ("DPM++ 2M Karras"); --schedule: ours or an A1111 label
  (void)schedulers::checked_sampler(r.sampler, r.schedule);
  PD_CHECK(r.controlnet_path.empty() == r.control_image.rgb.empty(), Usage,
           "--controlnet and --control-image go together");
  PD_CHECK(r.controlnet_path.empty() || r.experts.empty(), Usage,
           "--controlnet applies to the model alone or to its structure -> texture plan; with "
           "--expert give each expert its own: --expert controlnet=DIR,control-image=FILE");
  PD_CHECK(r.texture_model_path.empty() || r.experts.empty(), Usage,
           "--texture-model and --expert do not combine; describe both experts with --expert");
  check_finite(r.switch_t, "--switch-t");
  check_finite(r.switch_frac, "--switch-frac");
  PD_CHECK(r.switch_frac == -1.0f || (r.switch_frac >= 0 && r.switch_frac <= 1), Usage,
           "--switch-frac must be in [0, 1], got " << r.switch_frac);
  PD_CHECK(r.switch_t == -1.0f || (r.switch_t >= 0 && r.switch_t <= 1000), Usage,
           "--switch-t must be in [0, 1000] (or -1: the model's plan's), got " << r.switch_t);
  PD_CHECK(r.vae_tile == -1 || r.vae_tile == 0 || r.vae_tile >= 8, Usage,
           "--vae-tile must be -1 (auto), 0 (off) or at least 8 latent cells, got " << r.vae_tile);
  PD_CHECK(r.seed >= -1, Usage, "--seed must be >= 0 (or -1 for a random seed), got " << r.seed);
  validate_plan(r);
  validate_edit(r);
}

std::string sampler_display_name(const std::string& sampler, const std::string& schedule) {
  try {
    const auto choice = schedulers::resolve_sampler(sampler, schedule);
    return schedulers::a1111_sampler_name(choice.sampler, choice.schedule);
  } catch (const Error&) {
    return schedulers::a1111_sampler_name(sampler, schedule);  // unvalidated: as given
  }
}

}  // namespace pangu_draw::api
