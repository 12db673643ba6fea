// component_files.h: the files of one model folder (a component's config.json, a tokenizer's
// vocabulary, the root's model_index.json), read from disk or from the configs built into the
// library (builtin_models.h). Consumers that only need files by name (tokenizers) take this, so
// they work the same for a diffusers folder and for a recognised single-file checkpoint.
#pragma once

#include <string>
#include <utility>

#include "io/json_config.h"

namespace pangu_draw::io {

class ComponentFiles {
 public:
  // A folder on disk.
  static ComponentFiles on_disk(std::string folder);
  // A built-in folder: "sd15/tokenizer", or "sd15" for a set's root.
  static ComponentFiles builtin(std::string folder);

  bool is_builtin() const { return builtin_; }
  // The disk folder (empty for a built-in one).
  std::string disk_folder() const { return builtin_ ? std::string() : folder_; }
  // For messages: "<folder>/<name>", or "<built-in>/sd15/tokenizer/<name>".
  std::string origin(const std::string& name) const;
  bool exists(const std::string& name) const;
  // Error{Input} naming the file when it is missing.
  std::string read(const std::string& name) const;
  JsonConfig json(const std::string& name) const;

 private:
  ComponentFiles(std::string folder, bool builtin) : folder_(std::move(folder)), builtin_(builtin) {}
  std::string folder_;
  bool builtin_ = false;
};

}  // namespace pangu_draw::io
