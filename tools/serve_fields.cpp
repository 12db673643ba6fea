// serve_fields.cpp: typed field reads, the refusal of paths, and the table of A1111 fields that
// are accepted only at their neutral values.
#include "serve_fields.h"

#include <cctype>
#include <cmath>
#include <vector>

namespace pangu_draw::serve {

namespace {

const json* field(const json& body, const char* key) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

[[noreturn]] void bad_type(const char* key, const char* want, const json& got) {
  throw HttpError(422, std::string("field '") + key + "' must be " + want + ", got " +
                           got.dump().substr(0, 60));
}

struct Unsupported {
  const char* key;
  std::vector<json> neutral;  // values that change nothing (besides absent and null)
  const char* why;
};

const std::vector<Unsupported>& unsupported_fields() {
  static const std::vector<Unsupported> kTable = {
      {"enable_hr", {false}, "hires fix is not supported; request the final size or upscale with img2img"},
      {"restore_faces", {false}, "face restoration is not supported"},
      {"tiling", {false}, "tiling (seamless textures) is not supported"},
      {"subseed_strength", {0}, "variation seeds are not supported"},
      {"seed_resize_from_w", {-1, 0}, "seed resize is not supported"},
      {"seed_resize_from_h", {-1, 0}, "seed resize is not supported"},
      {"s_churn", {0}, "sigma churn is not supported"},
      {"s_noise", {1}, "sigma noise scale is not supported"},
      {"s_min_uncond", {0}, "negative guidance minimum sigma is not supported"},
      {"refiner_checkpoint", {"", "None"}, "refiner models are not supported (PanGu experts: pangu_experts)"},
      {"script_name", {"", "None"}, "scripts are not supported"},
      {"alwayson_scripts", {json::object()}, "extensions (ControlNet, ADetailer, ...) are not supported"},
      {"save_images", {false}, "the server writes no files; images come back in the answer"},
      {"styles", {json::array()}, "A1111 prompt styles are not supported; use pangu_styles (the model's styles.json)"},
      {"infotext", {""}, "parameters from an infotext are not supported; send the fields"},
      {"firstpass_image", {""}, "hires fix is not supported"},
  };
  return kTable;
}

const std::vector<Unsupported>& unsupported_img2img_fields() {
  static const std::vector<Unsupported> kTable = {
      {"initial_noise_multiplier", {1}, "initial noise multiplier is not supported"},
      {"latent_mask", {""}, "latent masks are not supported"},
      {"inpainting_fill", {0, 1}, "only 'fill' (0) and 'original' (1) are supported: both start from the init image"},
        };
  return kTable;
}

bool is_neutral(const json& value, const std::vector<json>& neutral) {
  for (const json& n : neutral) {
    if (value.is_number() && n.is_number() && value.get<double>() == n.get<double>()) return true;
    if (value.type() == n.type() && value == n) return true;
  }
  return false;
}

}  // namespace

std::int64_t get_int(const json& body, const char* key, std::int64_t fallback, std::int64_t lo,
                     std::int64_t hi) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_number() || v->is_boolean()) bad_type(key, "an integer", *v);
  const double d = v->get<double>();
  if (v->is_number_float() && (!std::isfinite(d) || d != std::floor(d))) bad_type(key, "an integer", *v);
  if (d < double(lo) || d > double(hi) || (v->is_number_unsigned() && v->get<std::uint64_t>() > std::uint64_t(hi))) {
    throw HttpError(422, std::string("field '") + key + "' must be between " + std::to_string(lo) +
                             " and " + std::to_string(hi) + ", got " + v->dump());
  }
  return v->is_number_float() ? static_cast<std::int64_t>(d) : v->get<std::int64_t>();
}

double get_number(const json& body, const char* key, double fallback, double lo, double hi) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_number()) bad_type(key, "a number", *v);
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < lo || d > hi) {
    throw HttpError(422, std::string("field '") + key + "' must be between " + json(lo).dump() +
                             " and " + json(hi).dump() + ", got " + v->dump());
  }
  return d;
}

std::string get_string(const json& body, const char* key, const std::string& fallback,
                       std::size_t max_bytes) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_string()) bad_type(key, "a string", *v);
  const auto& s = v->get_ref<const std::string&>();
  if (s.size() > max_bytes) {
    throw HttpError(422, std::string("field '") + key + "' is longer than " + std::to_string(max_bytes) + " bytes");
  }
  return s;
}

bool get_bool(const json& body, const char* key, bool fallback) {
  const json* v = field(body, key);
  if (!v) return fallback;
  if (!v->is_boolean()) bad_type(key, "true or false", *v);
  return v->get<bool>();
}

void refuse_deep(const json& value, int max_depth) {
  if (!value.is_structured()) return;
  if (max_depth <= 0) throw HttpError(400, "the JSON nests too deeply");
  for (const json& child : value) refuse_deep(child, max_depth - 1);
}

void refuse_paths(const json& value, const std::string& where) {
  if (value.is_array()) {
    for (std::size_t i = 0; i < value.size(); ++i) refuse_paths(value[i], where + "[" + std::to_string(i) + "]");
    return;
  }
  if (!value.is_object()) return;
  for (auto it = value.begin(); it != value.end(); ++it) {
    std::string key = it.key();
    for (auto& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::string name = where.empty() ? it.key() : where + "." + it.key();
    if (key.size() >= 4 && key.compare(key.size() - 4, 4, "path") == 0 && !it->is_null()) {
      throw HttpError(400, "field '" + name + "' names a path: requests are data only; the server "
                           "uses the model it was started with (see GET /sdapi/v1/sd-models)");
    }
    refuse_paths(*it, name);
  }
}

void refuse_unsupported(const json& body, bool img2img) {
  auto check = [&](const std::vector<Unsupported>& table) {
    for (const auto& u : table) {
      const json* v = field(body, u.key);
      if (v && !is_neutral(*v, u.neutral)) {
        throw HttpError(422, std::string("field '") + u.key + "' = " + v->dump().substr(0, 60) +
                                 ": " + u.why + " (see docs/server.md)");
      }
    }
  };
  check(unsupported_fields());
  if (img2img) check(unsupported_img2img_fields());
}

}  // namespace pangu_draw::serve
