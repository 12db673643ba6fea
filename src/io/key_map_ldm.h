// key_map_ldm.h: THE mapping from original (ldm / sgm / open_clip) single-file checkpoint keys to
// the diffusers / transformers names that the engine's modules use. Nowhere else knows ldm keys.
// Mirrors diffusers' single-file converters (single_file_utils.py, 0.31).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "io/json_config.h"
#include "io/ldm_unet_layout.h"
#include "io/state_dict.h"

namespace pangu_draw::io {

// Where each component lives inside a single-file checkpoint.
struct LdmPrefixes {
  static constexpr const char* kUNet = "model.diffusion_model.";
  static constexpr const char* kVAE = "first_stage_model.";
  static constexpr const char* kCLIP = "cond_stage_model.transformer.";        // SD 1.x
  static constexpr const char* kOpenCLIP = "cond_stage_model.model.";          // SD 2.x
  static constexpr const char* kSgmCLIP = "conditioner.embedders.0.transformer.";  // SDXL enc. 1
  static constexpr const char* kSgmOpenCLIP = "conditioner.embedders.1.model.";    // SDXL enc. 2
};

// True when the file holds an original-layout UNet (model.diffusion_model.*).
bool is_ldm_checkpoint(const SafetensorsFile& file);

// UNet / ControlNet keys under `prefix` ("model.diffusion_model.", "control_model."). `config`, the
// diffusers UNet or ControlNet config, decides which module each input_blocks.N / output_blocks.N
// is (ldm_unet_layout.h: layers per block, attention blocks, hint encoder length), as diffusers'
// single-file converter derives it. Error{Input} when the file's block count does not fit it.
std::map<std::string, WeightEntry> map_ldm_unet(const SafetensorsFile& file,
                                                const std::string& prefix,
                                                const JsonConfig& config);

// The inverse of map_ldm_unet's renaming for one UNet parameter name: "down_blocks.0.resnets.0.
// conv1.weight" -> "input_blocks.1.0.in_layers.2.weight" (LoRA files name layers either way);
// nullopt for a name outside the layout.
std::optional<std::string> ldm_unet_name(const std::string& diffusers_name, const LdmUNetLayout& layout);

// VAE keys (encoder.down.N.block.M -> encoder.down_blocks.N.resnets.M, mid attention 1x1 convs
// -> linear layers, decoder.up reversed). `num_blocks` = len(block_out_channels).
std::map<std::string, WeightEntry> map_ldm_vae(const SafetensorsFile& file,
                                               const std::string& prefix, int64_t num_blocks);

// A transformers-layout CLIP text model under `prefix` (SD 1.x, SDXL encoder 1).
std::map<std::string, WeightEntry> map_transformers_clip(const SafetensorsFile& file,
                                                         const std::string& prefix);

// An open_clip text tower under `prefix` (SD 2.x, SDXL encoder 2): fused in_proj split into
// q/k/v, text_projection transposed, names translated to transformers'.
std::map<std::string, WeightEntry> map_open_clip(const SafetensorsFile& file,
                                                 const std::string& prefix);

}  // namespace pangu_draw::io
