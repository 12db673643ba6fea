// serve_info.cpp: sd-models, samplers, schedulers, options and progress in A1111's shapes.
#include "serve_info.h"

#include <algorithm>
#include <vector>

namespace pangu_draw::serve {

namespace {

struct SamplerLabel {
  const char* ours;
  const char* label;  // A1111's name (the library accepts it as Request::sampler)
  std::vector<const char*> aliases;
};

// A1111's names for ours (modules/sd_samplers_*.py; DDPM as Forge names it).
const std::vector<SamplerLabel>& sampler_labels() {
  static const std::vector<SamplerLabel> kLabels = {
      {"euler_a", "Euler a", {"k_euler_a", "k_euler_ancestral"}},
      {"euler", "Euler", {"k_euler"}},
      {"lms", "LMS", {"k_lms"}},
      {"heun", "Heun", {"k_heun"}},
      {"dpm2", "DPM2", {"k_dpm_2"}},
      {"dpm2_a", "DPM2 a", {"k_dpm_2_a"}},
      {"dpmpp_2m", "DPM++ 2M", {"k_dpmpp_2m"}},
      {"dpmpp_sde", "DPM++ SDE", {"k_dpmpp_sde"}},
      {"dpmpp_2m_sde", "DPM++ 2M SDE", {"k_dpmpp_2m_sde"}},
      {"unipc", "UniPC", {}},
      {"ddim", "DDIM", {}},
      {"ddpm", "DDPM", {}},
      {"lcm", "LCM", {}},
  };
  return kLabels;
}

}  // namespace

json sd_models(const Settings& settings) {
  std::lock_guard<std::mutex> lock(settings.mu);
  // filename: the name only; the server does not show its paths.
  return json::array({{{"title", settings.model_title}, {"model_name", settings.model_title},
                       {"hash", nullptr}, {"sha256", nullptr}, {"filename", settings.model_title},
                       {"config", nullptr}}});
}

json samplers() {
  json out = json::array();
  for (const std::string& ours : sampler_names()) {
    const auto& labels = sampler_labels();
    auto it = std::find_if(labels.begin(), labels.end(), [&](const SamplerLabel& l) { return ours == l.ours; });
    json aliases = json::array();
    if (it != labels.end()) {
      aliases.push_back(ours);
      for (const char* a : it->aliases) aliases.push_back(a);
    }
    out.push_back({{"name", it != labels.end() ? it->label : ours}, {"aliases", aliases},
                   {"options", json::object()}});
  }
  return out;
}

json schedulers() {
  const char* rows[][3] = {{"automatic", "Automatic", "default"},
                           {"karras", "Karras", "karras"},
                           {"exponential", "Exponential", "exponential"},
                           {"sgm_uniform", "SGM Uniform", "sgm_uniform"}};
  json out = json::array();
  for (const auto& row : rows) {
    out.push_back({{"name", row[0]}, {"label", row[1]}, {"aliases", json::array({row[2]})},
                   {"default_rho", nullptr}, {"need_inner_model", nullptr}});
  }
  return out;
}

json options(const Settings& settings) {
  std::lock_guard<std::mutex> lock(settings.mu);
  return {{"sd_model_checkpoint", settings.model_title},
          {"sd_checkpoint_hash", nullptr},
          {"sd_vae", "Automatic"},
          {"CLIP_stop_at_last_layers", settings.clip_skip},
          {"eta_ddim", settings.eta_ddim},
          {"samples_format", "png"},
          {"samples_save", false},
          {"save_images_add_number", false},
          {"live_previews_enable", false},
          {"show_progress_every_n_steps", -1}};
}

void set_options(const json& body, Settings& settings) {
  if (!body.is_object()) throw HttpError(422, "the options must be a JSON object");
  refuse_paths(body);
  const std::string title = options(settings)["sd_model_checkpoint"].get<std::string>();
  const std::string model = get_string(body, "sd_model_checkpoint", title);
  if (model != title) {
    throw HttpError(422, "sd_model_checkpoint '" + model + "': this server serves only '" + title +
                             "' (start another server for another model)");
  }
  const std::string vae = get_string(body, "sd_vae", "Automatic");
  if (vae != "Automatic" && vae != "None") throw HttpError(422, "sd_vae: only the model's own VAE (Automatic)");
  if (get_string(body, "samples_format", "png") != "png") throw HttpError(422, "samples_format: only png");
  if (get_bool(body, "samples_save", false)) throw HttpError(422, "samples_save: the server writes no files");
  if (get_bool(body, "live_previews_enable", false)) throw HttpError(422, "live_previews_enable: no previews");
  std::lock_guard<std::mutex> lock(settings.mu);
  const int clip_skip = static_cast<int>(get_int(body, "CLIP_stop_at_last_layers", settings.clip_skip, 0, 12));
  const double eta = get_number(body, "eta_ddim", settings.eta_ddim, 0, 10);
  settings.clip_skip = clip_skip;
  settings.eta_ddim = eta;
}

json progress(const Progress& p) {
  double fraction = 0, eta = 0;
  if (p.busy && p.job_count > 0) {
    const double step = p.steps > 0 ? double(p.step) / p.steps : 0.0;
    fraction = std::min(1.0, (p.job_no + step) / p.job_count);
    if (fraction > 0) eta = p.elapsed_s / fraction - p.elapsed_s;
  }
  json state = {{"skipped", false}, {"interrupted", p.interrupted}, {"stopping_generation", false},
                {"job", p.busy ? "pangu-draw" : ""}, {"job_count", p.busy ? p.job_count : 0},
                {"job_timestamp", p.timestamp}, {"job_no", p.job_no},
                {"sampling_step", p.step}, {"sampling_steps", p.steps}, {"queued", p.queued}};
  return {{"progress", fraction}, {"eta_relative", eta}, {"state", state},
          {"current_image", nullptr}, {"textinfo", nullptr}};
}

}  // namespace pangu_draw::serve
