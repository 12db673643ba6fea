// json_config.cpp: JsonConfig: typed, error-naming access to config.json files.
#include "io/json_config.h"

#include "core/error.h"
#include "io/atomic_file.h"

namespace pangu_draw::io {

namespace {
// Config files are small; anything bigger is not a config.
constexpr size_t kMaxConfigBytes = 16u << 20;
}  // namespace

nlohmann::json parse_json(const std::string& text, const std::string& origin) {
  bool too_deep = false;
  // Values below the limit are dropped while parsing (the parser itself keeps no recursion).
  const auto bound = [&](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
    too_deep = too_deep || depth > kMaxJsonDepth;
    return depth <= kMaxJsonDepth;
  };
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text, bound);
  } catch (const nlohmann::json::exception& e) {
    PD_FAIL(Input, origin << ": not valid JSON (" << e.what() << ")");
  }
  PD_CHECK(!too_deep, Input,
           origin << ": JSON nested more than " << kMaxJsonDepth << " levels deep; not a valid "
                  << "file of this kind, check it or download it again");
  return j;
}

JsonConfig JsonConfig::load(const std::string& path) {
  const std::string text = read_file(path, kMaxConfigBytes);
  nlohmann::json j = parse_json(text, path);
  PD_CHECK(j.is_object(), Input, path << ": expected a JSON object at the top level");
  return JsonConfig(std::move(j), path);
}

JsonConfig::JsonConfig(nlohmann::json json, std::string origin)
    : json_(std::move(json)), origin_(std::move(origin)) {}

bool JsonConfig::has(const std::string& key) const {
  return json_.contains(key) && !json_.at(key).is_null();
}

void JsonConfig::type_error(const std::string& key, const char* expected) const {
  if (!has(key)) PD_FAIL(Input, origin_ << ": required field '" << key << "' is missing");
  PD_FAIL(Input, origin_ << ": '" << key << "' must be " << expected << ", found "
                         << json_.at(key).dump());
}

const nlohmann::json& JsonConfig::at(const std::string& key, const char* expected) const {
  if (!has(key)) type_error(key, expected);
  return json_.at(key);
}

int64_t JsonConfig::get_int(const std::string& key) const {
  const auto& v = at(key, "an integer");
  if (!v.is_number_integer()) type_error(key, "an integer");
  return v.get<int64_t>();
}

double JsonConfig::get_double(const std::string& key) const {
  const auto& v = at(key, "a number");
  if (!v.is_number()) type_error(key, "a number");
  return v.get<double>();
}

bool JsonConfig::get_bool(const std::string& key) const {
  const auto& v = at(key, "true or false");
  if (!v.is_boolean()) type_error(key, "true or false");
  return v.get<bool>();
}

std::string JsonConfig::get_string(const std::string& key) const {
  const auto& v = at(key, "a string");
  if (!v.is_string()) type_error(key, "a string");
  return v.get<std::string>();
}

std::vector<int64_t> JsonConfig::get_int_list(const std::string& key) const {
  const auto& v = at(key, "a list of integers");
  if (!v.is_array()) type_error(key, "a list of integers");
  std::vector<int64_t> out;
  for (const auto& e : v) {
    if (!e.is_number_integer()) type_error(key, "a list of integers");
    out.push_back(e.get<int64_t>());
  }
  return out;
}

std::vector<std::string> JsonConfig::get_string_list(const std::string& key) const {
  const auto& v = at(key, "a list of strings");
  if (!v.is_array()) type_error(key, "a list of strings");
  std::vector<std::string> out;
  for (const auto& e : v) {
    if (!e.is_string()) type_error(key, "a list of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

int64_t JsonConfig::get_int(const std::string& key, int64_t fallback) const {
  return has(key) ? get_int(key) : fallback;
}

double JsonConfig::get_double(const std::string& key, double fallback) const {
  return has(key) ? get_double(key) : fallback;
}

bool JsonConfig::get_bool(const std::string& key, bool fallback) const {
  return has(key) ? get_bool(key) : fallback;
}

std::string JsonConfig::get_string(const std::string& key, const std::string& fallback) const {
  return has(key) ? get_string(key) : fallback;
}

std::vector<int64_t> JsonConfig::get_int_or_list(const std::string& key, size_t n) const {
  const auto& v = at(key, "an integer or a list of integers");
  if (v.is_number_integer()) return std::vector<int64_t>(n, v.get<int64_t>());
  auto list = get_int_list(key);
  PD_CHECK(list.size() == n, Input,
           origin_ << ": '" << key << "' has " << list.size() << " entries, expected " << n
                   << " (one per block)");
  return list;
}

std::vector<int64_t> JsonConfig::get_int_or_list(const std::string& key, size_t n,
                                                 int64_t fallback) const {
  return has(key) ? get_int_or_list(key, n) : std::vector<int64_t>(n, fallback);
}

JsonConfig JsonConfig::get_object(const std::string& key) const {
  const auto& v = at(key, "an object");
  if (!v.is_object()) type_error(key, "an object");
  return JsonConfig(v, origin_ + ":" + key);
}

}  // namespace pangu_draw::io
