// ldm_unet_layout.h: which diffusers module sits at each input_blocks.N / output_blocks.N of an
// original (ldm / sgm) UNet or ControlNet checkpoint, derived from the diffusers config as ldm's
// openaimodel.UNetModel builds it: per down block, layers_per_block[b] resnets (each followed by a
// transformer when the block type is CrossAttn*), then a downsampler except after the last block;
// per up block, layers_per_block[reversed] + 1 resnets (+ transformers), the upsampler in the last.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/json_config.h"
#include "io/safetensors.h"

namespace pangu_draw::io {

// One input_blocks.N / output_blocks.N entry: diffusers name prefixes (ending in '.').
struct LdmBlockSlot {
  std::string resnet;     // sub-module 0 ("down_blocks.1.resnets.0."); empty for a downsampler
  std::string attention;  // sub-module 1 ("down_blocks.1.attentions.0."); empty without attention
  std::string sampler;    // input: the downsampler's conv (sub-module 0, "op."); output: upsampler
  int64_t sampler_sub = -1;  // output blocks: the upsampler's sub-module index (1 or 2)
};

struct LdmUNetLayout {
  std::vector<LdmBlockSlot> input;   // index 0 is conv_in (no slot content)
  std::vector<LdmBlockSlot> output;  // empty for a ControlNet config
  int64_t hint_last = -1;            // ControlNet: index of input_hint_block's last conv
  std::string summary;               // "layers_per_block [1,1,1], attention [1,1,0]" for messages
};

// From a diffusers UNet2DConditionModel or ControlNetModel config (layers_per_block: an int or a
// per-block list; down_block_types / up_block_types decide attention; a config without
// up_block_types is a ControlNet's).
LdmUNetLayout ldm_unet_layout(const JsonConfig& config);

// Error{Input} when the checkpoint's input_blocks under `prefix` are not exactly the layout's
// count: the config describes another architecture than the file (say which, and what to pass).
void check_input_block_count(const SafetensorsFile& file, const std::string& prefix,
                             const LdmUNetLayout& layout, const JsonConfig& config);

}  // namespace pangu_draw::io
