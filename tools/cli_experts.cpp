// cli_experts.cpp: the flags that describe several models in one run (--texture-model,
// --switch-t/-frac, --expert, --style) -> Request fields.
#include "cli_experts.h"

#include <cmath>
#include <sstream>

namespace pangu_draw::cli {

namespace {

[[noreturn]] void usage(const std::string& message) { throw Error(ErrorKind::Usage, message); }

float to_float(const std::string& key, const std::string& value) {
  try {
    size_t used = 0;
    const float f = std::stof(value, &used);
    if (used == value.size() && std::isfinite(f)) return f;
  } catch (const std::exception&) {
  }
  usage("--expert " + key + "=" + value + ": not a finite number");
}

void parse_size(const std::string& value, Expert& e) {
  const size_t x = value.find('x');
  if (x == std::string::npos) usage("--expert size=" + value + ": use WIDTHxHEIGHT, e.g. 512x512");
  e.width = static_cast<int>(to_float("size", value.substr(0, x)));
  e.height = static_cast<int>(to_float("size", value.substr(x + 1)));
}

}  // namespace

void add_expert_flags(CLI::App& cmd, ExpertArgs& a) {
  cmd.add_option("--texture-model", a.texture_model,
                 "Time-decoupled sampling: --model is the structure generator, this model the texture "
                 "generator")->group("PanGu-Draw");
  cmd.add_option("--switch-t", a.switch_t,
                 "Training timestep of the structure -> texture hand-over (default: the model's "
                 "time_decoupled.switch_t, else 500)")->group("PanGu-Draw");
  cmd.add_option("--switch-frac", a.switch_frac,
                 "Hand-over as a fraction of the schedule (0.5 = --switch-t 500)")->group("PanGu-Draw");
  cmd.add_flag("--no-time-decoupled", a.single_unet,
               "For a model that declares a structure -> texture plan in its model_index.json: run "
               "its structure UNet alone")->group("PanGu-Draw");
  cmd.add_option("--style", a.styles, "Style-guided CFG: a style of the model (see its styles.json) "
                 "or a custom prompt prefix; repeatable")->group("PanGu-Draw");
  cmd.add_option("--style-scale", a.style_scales, "Scale of each --style (default 4)")->group("PanGu-Draw");
  cmd.add_option("--expert", a.expert_specs,
                 "Coop-Diffusion expert: model=PATH,weight=W,size=WxH,cfg=S,controlnet=DIR,"
                 "control-image=FILE,control-scale=S,from-t=T,to-t=T (repeatable; model omitted = --model)")
      ->group("Coop-Diffusion");
}

Expert parse_expert_spec(const std::string& spec) {
  Expert e;
  std::string control_image;
  std::stringstream ss(spec);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const size_t eq = item.find('=');
    if (eq == std::string::npos) usage("--expert '" + spec + "': '" + item + "' is not key=value");
    const std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    if (key == "model") e.model_path = value;
    else if (key == "weight") e.weight = to_float(key, value);
    else if (key == "size") parse_size(value, e);
    else if (key == "cfg") e.cfg_scale = to_float(key, value);
    else if (key == "controlnet") e.controlnet_path = value;
    else if (key == "control-image") control_image = value;
    else if (key == "control-scale") e.control_scale = to_float(key, value);
    else if (key == "from-t") e.from_t = to_float(key, value);
    else if (key == "to-t") e.to_t = to_float(key, value);
    else usage("--expert: unknown key '" + key + "' (model, weight, size, cfg, controlnet, "
               "control-image, control-scale, from-t, to-t)");
  }
  if (e.weight <= 0) usage("--expert weight must be > 0");
  if (e.controlnet_path.empty() != control_image.empty()) {
    usage("--expert: controlnet= and control-image= go together");
  }
  if (!control_image.empty()) e.control_image = read_image(control_image);  // the CLI reads files
  return e;
}

void apply_expert_flags(const ExpertArgs& a, Request& r) {
  if (!a.style_scales.empty() && a.style_scales.size() != a.styles.size() && a.style_scales.size() != 1) {
    usage("give one --style-scale, or one per --style");
  }
  for (size_t i = 0; i < a.styles.size(); ++i) {
    const float scale = a.style_scales.empty() ? 4.0f : a.style_scales[a.style_scales.size() == 1 ? 0 : i];
    r.styles.push_back({a.styles[i], scale});
  }
  for (const auto& spec : a.expert_specs) r.experts.push_back(parse_expert_spec(spec));
  r.time_decoupled = !a.single_unet;
  if (a.switch_frac >= 0 && (a.switch_frac > 1)) usage("--switch-frac must be in [0, 1]");
  // --switch-t's range, and --texture-model against --expert, are the library's checks.
  r.switch_t = a.switch_t;
  r.switch_frac = a.switch_frac;  // T from the model's own number of train timesteps
  r.texture_model_path = a.texture_model;
}

}  // namespace pangu_draw::cli
