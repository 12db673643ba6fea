// lora_file.h: LoRA / LyCORIS adapter files (.safetensors) read into adapter modules with
// normalised names. Formats: kohya (lora_unet_* / lora_te_* / lora_te1_* / lora_te2_*, with
// .lora_down/.lora_up/.alpha; LoCon on conv layers), diffusers / PEFT (<part>.<module>.lora_A /
// lora_B), diffusers' older attention-processor format (...processor.to_q_lora.down.weight),
// LyCORIS LoHa (hada_w1_a ...), LoKr (lokr_w1 / lokr_w1_a ...) and full weight differences
// (.diff). Which model parameter a module patches is decided by pipeline/lora.h from the model's
// own names; this file knows only the files.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace pangu_draw::io {

// The model part a module adapts: the UNet or text encoder 0 / 1 (SDXL's te1 / te2).
enum class LoraPart { UNet = 0, TextEncoder1 = 1, TextEncoder2 = 2 };

enum class LoraKind { LoRA, LoHa, LoKr, Full };

struct LoraModule {
  LoraPart part = LoraPart::UNet;
  // kohya: the module path with '.' -> '_' ("down_blocks_0_attentions_0_proj_in" or the ldm
  // "input_blocks_1_1_proj_in"), `flat` true; diffusers / PEFT: the dotted module path.
  std::string name;
  bool flat = true;
  LoraKind kind = LoraKind::LoRA;
  // Role -> float32 CPU tensor: "down", "up" (LoRA / LoCon); "hada_w1_a", "hada_w1_b",
  // "hada_w2_a", "hada_w2_b" (LoHa); "lokr_w1" or "lokr_w1_a" + "lokr_w1_b", "lokr_w2" or
  // "lokr_w2_a" + "lokr_w2_b" (LoKr); "diff" (Full).
  std::map<std::string, torch::Tensor> tensors;
  std::optional<double> alpha;
  std::vector<std::string> keys;  // its keys in the file, for messages
};

struct LoraFile {
  std::vector<LoraModule> modules;
  // Keys that no supported format explains (or modules missing a part, Tucker / DoRA extras):
  // the caller lists them in one warning.
  std::vector<std::string> unknown_keys;
};

// Reads every module of `file`. Error{Input} naming `file` when a tensor cannot be read.
LoraFile parse_lora(const SafetensorsFile& file);
// The same from a file's bytes (Request::loras); `origin` names it in messages.
LoraFile parse_lora_bytes(const std::vector<std::uint8_t>& bytes, const std::string& origin);

}  // namespace pangu_draw::io
