// json_config.h: typed access to a config.json with errors that name the file and the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace pangu_draw::io {

// JSON text -> value, nested at most kMaxJsonDepth levels: nlohmann's dump() (used in error
// messages) recurses per level and overflows the stack on ~100000 levels. Error{Input} naming
// `origin` when the text is not JSON or nested deeper.
constexpr int kMaxJsonDepth = 128;
nlohmann::json parse_json(const std::string& text, const std::string& origin);

class JsonConfig {
 public:
  // Parses `path`; Error{Input} naming the file when it is missing or not a JSON object.
  static JsonConfig load(const std::string& path);
  JsonConfig(nlohmann::json json, std::string origin);

  const std::string& origin() const { return origin_; }
  const nlohmann::json& raw() const { return json_; }
  // True when the key is present and not null.
  bool has(const std::string& key) const;

  // Required fields: Error{Input} "<file>: '<key>' must be <type>" when absent or mistyped.
  int64_t get_int(const std::string& key) const;
  double get_double(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  std::string get_string(const std::string& key) const;
  std::vector<int64_t> get_int_list(const std::string& key) const;
  std::vector<std::string> get_string_list(const std::string& key) const;

  // Optional fields: the fallback when absent or null, an error when present but mistyped.
  int64_t get_int(const std::string& key, int64_t fallback) const;
  double get_double(const std::string& key, double fallback) const;
  bool get_bool(const std::string& key, bool fallback) const;
  std::string get_string(const std::string& key, const std::string& fallback) const;

  // A field that is either one int (repeated n times) or a list of n ints, as diffusers allows
  // for attention_head_dim and transformer_layers_per_block.
  std::vector<int64_t> get_int_or_list(const std::string& key, size_t n) const;
  std::vector<int64_t> get_int_or_list(const std::string& key, size_t n, int64_t fallback) const;

  // A sub-object as its own config (origin "<file>:<key>").
  JsonConfig get_object(const std::string& key) const;

 private:
  [[noreturn]] void type_error(const std::string& key, const char* expected) const;
  const nlohmann::json& at(const std::string& key, const char* expected) const;

  nlohmann::json json_;
  std::string origin_;
};

}  // namespace pangu_draw::io
