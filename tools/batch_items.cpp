// batch_items.cpp: parsing of the `batch` prompts file and of one item's request (moved from
// cli_batch.cpp, behaviour unchanged).
#include "batch_items.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <type_traits>
#include <sstream>

namespace pangu_draw::cli {

namespace {

using nlohmann::json;

// Requests are flat; a deeply nested line would overflow the stack of json::dump() (the manifest).
constexpr int kMaxDepth = 32;

std::string normalized(std::string key) {
  for (char& c : key) c = c == '-' ? '_' : c;
  return key;
}

// A JSON number outside T's range: converting it would be undefined behaviour (UBSan).
template <typename T>
bool out_of_range(const json& v) {
  if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool>) {
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();
    return !(d >= static_cast<double>(std::numeric_limits<T>::lowest()) &&
             d <= static_cast<double>(std::numeric_limits<T>::max()));  // NaN too
  } else if constexpr (std::is_same_v<T, std::vector<float>>) {
    if (v.is_array()) {
      for (const auto& e : v) {
        if (out_of_range<float>(e)) return true;
      }
    }
  }
  return false;
}

template <typename T>
T get_as(const json& v, const std::string& key) {
  if (out_of_range<T>(v)) throw Error(ErrorKind::Usage, "key '" + key + "' is out of range: " + v.dump());
  try {
    return v.get<T>();
  } catch (const json::exception&) {
    throw Error(ErrorKind::Usage, "key '" + key + "' has the wrong type: " + v.dump());
  }
}

// The manifest dump()s each spec, which throws on invalid UTF-8 (found by fuzz_prompts): such a
// line becomes an item error, its text kept with U+FFFD replacements.
std::string valid_utf8(const std::string& text, std::string& error) {
  try {
    (void)json(text).dump();
    return text;
  } catch (const json::type_error&) {
    error = "the line is not valid UTF-8 text";
    return json::parse(json(text).dump(-1, ' ', false, json::error_handler_t::replace))
        .get<std::string>();
  }
}

// "outpaint": "L,T,R,B" or [L, T, R, B].
Border item_border(const json& v, const std::string& key) {
  if (!v.is_array()) return parse_border(get_as<std::string>(v, key), "key '" + key + "'");
  if (v.size() != 4) throw Error(ErrorKind::Usage, "key '" + key + "' needs 4 numbers [L, T, R, B]: " + v.dump());
  return Border{get_as<int>(v[0], key), get_as<int>(v[1], key), get_as<int>(v[2], key), get_as<int>(v[3], key)};
}

}  // namespace

Border parse_border(const std::string& text, const std::string& flag) {
  std::vector<int> sides;
  bool ok = !text.empty() && text.back() != ',';
  std::istringstream in(text);
  for (std::string part; ok && std::getline(in, part, ',');) {
    size_t used = 0;
    try {
      sides.push_back(std::stoi(part, &used));
    } catch (const std::exception&) {  // not a number, or out of int's range
      ok = false;
    }
    ok = ok && part.find_first_not_of(" \t", used) == std::string::npos;
  }
  if (!ok || sides.size() != 4) {
    throw Error(ErrorKind::Usage, flag + " takes L,T,R,B: four whole numbers of pixels to add on the left, "
                                         "top, right and bottom (multiples of 8), got '" + text + "'");
  }
  return Border{sides[0], sides[1], sides[2], sides[3]};
}

Lora parse_lora_spec(const std::string& text, const std::string& flag) {
  Lora lora{text, 1.0f, nullptr};
  const size_t colon = text.rfind(':');
  if (colon != std::string::npos) {
    const std::string w = text.substr(colon + 1);
    char* end = nullptr;
    const float weight = w.empty() ? 0.0f : std::strtof(w.c_str(), &end);
    if (!w.empty() && end == w.c_str() + w.size() && std::isfinite(weight)) {
      lora = Lora{text.substr(0, colon), weight, nullptr};
    }
  }
  if (lora.name.empty()) throw Error(ErrorKind::Usage, flag + " takes FILE[:weight], got '" + text + "'");
  return lora;
}

namespace {

// "lora": "FILE[:w]" or ["FILE[:w]", ...]: replaces the command line's --lora list.
std::vector<Lora> item_loras(const json& v, const std::string& key) {
  std::vector<Lora> out;
  for (const auto& s : v.is_array() ? get_as<std::vector<std::string>>(v, key)
                                    : std::vector<std::string>{get_as<std::string>(v, key)}) {
    out.push_back(parse_lora_spec(s, "key '" + key + "'"));
  }
  return out;
}

std::string item_syntax(const json& v, const std::string& key) {
  const auto syntax = get_as<std::string>(v, key);
  if (syntax != "a1111" && syntax != "plain") {
    throw Error(ErrorKind::Usage, "key '" + key + "' must be \"a1111\" or \"plain\", got " + v.dump());
  }
  return syntax;
}

}  // namespace

std::vector<BatchItem> parse_items(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(line);
  }
  bool jsonl = false;
  for (const auto& l : lines) {
    const size_t at = l.find_first_not_of(" \t");
    if (at == std::string::npos) continue;
    jsonl = l[at] == '{';
    break;
  }
  std::vector<BatchItem> items;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    const size_t at = l.find_first_not_of(" \t");
    if (at == std::string::npos || (!jsonl && l[at] == '#')) continue;
    BatchItem item;
    item.line = static_cast<int>(i + 1);
    if (!jsonl) {
      item.spec = json{{"prompt", valid_utf8(l.substr(at), item.error)}};
    } else {
      try {
        bool too_deep = false;
        item.spec = json::parse(l, [&](int depth, json::parse_event_t, json&) {
          too_deep = too_deep || depth > kMaxDepth;
          return depth <= kMaxDepth;  // deeper values are dropped: dump() recurses per level
        });
        if (too_deep) item.error = "JSON nested more than " + std::to_string(kMaxDepth) + " levels";
        else if (!item.spec.is_object()) item.error = "not a JSON object";
      } catch (const json::exception& e) {
        item.error = std::string("invalid JSON: ") + e.what();
      }
    }
    items.push_back(std::move(item));
  }
  return items;
}

std::vector<BatchItem> read_items(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorKind::Input, path + ": cannot open the prompts file");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_items(text.str());
}

// One JSON request on top of the command line's defaults; unknown keys are errors.
Request item_request(const nlohmann::json& spec, const Request& defaults, ItemFiles* files) {
  Request r = defaults;
  std::vector<std::string> styles;
  std::vector<float> style_scales;
  for (const auto& [raw_key, v] : spec.items()) {
    const std::string key = normalized(raw_key);
    if (key == "prompt") r.prompt = get_as<std::string>(v, key);
    else if (key == "negative_prompt") r.negative_prompt = get_as<std::string>(v, key);
    else if (key == "steps") r.steps = get_as<int>(v, key);
    else if (key == "seed") r.seed = get_as<int64_t>(v, key);
    else if (key == "sampler") r.sampler = get_as<std::string>(v, key);
    else if (key == "schedule") r.schedule = get_as<std::string>(v, key);
    else if (key == "cfg_scale") r.cfg_scale = get_as<float>(v, key);
    else if (key == "eta") r.eta = get_as<float>(v, key);
    else if (key == "width") r.width = get_as<int>(v, key);
    else if (key == "height") r.height = get_as<int>(v, key);
    else if (key == "batch_count") r.batch_count = get_as<int>(v, key);
    else if (key == "controlnet") r.controlnet_path = get_as<std::string>(v, key);
    else if (key == "control_image" && files) files->control_image = get_as<std::string>(v, key);
    else if (key == "control_scale") r.control_scale = get_as<float>(v, key);
    else if (key == "vae_tile") r.vae_tile = get_as<int>(v, key);
    else if (key == "init_noise" && files) files->init_noise = get_as<std::string>(v, key);
    else if (key == "init_image" && files) files->init_image = get_as<std::string>(v, key);
    else if (key == "mask_image" && files) files->mask_image = get_as<std::string>(v, key);
    else if (key == "strength") r.strength = get_as<float>(v, key);
    else if (key == "mask_blur") r.mask_blur = get_as<int>(v, key);
    else if (key == "paste_back") r.paste_back = get_as<bool>(v, key);
    else if (key == "outpaint") r.outpaint = item_border(v, key);
    else if (key == "prompt_syntax") r.prompt_syntax = item_syntax(v, key);
    else if (key == "clip_skip") r.clip_skip = get_as<int>(v, key);
    else if (key == "lora") r.loras = item_loras(v, key);
    else if (key == "lora_dir" || key == "embedding_dir")
      throw Error(ErrorKind::Usage, "'" + raw_key + "' cannot come from a prompts file; pass --" +
                                        (key == "lora_dir" ? "lora-dir" : "embedding-dir") + " on the command line");
    else if (key == "enhance_cmd")
      throw Error(ErrorKind::Usage, "'enhance_cmd' cannot come from a prompts file; pass --enhance-cmd on the command line");
    else if (key == "style") styles = v.is_array() ? get_as<std::vector<std::string>>(v, key)
                                                   : std::vector<std::string>{get_as<std::string>(v, key)};
    else if (key == "style_scale") style_scales = v.is_array() ? get_as<std::vector<float>>(v, key)
                                                               : std::vector<float>{get_as<float>(v, key)};
    else throw Error(ErrorKind::Usage, "unknown key '" + raw_key + "'");
  }
  if (r.prompt.empty()) throw Error(ErrorKind::Usage, "the request has no 'prompt'");
  if (r.clip_skip < 0) throw Error(ErrorKind::Usage, "key 'clip_skip' must be >= 0 (1 = last layer), got " + std::to_string(r.clip_skip));
  if (!styles.empty()) {
    r.styles.clear();
    for (size_t i = 0; i < styles.size(); ++i) {
      const float scale = style_scales.empty() ? 4.0f : style_scales[std::min(i, style_scales.size() - 1)];
      r.styles.push_back({styles[i], scale});
    }
  }
  return r;
}

}  // namespace pangu_draw::cli
