// run_builder.cpp: a validated Request -> the run's plan of experts (conditioning, styles,
// ControlNets, control images) and settings; public <-> LibTorch tensors.
#include "api/run_builder.h"

#include <sstream>

#include "api/edit_request.h"
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

// The request's prompt syntax, clip skip and embeddings for one model (docs/prompts.md).
text_encoders::PromptOptions prompt_options(const Request& r, const pipeline::ModelBundle& m) {
  text_encoders::PromptOptions o;
  o.syntax = text_encoders::parse_prompt_syntax(r.prompt_syntax);
  o.clip_skip = r.clip_skip;
  std::vector<text_encoders::EmbeddingFile> files;
  for (const auto& e : r.embeddings) files.push_back({e.name, e.safetensors});
  o.embeddings = m.conditioner->read_embeddings(files);
  return o;
}

torch::Tensor control_hint(const Image& img, int64_t width, int64_t height) {
  PD_CHECK(img.width > 0 && img.height > 0 && img.rgb.size() == size_t(img.width) * img.height * 3,
           Usage, "the control image is empty or its pixels do not match its " << img.width << "x"
                                                                             << img.height << " size");
  PD_CHECK(img.width == width && img.height == height, Usage,
           "the control image is " << img.width << "x" << img.height
                                   << ", but the image to generate is " << width << "x" << height
                                   << "; resize it or change --width/--height");
  auto t = torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {img.height, img.width, 3}, torch::kUInt8).clone();
  return t.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat) / 255.0;  // [1, 3, H, W] in [0, 1]
}

std::vector<pipeline::ControlInput> controls_for(const std::string& net, const Image& image,
                                                 float scale, const pipeline::ModelBundle& model,
                                                 int64_t width, int64_t height,
                                                 const ControlNetLoader& load) {
  if (net.empty()) return {};
  pipeline::ControlInput control;
  control.net = load(net, model);
  control.hint = control_hint(image, width, height).to(model.device);
  control.scale = scale;
  return {control};
}


// The UNet reads the latent (C channels) or, a dedicated inpainting model, latent ‖ mask ‖
// masked-image latent (2C + 1): that one needs a mask to read.
void check_unet_input(const pipeline::ModelBundle& m, const Request& r) {
  const int64_t in = m.unet->config().in_channels, c = m.vae->config().latent_channels;
  PD_CHECK(in == c || coop::is_inpainting_unet(m), Input,
           m.name << ": the UNet reads " << in << " channels, its VAE makes " << c
                  << "; expected " << c << " (a generator) or " << 2 * c + 1 << " (an inpainting model)");
  PD_CHECK(!coop::is_inpainting_unet(m) || has_mask(r), Usage,
           m.name << " has a 9-channel inpainting UNet (latent, mask, masked image): give it the "
                     "picture and the region to repaint with --init-image and --mask-image (or --outpaint)");
}

}  // namespace

torch::Tensor read_single_tensor(const std::string& path) {
  auto file = io::SafetensorsFile::open(path);
  const auto names = file->names();
  PD_CHECK(names.size() == 1, Input,
           path << ": needs a file with exactly one tensor, found " << names.size());
  return file->load(names[0]).to(torch::kFloat);
}

Tensor to_public(const torch::Tensor& t) {
  auto c = t.detach().to(torch::kCPU, torch::kFloat).contiguous();
  Tensor out;
  out.shape = c.sizes().vec();
  out.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return out;
}

torch::Tensor from_public(const Tensor& t, const std::string& what) {
  int64_t n = 1;
  for (int64_t d : t.shape) {
    PD_CHECK(d > 0 && d <= (int64_t(1) << 31) && n <= (int64_t(1) << 40) / d, Usage,
             what << ": bad tensor shape " << core::shape_str(t.shape));
    n *= d;
  }
  PD_CHECK(!t.shape.empty() && static_cast<size_t>(n) == t.data.size(), Usage,
           what << ": shape " << core::shape_str(t.shape) << " holds " << n << " values, got "
                << t.data.size());
  return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat).clone();
}

torch::Tensor init_noise(const Tensor& noise, const std::vector<int64_t>& shape) {
  auto t = from_public(noise, "the initial noise");
  const std::vector<int64_t> chw(shape.begin() + 1, shape.end());
  PD_CHECK(t.sizes().vec() == shape || t.sizes().vec() == chw, Usage,
           "the initial noise is " << core::shape_str(t.sizes()) << ", this run needs "
                                   << core::shape_str(shape) << " (the latent of the requested size)");
  PD_CHECK(torch::isfinite(t).all().item<bool>(), Usage, "the initial noise holds NaN or infinite values");
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

std::vector<coop::Expert> build_experts(const Request& r, const std::string& prompt,
                                        std::shared_ptr<const pipeline::ModelBundle> model,
                                        const Loaders& load) {
  std::vector<Expert> specs = r.experts;
  if (specs.empty()) {  // the plain run: one expert, the model itself, unbounded in t
    Expert alone;
    alone.controlnet_path = r.controlnet_path;
    alone.control_image = r.control_image;
    alone.control_scale = r.control_scale;
    specs.push_back(alone);
  }
  std::vector<coop::Expert> experts;
  for (const auto& spec : specs) {
    auto m = spec.model_path.empty() ? model : load.model(spec.model_path);
    const int64_t w = spec.width ? spec.width : (r.width ? r.width : m->native_width);
    const int64_t h = spec.height ? spec.height : (r.height ? r.height : m->native_height);
    PD_CHECK(w % 8 == 0 && h % 8 == 0 && w > 0 && h > 0, Usage,
             "expert " << m->name << ": size " << w << "x" << h << " must be positive multiples of 8");
    check_unet_input(*m, r);
    guidance::GuidanceScales scales{spec.cfg_scale >= 0 ? spec.cfg_scale : r.cfg_scale, {}};
    std::vector<std::string> style_prompts;
    resolve_styles(r, prompt, *m, style_prompts, scales.styles, model.get());
    auto cond = pipeline::guided_conditioning(*m, prompt, r.negative_prompt, style_prompts, scales,
                                              w, h, prompt_options(r, *m));
    coop::Expert e;
    e.model = m;
    e.denoiser = pipeline::make_denoiser(
        m, std::move(cond),
        controls_for(spec.controlnet_path, spec.control_image, spec.control_scale, *m, w, h,
                     load.controlnet));
    e.weight = spec.weight;
    e.from_t = spec.from_t < 0 ? coop::kUnbounded : spec.from_t;
    e.to_t = spec.to_t < 0 ? -coop::kUnbounded : spec.to_t;
    e.latent_shape = m->latent_shape(w, h);
    experts.push_back(std::move(e));
  }
  return experts;
}

coop::CoopSettings run_settings(const Request& r) {
  coop::CoopSettings run;
  run.sampler = r.sampler;
  run.options.steps = r.steps;
  run.options.karras = r.schedule == "karras";
  run.options.schedule = r.schedule;  // default, karras, exponential, sgm_uniform (or an A1111 label)
  run.options.eta = r.eta;
  run.naive_latent_resize = r.naive_latent_resize;
  run.vae_tile = r.vae_tile;
  run.dynamic_threshold = r.dynamic_threshold;
  run.dynamic_threshold_max = r.dynamic_threshold_max;
  run.dynamic_threshold_range = r.dynamic_threshold_range;
  return run;
}

}  // namespace pangu_draw::api
