// model_layout.h: where a model's components live. A diffusers folder (model_index.json +
// <component>/config.json + weights) or an original single-file checkpoint, whose configs and
// tokenizers come from a diffusers folder given beside it (--config) or, for a recognised SD 1.x /
// SD 2.x / SDXL base file, from the configs built into the library (arch_detect.h,
// builtin_models.h). The rest of the engine asks for a component's config, files and weights by
// name and never sees which layout it was.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/arch_detect.h"
#include "io/component_files.h"
#include "io/json_config.h"
#include "io/safetensors.h"
#include "io/state_dict.h"

namespace pangu_draw::io {

class ModelLayout {
 public:
  // `path`: a diffusers folder or a .safetensors single file. `config_dir`: for single files,
  // a diffusers folder providing config.json files, tokenizers and scheduler; when empty, the
  // file's family is recognised (detect_architecture) and the built-in configs are used.
  static ModelLayout open(const std::string& path, const std::string& config_dir = "");

  const std::string& path() const { return path_; }
  bool single_file() const { return file_ != nullptr; }
  // The folder holding model_index.json and the component folders (for single files: --config;
  // empty when the configs are built in).
  const std::string& root() const { return config_root_; }
  // For a single file loaded without --config: what it was recognised as.
  const std::optional<DetectedModel>& detected() const { return detected_; }
  // model_index.json (an empty object when the folder has none).
  const JsonConfig& model_index() const { return *model_index_; }
  // True when the component's folder exists (unet, vae, text_encoder_2, controlnet, ...).
  bool has(const std::string& component) const;
  // The component's folder on disk (Error{Input} when the configs are built in: use files()).
  std::string folder(const std::string& component) const;
  // The component folder's files by name ("" = the root folder), on disk or built in.
  ComponentFiles files(const std::string& component) const;
  // <folder>/config.json, or scheduler_config.json for the scheduler.
  JsonConfig config(const std::string& component) const;
  // The component's weights under canonical (diffusers/transformers) names.
  WeightSource weights(const std::string& component) const;

 private:
  WeightSource single_file_weights(const std::string& component) const;

  std::string path_;
  std::string config_root_;  // folder with model_index.json and component folders
  std::string builtin_set_;  // built-in config set ("sd15", ...) when config_root_ is empty
  std::optional<DetectedModel> detected_;
  std::shared_ptr<const SafetensorsFile> file_;  // single-file checkpoint, else null
  std::optional<JsonConfig> model_index_;
};

// The weights file of a diffusers component folder (safetensors only; a .bin is an error that
// says how to convert it).
std::string find_weights_file(const std::string& folder);

}  // namespace pangu_draw::io
