// bench_configs.h: the published architectures the benchmark builds with random weights
// (SD 1.5, SDXL base), as the config.json objects of their diffusers releases.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace pangu_draw::pipeline {

struct BuiltinTextEncoder {
  nlohmann::json config;     // transformers CLIPTextConfig (text_encoder/config.json)
  bool penultimate = false;  // the UNet reads the penultimate hidden state (SDXL)
};

struct BuiltinArch {
  std::string name;
  nlohmann::json unet;  // unet/config.json
  nlohmann::json vae;   // vae/config.json
  std::vector<BuiltinTextEncoder> text_encoders;
  int64_t time_ids = 0;          // micro-conditioning ids per image (SDXL: 6)
  int64_t native_size = 512;     // pixels
};

// "sd15" or "sdxl"; Error{Usage} naming the known ones for anything else.
BuiltinArch builtin_arch(const std::string& name);

std::vector<std::string> builtin_arch_names();

}  // namespace pangu_draw::pipeline
