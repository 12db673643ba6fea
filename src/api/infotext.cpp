// infotext.cpp: the A1111-style "parameters" text of generated images (see infotext.h). A1111
// writes it in modules/processing.py create_infotext() as
//   prompt + "\nNegative prompt: " + negative + "\n" + ", ".join("Key: " + quote(value))
// and reads it back in modules/infotext_utils.py parse_generation_parameters(), whose pattern
// `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)` takes a value up to the next comma
// unless it is a JSON string; so every value that may hold a comma, colon or newline is quoted.
// Keys stay unique (a repeated key keeps only its last value there): several experts or styles
// are "Expert 1", "Expert 2", ...
#include "api/infotext.h"

#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>
#include <utility>
#include <vector>

#include "api/request_validate.h"
#include "pipeline/model_bundle.h"

namespace pangu_draw::api {

namespace {

// The code point starting at byte `i` of UTF-8 `s` (-1 when malformed); `length` gets its size.
long code_point_at(const std::string& s, size_t i, size_t* length) {
  const auto b = uint8_t(s[i]);
  const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
  *length = n == 0 ? 1 : n;
  if (n == 0 || i + n > s.size()) return -1;
  long cp = n == 1 ? b : b & (0xff >> (n + 1));
  for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3f);
  return cp;
}

// Python's str.isspace() for the code points it is true for.
bool py_space(long cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

bool starts_or_ends_with_space(const std::string& v) {
  size_t len = 0;
  if (py_space(code_point_at(v, 0, &len))) return true;
  size_t last = v.size() - 1;
  while (last > 0 && (uint8_t(v[last]) >> 6) == 2) --last;  // back to the last lead byte
  return py_space(code_point_at(v, last, &len));
}

std::string strip_weights_extension(const std::string& name) {
  for (const char* ext : {".safetensors", ".ckpt", ".pth", ".pt", ".bin"}) {
    const std::string e(ext);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0) {
      return name.substr(0, name.size() - e.size());
    }
  }
  return name;
}

// Two spellings of one path ("x/unet_texture/", "./x/unet_texture") name the same model.
bool same_file(const std::string& a, const std::string& b) {
  const auto normal = [](std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return std::filesystem::path(p).lexically_normal();
  };
  std::error_code ec;
  return normal(a) == normal(b) || std::filesystem::equivalent(a, b, ec);
}

template <typename T>
std::string str(const T& value) {
  std::ostringstream os;
  os << value;
  return os.str();
}

// A float in as few digits as read back to the same float (6 significant digits when they
// do, as before): --from-png reruns the exact values.
std::string str(float value) {
  std::string text = str<float>(value);
  for (int digits = 7; digits <= 9 && std::strtof(text.c_str(), nullptr) != value; ++digits) {
    std::ostringstream os;
    os << std::setprecision(digits) << value;
    text = os.str();
  }
  return text;
}

// "Key" for one entry, "Key 1", "Key 2", ... for several.
std::string numbered(const std::string& key, size_t index, size_t count) {
  return count == 1 ? key : key + " " + std::to_string(index + 1);
}

std::string expert_value(const Expert& e, const pipeline::ModelBundle& model) {
  std::string name = strip_weights_extension(model.name);
  if (!e.model_path.empty()) {
    name = model.texture && same_file(e.model_path, model.texture->path)
               ? strip_weights_extension(model.texture->name)
               : model_label(e.model_path);
  }
  std::string value = name + " w" + str(e.weight);
  if (e.from_t >= 0 || e.to_t >= 0) value += " t[" + str(e.to_t) + "," + str(e.from_t) + ")";
  return value;
}

// Settings beyond A1111's core ones, each written only when it differs from the default, so
// that --from-png reruns an image exactly: "Clip skip" as A1111 writes it, and our own keys.
void add_run_settings(const Request& r, const pipeline::ModelBundle& model,
                      std::vector<std::pair<std::string, std::string>>& entries) {
  if (r.clip_skip != 0) entries.emplace_back("Clip skip", str(r.clip_skip));
  if (r.prompt_syntax != "a1111") entries.emplace_back("Prompt syntax", r.prompt_syntax);
  if (r.eta != 0) entries.emplace_back("Eta DDIM", str(r.eta));
  if (r.dynamic_threshold != 0) {
    entries.emplace_back("Dynamic threshold", str(r.dynamic_threshold));
    if (r.dynamic_threshold_max != 1) entries.emplace_back("Dynamic threshold max", str(r.dynamic_threshold_max));
    if (r.dynamic_threshold_range != 0) entries.emplace_back("Dynamic threshold range", str(r.dynamic_threshold_range));
  }
  if (r.vae_tile != -1) entries.emplace_back("VAE tile", str(r.vae_tile));
  if (model.texture && !r.time_decoupled && r.experts.empty()) entries.emplace_back("Time-decoupled", "off");
  std::string loras;  // LoRAs given by file; those of prompt tags (weight 0 here) are in the prompt
  for (const Lora& l : r.loras) {
    if (l.weight != 0) loras += (loras.empty() ? "" : ", ") + l.name + ": " + str(l.weight);
  }
  if (!loras.empty()) entries.emplace_back("Lora weights", loras);
}

}  // namespace

std::string infotext_quote(const std::string& value) {
  const bool plain = !value.empty() && value.find_first_of(",\n:") == std::string::npos &&
                     value.front() != '"' && !starts_or_ends_with_space(value);
  if (plain) return value;
  // json.dumps(value, ensure_ascii=False): quotes, backslashes and control characters escaped.
  return nlohmann::json(value).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string model_label(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.find_last_of('/');
  const std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
  if (name == "model" && slash != std::string::npos && slash > 0) return model_label(p.substr(0, slash));
  return strip_weights_extension(name);
}

std::string parameters_text(const Request& r, const std::string& original_prompt, int64_t seed,
                            int64_t w, int64_t h, const pipeline::ModelBundle& model) {
  std::vector<std::pair<std::string, std::string>> entries = {
      {"Steps", str(r.steps)},
      {"Sampler", sampler_display_name(r.sampler, r.schedule)},
      {"CFG scale", str(r.cfg_scale)},
      {"Seed", str(seed)},
      {"Size", str(w) + "x" + str(h)},
      {"Model", strip_weights_extension(model.name)}};
  if (!r.init_image.rgb.empty()) entries.emplace_back("Denoising strength", str(r.strength));
  if (!r.init_image.rgb.empty() && r.mask_blur > 0) entries.emplace_back("Mask blur", str(r.mask_blur));
  add_run_settings(r, model, entries);
  if (!r.controlnet_path.empty()) {
    entries.emplace_back("ControlNet", model_label(r.controlnet_path));
    entries.emplace_back("Control scale", str(r.control_scale));
  }
  for (size_t i = 0; i < r.styles.size(); ++i) {
    entries.emplace_back(numbered("Style", i, r.styles.size()),
                         r.styles[i].name + " " + str(r.styles[i].scale));
  }
  for (size_t i = 0; i < r.experts.size(); ++i) {
    entries.emplace_back(numbered("Expert", i, r.experts.size()), expert_value(r.experts[i], model));
  }
  if (original_prompt != r.prompt) entries.emplace_back("Original prompt", original_prompt);
  entries.emplace_back("Version", "pangu-draw");

  std::string text = r.prompt + "\n";
  if (!r.negative_prompt.empty()) text += "Negative prompt: " + r.negative_prompt + "\n";
  for (size_t i = 0; i < entries.size(); ++i) {
    text += (i ? ", " : "") + entries[i].first + ": " + infotext_quote(entries[i].second);
  }
  return text;
}

}  // namespace pangu_draw::api
