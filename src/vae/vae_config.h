// vae_config.h: VAEConfig, the AutoencoderKL hyper-parameters read from vae/config.json;
// mirrors the diffusers 0.25 AutoencoderKL constructor arguments.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/json_config.h"

namespace pangu_draw::vae {

struct VAEConfig {
  int64_t in_channels = 3;
  int64_t out_channels = 3;
  int64_t latent_channels = 4;
  std::vector<int64_t> block_out_channels = {128, 256, 512, 512};  // one per resolution level
  int64_t layers_per_block = 2;  // encoder resnets per level; the decoder has one more
  int64_t norm_num_groups = 32;
  std::string act_fn = "silu";  // the only activation supported
  double scaling_factor = 0.18215;
  double shift_factor = 0.0;
  int64_t sample_size = 512;  // informative only: any size divisible by downscale() runs
  bool mid_block_add_attention = true;
  bool use_quant_conv = true;       // quant_conv after the encoder
  bool use_post_quant_conv = true;  // post_quant_conv before the decoder
  // diffusers' force_upcast (true when the field is absent, as in diffusers): the VAE overflows
  // in float16, so under fp16 compute it runs in a wider dtype (see load_vae, decode).
  bool force_upcast = true;

  // Error{Input} naming the file and the field for a missing or mistyped field, an activation
  // other than silu, a block type other than DownEncoderBlock2D / UpDecoderBlock2D, block type
  // lists whose lengths differ from block_out_channels, or channels not divisible by the groups.
  static VAEConfig from_json(const io::JsonConfig& json);
};

}  // namespace pangu_draw::vae
