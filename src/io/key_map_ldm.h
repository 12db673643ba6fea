// key_map_ldm.h: THE mapping from original (ldm / sgm / open_clip) single-file checkpoint keys to
// the diffusers / transformers names that the engine's modules use. Nowhere else knows ldm keys.
// Mirrors the inverse of diffusers 0.25 convert_diffusers_to_original_stable_diffusion.py.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

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

// UNet / ControlNet keys. `layers_per_block` and `num_blocks` come from the UNet config: they
// decide how input_blocks.N / output_blocks.N split into down/up blocks.
std::map<std::string, WeightEntry> map_ldm_unet(const SafetensorsFile& file,
                                                const std::string& prefix,
                                                int64_t layers_per_block, int64_t num_blocks);

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
