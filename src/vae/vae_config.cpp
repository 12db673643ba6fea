// vae_config.cpp: VAEConfig::from_json with validation of every field the VAE depends on;
// mirrors the diffusers 0.25 AutoencoderKL constructor arguments.
#include "vae/vae_config.h"

#include "core/error.h"

namespace pangu_draw::vae {

namespace {

// Every entry of the list `key` must be `expected`, and there must be `count` of them.
void check_block_types(const io::JsonConfig& json, const std::string& key,
                       const std::string& expected, size_t count) {
  const auto types = json.get_string_list(key);
  PD_CHECK(types.size() == count, Input,
           json.origin() << ": '" << key << "' has " << types.size()
                         << " entries but 'block_out_channels' has " << count);
  for (size_t i = 0; i < types.size(); ++i) {
    PD_CHECK(types[i] == expected, Input,
             json.origin() << ": '" << key << "'[" << i << "] is \"" << types[i]
                           << "\"; only \"" << expected
                           << "\" is supported (a plain AutoencoderKL)");
  }
}

int64_t positive(const io::JsonConfig& json, const std::string& key, int64_t value) {
  PD_CHECK(value > 0, Input, json.origin() << ": '" << key << "' must be > 0, got " << value);
  return value;
}

}  // namespace

VAEConfig VAEConfig::from_json(const io::JsonConfig& json) {
  VAEConfig c;
  c.in_channels = positive(json, "in_channels", json.get_int("in_channels", c.in_channels));
  c.out_channels = positive(json, "out_channels", json.get_int("out_channels", c.out_channels));
  c.latent_channels =
      positive(json, "latent_channels", json.get_int("latent_channels", c.latent_channels));
  c.block_out_channels = json.get_int_list("block_out_channels");
  PD_CHECK(!c.block_out_channels.empty(), Input,
           json.origin() << ": 'block_out_channels' must not be empty");
  c.layers_per_block = positive(json, "layers_per_block", json.get_int("layers_per_block", c.layers_per_block));
  c.norm_num_groups = positive(json, "norm_num_groups", json.get_int("norm_num_groups", c.norm_num_groups));
  for (int64_t ch : c.block_out_channels) {
    PD_CHECK(ch > 0 && ch % c.norm_num_groups == 0, Input,
             json.origin() << ": 'block_out_channels' entry " << ch
                           << " must be a positive multiple of 'norm_num_groups' ("
                           << c.norm_num_groups << ")");
  }
  c.act_fn = json.get_string("act_fn", c.act_fn);
  PD_CHECK(c.act_fn == "silu", Input,
           json.origin() << ": 'act_fn' is \"" << c.act_fn << "\"; only \"silu\" is supported");
  check_block_types(json, "down_block_types", "DownEncoderBlock2D", c.block_out_channels.size());
  check_block_types(json, "up_block_types", "UpDecoderBlock2D", c.block_out_channels.size());
  c.scaling_factor = json.get_double("scaling_factor", c.scaling_factor);
  PD_CHECK(c.scaling_factor != 0.0, Input, json.origin() << ": 'scaling_factor' must not be 0");
  c.shift_factor = json.get_double("shift_factor", 0.0);
  // Informative only, so a form this engine does not know (a list) is not an error.
  if (json.has("sample_size") && json.raw()["sample_size"].is_number_integer()) {
    c.sample_size = json.get_int("sample_size");
  }
  c.mid_block_add_attention = json.get_bool("mid_block_add_attention", true);
  c.use_quant_conv = json.get_bool("use_quant_conv", true);
  c.use_post_quant_conv = json.get_bool("use_post_quant_conv", true);
  c.force_upcast = json.get_bool("force_upcast", true);
  return c;
}

}  // namespace pangu_draw::vae
