// unet_config.h: the UNet2DConditionModel config fields the engine supports, read from a
// diffusers config.json (mirrors diffusers 0.25 UNet2DConditionModel.__init__ arguments).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/json_config.h"

namespace pangu_draw::unet {

struct UNetConfig {
  int64_t in_channels = 4;
  int64_t out_channels = 4;
  int64_t sample_size = 64;  // native latent size; the model runs at any size
  bool center_input_sample = false;
  std::vector<int64_t> block_out_channels;
  std::vector<std::string> down_block_types;
  std::vector<std::string> up_block_types;  // empty in a ControlNet config
  std::string mid_block_type = "UNetMidBlock2DCrossAttn";
  std::vector<int64_t> layers_per_block;                      // per down block
  std::vector<int64_t> num_attention_heads;                   // per down block (resolved, see .cpp)
  std::vector<int64_t> transformer_layers_per_block;          // per down block
  std::vector<int64_t> reverse_transformer_layers_per_block;  // per up block, in up order
  int64_t cross_attention_dim = 768;
  bool use_linear_projection = false;
  bool upcast_attention = false;  // computation is fp32 anyway
  int64_t norm_num_groups = 32;
  double norm_eps = 1e-5;
  int64_t downsample_padding = 1;
  double mid_block_scale_factor = 1.0;
  bool flip_sin_to_cos = true;
  double freq_shift = 0.0;
  int64_t time_embed_dim = 0;       // time_embedding_dim, default 4 * block_out_channels[0]
  std::string addition_embed_type;  // "" or "text_time"
  int64_t addition_time_embed_dim = 0;
  int64_t projection_class_embeddings_input_dim = 0;
  int64_t conv_in_kernel = 3;
  int64_t conv_out_kernel = 3;
  std::string origin;  // the config file, for messages

  // Reads and validates every supported field; anything the model would compute differently
  // (unsupported block types, class embeddings, ...) is an Error{Input} naming field and value.
  static UNetConfig from_json(const io::JsonConfig& json);
  // One line for the debug log.
  std::string summary() const;
};

}  // namespace pangu_draw::unet
