// unet_config.cpp: UNetConfig::from_json with diffusers' defaults and naming quirks.
#include "unet/unet_config.h"

#include <algorithm>
#include <sstream>

#include "core/error.h"
#include "core/log.h"

namespace pangu_draw::unet {

namespace {

// Fields that change the computation in ways this engine does not implement must keep
// their neutral value (null / false / the named default).
void reject_unsupported(const io::JsonConfig& j) {
  for (const char* key : {"class_embed_type", "num_class_embeds", "encoder_hid_dim_type",
                          "encoder_hid_dim", "time_cond_proj_dim", "timestep_post_act",
                          "time_embedding_act_fn", "cross_attention_norm"}) {
    PD_CHECK(!j.has(key), Input,
             j.origin() << ": '" << key << "' = " << j.raw().at(key).dump()
                        << " is not supported (only null); this UNet variant cannot be loaded");
  }
  for (const char* key : {"dual_cross_attention", "only_cross_attention", "resnet_skip_time_act",
                          "class_embeddings_concat", "mid_block_only_cross_attention"}) {
    PD_CHECK(!j.get_bool(key, false), Input,
             j.origin() << ": '" << key << "' = true is not supported (only false)");
  }
  const std::pair<const char*, const char*> named[] = {{"act_fn", "silu"},
                                                       {"time_embedding_type", "positional"},
                                                       {"resnet_time_scale_shift", "default"},
                                                       {"attention_type", "default"}};
  for (const auto& [key, value] : named) {
    const std::string found = j.get_string(key, value);
    PD_CHECK(found == value, Input,
             j.origin() << ": '" << key << "' = \"" << found << "\" is not supported (only \""
                        << value << "\")");
  }
  PD_CHECK(
      j.get_double("resnet_out_scale_factor", 1.0) == 1.0, Input,
      j.origin() << ": 'resnet_out_scale_factor' = " << j.get_double("resnet_out_scale_factor", 1.0)
                 << " is not supported (only 1.0)");
}

void check_block_types(const UNetConfig& c) {
  for (const auto& t : c.down_block_types) {
    PD_CHECK(t == "CrossAttnDownBlock2D" || t == "DownBlock2D", Input,
             c.origin << ": down_block_types entry \"" << t << "\" is not supported "
                      << "(CrossAttnDownBlock2D, DownBlock2D)");
  }
  for (const auto& t : c.up_block_types) {
    PD_CHECK(t == "CrossAttnUpBlock2D" || t == "UpBlock2D", Input,
             c.origin << ": up_block_types entry \"" << t << "\" is not supported "
                      << "(CrossAttnUpBlock2D, UpBlock2D)");
  }
  PD_CHECK(c.mid_block_type == "UNetMidBlock2DCrossAttn", Input,
           c.origin << ": mid_block_type \"" << c.mid_block_type << "\" is not supported "
                    << "(UNetMidBlock2DCrossAttn)");
  const size_t n = c.block_out_channels.size();
  PD_CHECK(n > 0 && c.down_block_types.size() == n &&
               (c.up_block_types.empty() || c.up_block_types.size() == n),
           Input,
           c.origin << ": block_out_channels, down_block_types and up_block_types must have the "
                    << "same length, found " << n << ", " << c.down_block_types.size() << ", "
                    << c.up_block_types.size());
}

void check_channels(const UNetConfig& c) {
  for (size_t i = 0; i < c.block_out_channels.size(); ++i) {
    const int64_t ch = c.block_out_channels[i];
    PD_CHECK(ch > 0 && ch % c.norm_num_groups == 0, Input,
             c.origin << ": block_out_channels[" << i << "] = " << ch
                      << " must be a positive multiple of norm_num_groups = " << c.norm_num_groups);
    PD_CHECK(c.num_attention_heads[i] > 0 && ch % c.num_attention_heads[i] == 0, Input,
             c.origin << ": block " << i << " has " << ch << " channels, not divisible by "
                      << c.num_attention_heads[i]
                      << " attention heads (attention_head_dim / num_attention_heads)");
  }
  PD_CHECK(c.conv_in_kernel % 2 == 1 && c.conv_out_kernel % 2 == 1, Input,
           c.origin << ": conv_in_kernel and conv_out_kernel must be odd, found "
                    << c.conv_in_kernel << ", " << c.conv_out_kernel);
}

void read_addition_embedding(const io::JsonConfig& j, UNetConfig& c) {
  c.addition_embed_type = j.get_string("addition_embed_type", "");
  if (c.addition_embed_type.empty()) return;
  PD_CHECK(c.addition_embed_type == "text_time", Input,
           j.origin() << ": 'addition_embed_type' = \"" << c.addition_embed_type
                      << "\" is not supported (only \"text_time\" or null)");
  c.addition_time_embed_dim = j.get_int("addition_time_embed_dim");
  c.projection_class_embeddings_input_dim = j.get_int("projection_class_embeddings_input_dim");
  PD_CHECK(c.addition_time_embed_dim > 0 && c.projection_class_embeddings_input_dim > 0, Input,
           j.origin() << ": 'addition_time_embed_dim' and "
                      << "'projection_class_embeddings_input_dim' must be positive");
}

}  // namespace

UNetConfig UNetConfig::from_json(const io::JsonConfig& j) {
  reject_unsupported(j);
  UNetConfig c;
  c.origin = j.origin();
  c.in_channels = j.get_int("in_channels", 4);
  c.out_channels = j.get_int("out_channels", 4);
  c.sample_size = j.get_int("sample_size", 64);
  c.center_input_sample = j.get_bool("center_input_sample", false);
  c.block_out_channels = j.get_int_list("block_out_channels");
  for (int64_t ch : c.block_out_channels) {  // bounded before time_embed_dim = 4 * channels
    PD_CHECK(ch > 0 && ch <= (int64_t(1) << 20), Input,
             j.origin() << ": block_out_channels holds " << ch << ", expected 1 .. 1048576");
  }
  c.down_block_types = j.get_string_list("down_block_types");
  if (j.has("up_block_types")) c.up_block_types = j.get_string_list("up_block_types");
  c.mid_block_type = j.get_string("mid_block_type", "UNetMidBlock2DCrossAttn");
  const size_t n = c.block_out_channels.size();
  check_block_types(c);
  c.layers_per_block = j.get_int_or_list("layers_per_block", n, 2);
  // diffusers' naming quirk: SD configs put the number of heads in attention_head_dim.
  c.num_attention_heads = j.has("num_attention_heads")
                              ? j.get_int_or_list("num_attention_heads", n)
                              : j.get_int_or_list("attention_head_dim", n, 8);
  c.transformer_layers_per_block = j.get_int_or_list("transformer_layers_per_block", n, 1);
  if (j.has("reverse_transformer_layers_per_block")) {
    PD_FAIL(Input, j.origin() << ": 'reverse_transformer_layers_per_block' is not supported "
                              << "(only null)");
  }
  c.reverse_transformer_layers_per_block.assign(c.transformer_layers_per_block.rbegin(),
                                                c.transformer_layers_per_block.rend());
  c.cross_attention_dim = j.get_int("cross_attention_dim", 1280);
  c.use_linear_projection = j.get_bool("use_linear_projection", false);
  c.upcast_attention = j.get_bool("upcast_attention", false);
  c.norm_num_groups = j.get_int("norm_num_groups", 32);
  c.norm_eps = j.get_double("norm_eps", 1e-5);
  c.downsample_padding = j.get_int("downsample_padding", 1);
  c.mid_block_scale_factor = j.get_double("mid_block_scale_factor", 1.0);
  c.flip_sin_to_cos = j.get_bool("flip_sin_to_cos", true);
  c.freq_shift = j.get_double("freq_shift", 0.0);
  c.time_embed_dim = j.get_int("time_embedding_dim", c.block_out_channels.at(0) * 4);
  read_addition_embedding(j, c);
  c.conv_in_kernel = j.get_int("conv_in_kernel", 3);
  c.conv_out_kernel = j.get_int("conv_out_kernel", 3);
  PD_CHECK(c.norm_num_groups > 0, Input, j.origin() << ": 'norm_num_groups' must be positive");
  check_channels(c);
  logger().debug("unet config {}: {}", c.origin, c.summary());
  return c;
}

std::string UNetConfig::summary() const {
  auto list = [](const auto& v) {
    std::ostringstream os;
    for (size_t i = 0; i < v.size(); ++i) os << (i ? "," : "") << v[i];
    return os.str();
  };
  std::ostringstream os;
  os << "in=" << in_channels << " out=" << out_channels << " blocks=[" << list(block_out_channels)
     << "] down=[" << list(down_block_types) << "] up=[" << list(up_block_types) << "] layers=["
     << list(layers_per_block) << "] heads=[" << list(num_attention_heads)
     << "] transformer_layers=[" << list(transformer_layers_per_block)
     << "] cross_attention_dim=" << cross_attention_dim << " linear_proj=" << use_linear_projection
     << " groups=" << norm_num_groups << " eps=" << norm_eps
     << " addition=" << (addition_embed_type.empty() ? "none" : addition_embed_type)
     << " time_ids_dim=" << addition_time_embed_dim
     << " add_input=" << projection_class_embeddings_input_dim;
  return os.str();
}

}  // namespace pangu_draw::unet
