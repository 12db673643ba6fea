// bench_configs.cpp: the config.json contents of runwayml/stable-diffusion-v1-5 and
// stabilityai/stable-diffusion-xl-base-1.0 (unet, vae, text encoders), written out in code.
#include "pipeline/bench_configs.h"

#include "core/error.h"

namespace pangu_draw::pipeline {

namespace {

using nlohmann::json;

json clip_l() {
  return {{"architectures", {"CLIPTextModel"}}, {"hidden_act", "quick_gelu"},
          {"hidden_size", 768}, {"intermediate_size", 3072}, {"num_attention_heads", 12},
          {"num_hidden_layers", 12}, {"max_position_embeddings", 77}, {"vocab_size", 49408},
          {"layer_norm_eps", 1e-5}, {"projection_dim", 768}, {"eos_token_id", 2}};
}

json open_clip_big_g() {
  return {{"architectures", {"CLIPTextModelWithProjection"}}, {"hidden_act", "gelu"},
          {"hidden_size", 1280}, {"intermediate_size", 5120}, {"num_attention_heads", 20},
          {"num_hidden_layers", 32}, {"max_position_embeddings", 77}, {"vocab_size", 49408},
          {"layer_norm_eps", 1e-5}, {"projection_dim", 1280}, {"eos_token_id", 2}};
}

json vae(int64_t sample_size, double scaling) {
  return {{"act_fn", "silu"}, {"block_out_channels", {128, 256, 512, 512}},
          {"down_block_types", std::vector<std::string>(4, "DownEncoderBlock2D")},
          {"up_block_types", std::vector<std::string>(4, "UpDecoderBlock2D")},
          {"in_channels", 3}, {"out_channels", 3}, {"latent_channels", 4},
          {"layers_per_block", 2}, {"norm_num_groups", 32}, {"sample_size", sample_size},
          {"scaling_factor", scaling}};
}

BuiltinArch sd15() {
  BuiltinArch a;
  a.name = "sd15";
  a.unet = {{"act_fn", "silu"}, {"attention_head_dim", 8},
            {"block_out_channels", {320, 640, 1280, 1280}}, {"center_input_sample", false},
            {"cross_attention_dim", 768},
            {"down_block_types", {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                  "CrossAttnDownBlock2D", "DownBlock2D"}},
            {"up_block_types", {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D",
                                "CrossAttnUpBlock2D"}},
            {"downsample_padding", 1}, {"flip_sin_to_cos", true}, {"freq_shift", 0},
            {"in_channels", 4}, {"out_channels", 4}, {"layers_per_block", 2},
            {"mid_block_scale_factor", 1}, {"norm_eps", 1e-5}, {"norm_num_groups", 32},
            {"sample_size", 64}};
  a.vae = vae(512, 0.18215);
  a.text_encoders = {{clip_l(), false}};
  a.native_size = 512;
  return a;
}

BuiltinArch sdxl() {
  BuiltinArch a;
  a.name = "sdxl";
  a.unet = {{"act_fn", "silu"}, {"addition_embed_type", "text_time"},
            {"addition_time_embed_dim", 256}, {"attention_head_dim", {5, 10, 20}},
            {"block_out_channels", {320, 640, 1280}}, {"center_input_sample", false},
            {"cross_attention_dim", 2048},
            {"down_block_types", {"DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"}},
            {"up_block_types", {"CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"}},
            {"downsample_padding", 1}, {"flip_sin_to_cos", true}, {"freq_shift", 0},
            {"in_channels", 4}, {"out_channels", 4}, {"layers_per_block", 2},
            {"mid_block_scale_factor", 1}, {"mid_block_type", "UNetMidBlock2DCrossAttn"},
            {"norm_eps", 1e-5}, {"norm_num_groups", 32},
            {"projection_class_embeddings_input_dim", 2816}, {"sample_size", 128},
            {"transformer_layers_per_block", {1, 2, 10}}, {"use_linear_projection", true}};
  a.vae = vae(1024, 0.13025);
  a.text_encoders = {{clip_l(), true}, {open_clip_big_g(), true}};
  a.time_ids = 6;
  a.native_size = 1024;
  return a;
}

}  // namespace

std::vector<std::string> builtin_arch_names() { return {"sd15", "sdxl"}; }

BuiltinArch builtin_arch(const std::string& name) {
  if (name == "sd15") return sd15();
  if (name == "sdxl") return sdxl();
  PD_FAIL(Usage, "unknown --arch '" << name << "': use sd15 or sdxl, or --model PATH");
}

}  // namespace pangu_draw::pipeline
