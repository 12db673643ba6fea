// serve_a1111.cpp: A1111 txt2img / img2img payloads -> Request (defaults as A1111's API has them,
// except width/height: 0 = the model's native size), PanGu extras, and the A1111 answer.
#include "serve_a1111.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <random>

#include "serve_codec.h"

namespace pangu_draw::serve {

namespace {

constexpr std::int64_t kMaxSeed = std::int64_t(1) << 53;  // exact in a JSON double

std::string timestamp_now() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d%H%M%S", &tm);
  return buf;
}

// A float field as the decimal the client sent (0.6f -> 0.6, not 0.6000000238418579).
double decimal(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", static_cast<double>(v));
  return std::strtod(buf, nullptr);
}

std::int64_t random_seed() {  // A1111: random.randrange(4294967294)
  std::random_device rd;
  return static_cast<std::int64_t>(rd() % 4294967294u);
}

// override_settings: the options that change a result are applied or refused; others ignored.
void apply_overrides(const json& body, Request& r, const Settings& settings) {
  auto it = body.find("override_settings");
  if (it == body.end() || it->is_null()) return;
  if (!it->is_object()) throw HttpError(422, "field 'override_settings' must be an object");
  const json& o = *it;
  r.clip_skip = static_cast<int>(get_int(o, "CLIP_stop_at_last_layers", r.clip_skip, 0, 12));
  r.eta = static_cast<float>(get_number(o, "eta_ddim", r.eta, 0, 10));
  const std::string model = get_string(o, "sd_model_checkpoint", "");
  if (!model.empty() && model != settings.model_title) {
    throw HttpError(422, "override_settings.sd_model_checkpoint '" + model + "': this server has "
                         "only '" + settings.model_title + "' loaded");
  }
  const std::string vae = get_string(o, "sd_vae", "Automatic");
  if (vae != "Automatic" && vae != "None" && !vae.empty()) {
    throw HttpError(422, "override_settings.sd_vae '" + vae + "': only the model's own VAE (Automatic)");
  }
}

void parse_styles(const json& body, Request& r, const Limits& limits) {
  auto it = body.find("pangu_styles");
  if (it == body.end() || it->is_null()) return;
  if (!it->is_array() || it->size() > std::size_t(limits.max_styles)) {
    throw HttpError(422, "field 'pangu_styles' must be a list of at most " +
                             std::to_string(limits.max_styles) + " {name, scale} objects");
  }
  for (const json& s : *it) {
    if (!s.is_object()) throw HttpError(422, "each of 'pangu_styles' must be an object {name, scale}");
    Style style;
    style.name = get_string(s, "name", "", 1024);
    style.scale = static_cast<float>(get_number(s, "scale", 0.0, -100, 100));
    if (style.name.empty()) throw HttpError(422, "each of 'pangu_styles' needs a name");
    r.styles.push_back(style);
  }
}

// PanGu experts on the loaded model (paths were refused before): weights, time ranges, sizes.
void parse_experts(const json& body, Request& r, const Limits& limits) {
  auto it = body.find("pangu_experts");
  if (it == body.end() || it->is_null()) return;
  if (!it->is_array() || it->size() > std::size_t(limits.max_experts)) {
    throw HttpError(422, "field 'pangu_experts' must be a list of at most " +
                             std::to_string(limits.max_experts) + " objects");
  }
  for (const json& e : *it) {
    if (!e.is_object()) throw HttpError(422, "each of 'pangu_experts' must be an object");
    Expert x;
    x.weight = static_cast<float>(get_number(e, "weight", 1.0, 0, 1000));
    x.from_t = static_cast<float>(get_number(e, "from_t", -1.0, -1, 1e6));
    x.to_t = static_cast<float>(get_number(e, "to_t", -1.0, -1, 1e6));
    x.width = static_cast<int>(get_int(e, "width", 0, 0, limits.max_side));
    x.height = static_cast<int>(get_int(e, "height", 0, 0, limits.max_side));
    x.cfg_scale = static_cast<float>(get_number(e, "cfg_scale", -1.0, -1, 100));
    r.experts.push_back(x);
  }
}

void parse_extras(const json& body, Request& r, const Limits& limits) {
  parse_styles(body, r, limits);
  parse_experts(body, r, limits);
  r.time_decoupled = get_bool(body, "pangu_time_decoupled", true);
  r.switch_t = static_cast<float>(get_number(body, "pangu_switch_t", -1.0, -1, 1e6));
  r.switch_frac = static_cast<float>(get_number(body, "pangu_switch_frac", -1.0, -1, 1));
  r.prompt_syntax = get_string(body, "pangu_prompt_syntax", "a1111", 16);
  if (r.prompt_syntax != "a1111" && r.prompt_syntax != "plain") {
    throw HttpError(422, "field 'pangu_prompt_syntax' must be \"a1111\" or \"plain\"");
  }
}

// The sampling fields both endpoints share.
void parse_sampling(const json& body, Request& r, const Settings& settings, const Limits& limits) {
  r.prompt = get_string(body, "prompt", "");
  r.negative_prompt = get_string(body, "negative_prompt", "");
  r.steps = static_cast<int>(get_int(body, "steps", 50, 1, limits.max_steps));
  r.cfg_scale = static_cast<float>(get_number(body, "cfg_scale", 7.0, 0, 100));
  r.width = static_cast<int>(get_int(body, "width", 0, 0, limits.max_side));
  r.height = static_cast<int>(get_int(body, "height", 0, 0, limits.max_side));
  const std::string index = get_string(body, "sampler_index", "Euler", 256);
  r.sampler = get_string(body, "sampler_name", index, 256);
  if (r.sampler.empty()) r.sampler = index.empty() ? "Euler" : index;
  r.schedule = get_string(body, "scheduler", "Automatic", 256);
  if (r.schedule.empty()) r.schedule = "Automatic";
  {
    std::lock_guard<std::mutex> lock(settings.mu);
    r.clip_skip = settings.clip_skip;
    r.eta = static_cast<float>(settings.eta_ddim);
  }
  r.eta = static_cast<float>(get_number(body, "eta", r.eta, 0, 10));
  apply_overrides(body, r, settings);
  parse_extras(body, r, limits);
}

Image decode_image_field(const std::string& b64, const std::string& name, const Limits& limits) {
  const std::int64_t side = limits.max_side;
  return pangu_draw::decode_png(base64_decode(b64, name), name, side * side);
}

void parse_img2img(const json& body, Request& r, const Limits& limits) {
  auto it = body.find("init_images");
  if (it == body.end() || !it->is_array() || it->size() != 1 || !(*it)[0].is_string()) {
    throw HttpError(422, "field 'init_images' must be a list of one base64 PNG image");
  }
  r.init_image = decode_image_field((*it)[0].get<std::string>(), "init_images[0]", limits);
  if (r.init_image.width > limits.max_side || r.init_image.height > limits.max_side) {
    throw HttpError(422, "init_images[0] is larger than " + std::to_string(limits.max_side) + " pixels a side");
  }
  r.width = r.height = 0;  // the output takes the init image's size
  r.strength = static_cast<float>(get_number(body, "denoising_strength", 0.75, 0, 1));
  const std::string mask = get_string(body, "mask", "", std::size_t(64) << 20);
  if (mask.empty()) return;
  r.mask_image = decode_image_field(mask, "mask", limits);
  if (get_int(body, "inpainting_mask_invert", 0, 0, 1) == 1) {
    for (auto& v : r.mask_image.rgb) v = static_cast<std::uint8_t>(255 - v);
  }
  const int blur_x = static_cast<int>(get_int(body, "mask_blur_x", 4, 0, 64));
  const int blur_y = static_cast<int>(get_int(body, "mask_blur_y", blur_x, 0, 64));
  if (blur_x != blur_y && body.find("mask_blur") == body.end()) {
    throw HttpError(422, "mask_blur_x and mask_blur_y differ: only a round blur (mask_blur) is supported");
  }
  r.mask_blur = static_cast<int>(get_int(body, "mask_blur", blur_x, 0, 64));
  if (get_bool(body, "inpaint_full_res", false)) {
    throw HttpError(422, "field 'inpaint_full_res' = true (only masked): only whole-picture "
                         "inpainting is supported; send inpaint_full_res false");
  }
  r.paste_back = get_bool(body, "pangu_paste_back", true);  // A1111 overlays the kept pixels
}

json echo_of(const json& body, const Request& r, std::int64_t seed, int batch_size, int n_iter) {
  json echo = body;
  echo["prompt"] = r.prompt;
  echo["negative_prompt"] = r.negative_prompt;
  echo["seed"] = seed;
  echo["sampler_name"] = r.sampler;
  echo["scheduler"] = r.schedule;
  echo["steps"] = r.steps;
  echo["cfg_scale"] = decimal(r.cfg_scale);
  echo["width"] = r.width;
  echo["height"] = r.height;
  echo["batch_size"] = batch_size;
  echo["n_iter"] = n_iter;
  if (echo.contains("init_images")) echo["init_images"] = nullptr;
  if (echo.contains("mask")) echo["mask"] = nullptr;
  return echo;
}

}  // namespace

Parsed parse_generation(const json& body, bool img2img, const Settings& settings, const Limits& limits) {
  if (!body.is_object()) throw HttpError(422, "the request body must be a JSON object");
  refuse_paths(body);
  refuse_unsupported(body, img2img);
  Parsed p;
  p.job = std::make_shared<Job>();
  Request& r = p.job->request;
  parse_sampling(body, r, settings, limits);
  if (img2img) parse_img2img(body, r, limits);
  p.batch_size = static_cast<int>(get_int(body, "batch_size", 1, 1, limits.max_images));
  const int n_iter = static_cast<int>(get_int(body, "n_iter", 1, 1, limits.max_images));
  if (p.batch_size * n_iter > limits.max_images) {
    throw HttpError(422, "batch_size * n_iter must be at most " + std::to_string(limits.max_images));
  }
  p.job->images = p.batch_size * n_iter;
  const std::int64_t seed = get_int(body, "seed", -1, -1, kMaxSeed);
  p.job->base_seed = seed < 0 ? random_seed() : seed;
  p.job->timestamp = timestamp_now();
  p.send_images = get_bool(body, "send_images", true);
  p.echo = echo_of(body, r, seed, p.batch_size, n_iter);
  return p;
}

json generation_answer(const Parsed& parsed, const Job& job, const Settings& settings) {
  const Request& r = job.request;
  const Result& res = job.result;
  json images = json::array();
  if (parsed.send_images) {
    for (std::size_t i = 0; i < res.images.size(); ++i) {
      images.push_back(base64_encode(pangu_draw::encode_png(res.images[i], res.parameters[i])));
    }
  }
  const int width = res.images.empty() ? r.width : res.images[0].width;
  const int height = res.images.empty() ? r.height : res.images[0].height;
  json seeds = json::array(), zeros = json::array(), prompts = json::array(), negatives = json::array();
  for (std::int64_t s : res.seeds) {
    seeds.push_back(s);
    zeros.push_back(-1);
    prompts.push_back(r.prompt);
    negatives.push_back(r.negative_prompt);
  }
  std::string model;
  {
    std::lock_guard<std::mutex> lock(settings.mu);
    model = settings.model_title;
  }
  json info = {
      {"prompt", r.prompt}, {"all_prompts", prompts}, {"negative_prompt", r.negative_prompt},
      {"all_negative_prompts", negatives}, {"seed", job.base_seed}, {"all_seeds", seeds},
      {"subseed", -1}, {"all_subseeds", zeros}, {"subseed_strength", 0}, {"width", width},
      {"height", height}, {"sampler_name", r.sampler}, {"scheduler", r.schedule},
      {"cfg_scale", decimal(r.cfg_scale)}, {"steps", r.steps}, {"batch_size", parsed.batch_size},
      {"restore_faces", false}, {"face_restoration_model", nullptr}, {"sd_model_name", model},
      {"sd_model_hash", nullptr}, {"sd_vae_name", nullptr}, {"sd_vae_hash", nullptr},
      {"seed_resize_from_w", -1}, {"seed_resize_from_h", -1},
      {"denoising_strength", r.init_image.rgb.empty() ? json(nullptr) : json(decimal(r.strength))},
      {"extra_generation_params", json::object()}, {"index_of_first_image", 0},
      {"infotexts", res.parameters}, {"styles", json::array()}, {"job_timestamp", job.timestamp},
      {"clip_skip", r.clip_skip}, {"is_using_inpainting_conditioning", false},
      {"interrupted", job.interrupted}, {"version", version()}};
  return {{"images", images}, {"parameters", parsed.echo}, {"info", info.dump()}};
}

}  // namespace pangu_draw::serve
