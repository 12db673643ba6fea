// model_layout.cpp
#include "io/model_layout.h"

#include <sys/stat.h>

#include "core/error.h"
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
    PD_CHECK(!config_dir.empty(), Usage,
             path << " is a single-file checkpoint: pass --config DIR, a diffusers folder of the "
                     "same architecture, for its config.json files, tokenizers and scheduler");
    PD_CHECK(is_dir(config_dir), Input, config_dir << ": not a folder (--config)");
    layout.config_root_ = config_dir;
  }
  const std::string index = layout.config_root_ + "/model_index.json";
  layout.model_index_ = exists(index) ? JsonConfig::load(index)
                                      : JsonConfig(nlohmann::json::object(), index);
  return layout;
}

bool ModelLayout::has(const std::string& component) const {
  return is_dir(folder(component));
}

std::string ModelLayout::folder(const std::string& component) const {
  return config_root_ + "/" + component;
}

JsonConfig ModelLayout::config(const std::string& component) const {
  const std::string dir = folder(component);
  PD_CHECK(is_dir(dir), Input, config_root_ << ": the model has no '" << component << "' folder");
  const char* name = component == "scheduler" ? "scheduler_config.json" : "config.json";
  return JsonConfig::load(dir + "/" + name);
}

WeightSource ModelLayout::weights(const std::string& component) const {
  if (file_) return single_file_weights(component);
  return WeightSource(SafetensorsFile::open(find_weights_file(folder(component))));
}

WeightSource ModelLayout::single_file_weights(const std::string& component) const {
  const SafetensorsFile& f = *file_;
  if (component == "unet") {
    const JsonConfig c = config("unet");
    return WeightSource(file_, map_ldm_unet(f, LdmPrefixes::kUNet, c.get_int("layers_per_block"),
                                            static_cast<int64_t>(c.get_int_list("block_out_channels").size())));
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
