// model_layout.cpp: opening a model folder or single file, and the component lookups.
#include "io/model_layout.h"

#include <sys/stat.h>

#include "core/error.h"
#include "core/log.h"
#include "io/builtin_models.h"
#include "io/key_map_ldm.h"

namespace pangu_draw::io {

namespace {

bool exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

bool is_dir(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool has_prefix(const SafetensorsFile& file, const std::string& prefix) {
  for (const auto& n : file.names()) {
    if (n.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}

}  // namespace

std::string find_weights_file(const std::string& folder) {
  for (const char* name : {"diffusion_pytorch_model.safetensors", "model.safetensors",
                           "diffusion_pytorch_model.fp16.safetensors", "model.fp16.safetensors"}) {
    if (exists(folder + "/" + name)) return folder + "/" + name;
  }
  for (const char* name : {"diffusion_pytorch_model.bin", "pytorch_model.bin"}) {
    PD_CHECK(!exists(folder + "/" + name), Input,
             folder << "/" << name << ": PyTorch pickle weights are not supported (they can run "
                    "code when loaded); convert them to .safetensors first");
  }
  PD_FAIL(Input, folder << ": no weights found (expected diffusion_pytorch_model.safetensors or "
                           "model.safetensors)");
}

ModelLayout ModelLayout::open(const std::string& path, const std::string& config_dir) {
  PD_CHECK(exists(path), Input, path << ": no such file or folder (--model)");
  ModelLayout layout;
  layout.path_ = path;
  if (is_dir(path)) {
    PD_CHECK(config_dir.empty() || config_dir == path, Usage,
             "--config is only for single-file checkpoints; " << path << " is a folder");
    layout.config_root_ = path;
  } else {
    layout.file_ = SafetensorsFile::open(path);
    PD_CHECK(is_ldm_checkpoint(*layout.file_), Input,
             path << ": not an original Stable Diffusion checkpoint (no 'model.diffusion_model.*' "
                     "tensors); pass a diffusers folder or a full single-file checkpoint");
    if (config_dir.empty()) {
      layout.detected_ = detect_architecture(*layout.file_);
      layout.builtin_set_ = layout.detected_->config_set;
      PD_CHECK(builtin_has_folder(layout.builtin_set_), Runtime,
               "the built-in configs lack the set '" << layout.builtin_set_ << "'");
      logger().info("{}: recognised as {}, prediction {} ({}); using the built-in configs '{}'",
                    path, layout.detected_->family, layout.detected_->prediction_type,
                    layout.detected_->evidence, layout.builtin_set_);
    } else {
      PD_CHECK(is_dir(config_dir), Input, config_dir << ": not a folder (--config)");
      layout.config_root_ = config_dir;
    }
  }
  const ComponentFiles root = layout.files("");
  layout.model_index_ = root.exists("model_index.json")
                            ? root.json("model_index.json")
                            : JsonConfig(nlohmann::json::object(), root.origin("model_index.json"));
  return layout;
}

bool ModelLayout::has(const std::string& component) const {
  if (!builtin_set_.empty()) return builtin_has_folder(builtin_set_ + "/" + component);
  return is_dir(folder(component));
}

std::string ModelLayout::folder(const std::string& component) const {
  PD_CHECK(builtin_set_.empty(), Input,
           path_ << " uses the built-in configs '" << builtin_set_ << "': its '" << component
                 << "' folder is not on disk; pass --config DIR to use a folder");
  return config_root_ + "/" + component;
}

ComponentFiles ModelLayout::files(const std::string& component) const {
  const std::string sub = component.empty() ? "" : "/" + component;
  if (!builtin_set_.empty()) return ComponentFiles::builtin(builtin_set_ + sub);
  return ComponentFiles::on_disk(config_root_ + sub);
}

JsonConfig ModelLayout::config(const std::string& component) const {
  PD_CHECK(has(component), Input,
           (builtin_set_.empty() ? config_root_ : "the built-in configs '" + builtin_set_ + "'")
               << ": the model has no '" << component << "' folder");
  const char* name = component == "scheduler" ? "scheduler_config.json" : "config.json";
  JsonConfig c = files(component).json(name);
  if (component != "scheduler" || !detected_) return c;
  // The recognised prediction type (e.g. an SDXL v-prediction finetune) wins over the set's.
  nlohmann::json patched = c.raw();
  patched["prediction_type"] = detected_->prediction_type;
  return JsonConfig(std::move(patched), c.origin() + " (prediction_type from detection)");
}

WeightSource ModelLayout::weights(const std::string& component) const {
  if (file_) return single_file_weights(component);
  return WeightSource(SafetensorsFile::open(find_weights_file(folder(component))));
}

WeightSource ModelLayout::single_file_weights(const std::string& component) const {
  const SafetensorsFile& f = *file_;
  if (component == "unet") {
    return WeightSource(file_, map_ldm_unet(f, LdmPrefixes::kUNet, config("unet")));
  }
  if (component == "vae") {
    const JsonConfig c = config("vae");
    return WeightSource(file_, map_ldm_vae(f, LdmPrefixes::kVAE,
                                           static_cast<int64_t>(c.get_int_list("block_out_channels").size())));
  }
  // Text encoders: SD 1.x / 2.x keep one under cond_stage_model; SDXL two under conditioner.
  const bool second = component == "text_encoder_2";
  PD_CHECK(second || component == "text_encoder", Input,
           path_ << ": a single-file checkpoint has no '" << component << "' component");
  const std::vector<std::pair<const char*, bool>> candidates =
      second ? std::vector<std::pair<const char*, bool>>{{LdmPrefixes::kSgmOpenCLIP, true}}
             : std::vector<std::pair<const char*, bool>>{{LdmPrefixes::kCLIP, false},
                                                         {LdmPrefixes::kOpenCLIP, true},
                                                         {LdmPrefixes::kSgmCLIP, false}};
  for (const auto& [prefix, open_clip] : candidates) {
    if (!has_prefix(f, prefix)) continue;
    return WeightSource(file_, open_clip ? map_open_clip(f, prefix) : map_transformers_clip(f, prefix));
  }
  PD_FAIL(Input, path_ << ": no " << component << " weights in this checkpoint (looked for "
                       << candidates.front().first << "*)");
}

}  // namespace pangu_draw::io
