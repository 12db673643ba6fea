// run_builder.cpp
#include "api/run_builder.h"

#include <sstream>

#include "core/error.h"
#include "core/tensor_check.h"
#include "io/png.h"
#include "io/safetensors.h"

namespace pangu_draw::api {

namespace {

bool is_style_name(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

torch::Tensor control_hint(const std::string& path, int64_t width, int64_t height) {
  Image img = io::read_image(path);
  PD_CHECK(img.width == width && img.height == height, Usage,
           path << ": control image is " << img.width << "x" << img.height
                << ", but the image to generate is " << width << "x" << height
                << "; resize it or change --width/--height");
  auto t = torch::from_blob(img.rgb.data(), {img.height, img.width, 3}, torch::kUInt8).clone();
  return t.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat) / 255.0;  // [1, 3, H, W] in [0, 1]
}

std::vector<pipeline::ControlInput> controls_for(const std::string& net, const std::string& image,
                                                 float scale, const pipeline::ModelBundle& model,
                                                 int64_t width, int64_t height) {
  if (net.empty()) return {};
  pipeline::ControlInput control;
  control.net = unet::load_controlnet(net, model.dtype);
  control.hint = control_hint(image, width, height);
  control.scale = scale;
  return {control};
}


}  // namespace

torch::Tensor read_init_noise(const std::string& path, const std::vector<int64_t>& shape) {
  auto file = io::SafetensorsFile::open(path);
  const auto names = file->names();
  PD_CHECK(names.size() == 1, Input,
           path << ": --init-noise needs a file with exactly one tensor, found " << names.size());
  auto t = file->load(names[0]);
  const std::vector<int64_t> chw(shape.begin() + 1, shape.end());
  PD_CHECK(t.sizes().vec() == shape || t.sizes().vec() == chw, Input,
           path << ": noise is " << core::shape_str(t.sizes()) << ", this run needs "
                << core::shape_str(shape) << " (the latent of the requested size)");
  return t.reshape(shape);
}

void resolve_styles(const Request& r, const std::string& prompt, const pipeline::ModelBundle& model,
                    std::vector<std::string>& style_prompts, std::vector<double>& scales,
                    const pipeline::ModelBundle* fallback) {
  for (const auto& style : r.styles) {
    if (style.scale == 0.0f) continue;  // the release adds a branch only for scales > 0
    std::string prefix = style.name;
    if (is_style_name(style.name)) {
      const auto* owner = &model;
      if (!model.styles.count(style.name) && fallback && fallback->styles.count(style.name)) owner = fallback;
      auto it = owner->styles.find(style.name);
      if (it == owner->styles.end()) {
        std::ostringstream known;
        for (const auto& kv : model.styles) known << " " << kv.first;
        PD_FAIL(Usage, "unknown --style '" << style.name << "' for " << model.name << "; it knows:"
                                           << (model.styles.empty() ? " (none)" : known.str())
                                           << "; or pass a custom prefix such as \"ink painting, \"");
      }
      prefix = it->second;
    }
    style_prompts.push_back(prefix + prompt);
    scales.push_back(style.scale);
  }
}

Request with_model_plan(const Request& r, const pipeline::ModelBundle& model) {
  if (!r.experts.empty()) return r;
  const bool own_plan = model.texture && r.time_decoupled;
  if (r.texture_model_path.empty() && !own_plan) return r;
  Request planned = r;
  const float model_t = model.texture ? static_cast<float>(model.switch_t) : kDefaultSwitchT;
  const float t = r.switch_t >= 0 ? r.switch_t : model_t;
  Expert structure, texture;
  structure.to_t = t;  // t >= T: layout, the early noisy steps
  texture.model_path = r.texture_model_path.empty() ? model.texture->path : r.texture_model_path;
  texture.from_t = t;  // t < T: detail
  for (Expert* e : {&structure, &texture}) {  // a ControlNet guides both generators' steps
    e->controlnet_path = r.controlnet_path;
    e->control_image_path = r.control_image_path;
    e->control_scale = r.control_scale;
  }
  planned.experts = {structure, texture};
  return planned;
}

pipeline::TextToImage build_run(const Request& r, const std::string& prompt,
                                std::shared_ptr<const pipeline::ModelBundle> model) {
  pipeline::TextToImage run;
  run.prompt = prompt;
  run.negative_prompt = r.negative_prompt;
  run.width = r.width ? r.width : model->native_width;
  run.height = r.height ? r.height : model->native_height;
  run.steps = r.steps;
  run.sampler = r.sampler;
  run.karras = r.schedule == "karras";
  run.eta = r.eta;
  run.dynamic_threshold = r.dynamic_threshold;
  run.dynamic_threshold_max = r.dynamic_threshold_max;
  run.vae_tile = r.vae_tile;
  run.guidance.cfg = r.cfg_scale;
  resolve_styles(r, prompt, *model, run.style_prompts, run.guidance.styles);
  run.controls = controls_for(r.controlnet_path, r.control_image_path, r.control_scale, *model,
                              run.width, run.height);
  if (!r.init_noise_path.empty()) {
    run.init_noise = read_init_noise(r.init_noise_path, model->latent_shape(run.width, run.height));
  }
  return run;
}

std::vector<coop::Expert> build_experts(const Request& r, const std::string& prompt,
                                        std::shared_ptr<const pipeline::ModelBundle> model,
                                        const ModelLoader& load) {
  std::vector<coop::Expert> experts;
  for (const auto& spec : r.experts) {
    auto m = spec.model_path.empty() ? model : load(spec.model_path);
    const int64_t w = spec.width ? spec.width : (r.width ? r.width : m->native_width);
    const int64_t h = spec.height ? spec.height : (r.height ? r.height : m->native_height);
    PD_CHECK(w % 8 == 0 && h % 8 == 0 && w > 0 && h > 0, Usage,
             "expert " << m->name << ": size " << w << "x" << h << " must be positive multiples of 8");
    guidance::GuidanceScales scales{spec.cfg_scale >= 0 ? spec.cfg_scale : r.cfg_scale, {}};
    std::vector<std::string> style_prompts;
    resolve_styles(r, prompt, *m, style_prompts, scales.styles, model.get());
    auto cond = pipeline::guided_conditioning(*m, prompt, r.negative_prompt, style_prompts, scales, w, h);
    coop::Expert e;
    e.model = m;
    e.denoiser = pipeline::make_denoiser(
        m, std::move(cond),
        controls_for(spec.controlnet_path, spec.control_image_path, spec.control_scale, *m, w, h));
    e.weight = spec.weight;
    e.from_t = spec.from_t < 0 ? coop::kUnbounded : spec.from_t;
    e.to_t = spec.to_t < 0 ? -coop::kUnbounded : spec.to_t;
    e.latent_shape = m->latent_shape(w, h);
    experts.push_back(std::move(e));
  }
  return experts;
}

}  // namespace pangu_draw::api
