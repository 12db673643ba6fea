// arch_detect.h: recognises a standard Stable Diffusion single-file checkpoint (SD 1.x, SD 2.x,
// SDXL base) from its tensor names and shapes, and its prediction type, so that it loads with the
// configs built into the library (builtin_models.h) and no --config. Detection only picks which
// built-in config set describes the file; everything after that is config-driven.
//
// Prediction type, decided as the peers do:
//  - explicit markers first: safetensors metadata "modelspec.prediction_type" ("v", "v_prediction",
//    "epsilon") or "modelspec.architecture" (...-768-v / ...-512), and the "v_pred" marker tensor
//    that v-prediction SDXL finetunes carry (ComfyUI, stable-diffusion.cpp);
//  - SD 2.x without a marker: ComfyUI's rule (comfy/supported_models.py, SD20.model_type): the
//    population std of output_blocks.11.1.transformer_blocks.0.norm1.bias above 0.09 means the
//    768 v-prediction model (stabilityai 2.0-v / 2.1), else the 512 epsilon "base" model.
//    (diffusers' from_single_file makes every SD 2.x safetensors file v-prediction 768, having
//    only .ckpt's global_step to tell; stable-diffusion.cpp and A1111 run the UNet once.)
//  - SD 1.x and SDXL: epsilon.
#pragma once

#include <string>

#include "io/safetensors.h"

namespace pangu_draw::io {

struct DetectedModel {
  std::string family;           // "SD 1.x", "SD 2.x 768 (v-prediction)", "SD 2.x 512 base", "SDXL base"
  std::string config_set;       // the built-in set: "sd15", "sd21", "sd21-base", "sdxl-base"
  std::string prediction_type;  // "epsilon" | "v_prediction"
  std::string evidence;         // how the prediction type was decided
};

// Error{Usage} naming what does not match a recognised family (and saying to pass --config DIR)
// when the file is not one of them: other layer counts or widths, inpainting / refiner models,
// EDM or zero-terminal-SNR models.
DetectedModel detect_architecture(const SafetensorsFile& file);

}  // namespace pangu_draw::io
