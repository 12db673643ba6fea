// component_files.cpp
#include "io/component_files.h"

#include <sys/stat.h>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/builtin_models.h"

namespace pangu_draw::io {

ComponentFiles ComponentFiles::on_disk(std::string folder) { return {std::move(folder), false}; }

ComponentFiles ComponentFiles::builtin(std::string folder) { return {std::move(folder), true}; }

std::string ComponentFiles::origin(const std::string& name) const {
  return (builtin_ ? "<built-in>/" : "") + folder_ + "/" + name;
}

bool ComponentFiles::exists(const std::string& name) const {
  if (builtin_) return builtin_file(folder_ + "/" + name).has_value();
  struct stat st {};
  return ::stat((folder_ + "/" + name).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string ComponentFiles::read(const std::string& name) const {
  if (!builtin_) {
    PD_CHECK(exists(name), Input, origin(name) << ": not found");
    return read_file(folder_ + "/" + name);
  }
  const auto text = builtin_file(folder_ + "/" + name);
  PD_CHECK(text.has_value(), Input,
           origin(name) << ": the built-in configs have no such file (pass --config DIR)");
  return std::string(*text);
}

JsonConfig ComponentFiles::json(const std::string& name) const {
  if (!builtin_) return JsonConfig::load(folder_ + "/" + name);
  const std::string origin_name = origin(name);
  nlohmann::json value = parse_json(read(name), origin_name);
  PD_CHECK(value.is_object(), Input, origin_name << ": expected a JSON object");
  return JsonConfig(std::move(value), origin_name);
}

}  // namespace pangu_draw::io
