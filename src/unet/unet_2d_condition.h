// unet_2d_condition.h: the conditional denoising UNet; mirrors diffusers 0.25
// models/unet_2d_condition.py UNet2DConditionModel (named_parameters() = its checkpoint keys).
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "io/json_config.h"
#include "io/state_dict.h"
#include "nn/embeddings.h"
#include "nn/group_norm.h"
#include "nn/layers.h"
#include "unet/unet_blocks.h"
#include "unet/unet_config.h"

namespace pangu_draw::unet {

struct UNetExtra {            // optional extra inputs; any may be undefined
  torch::Tensor text_embeds;  // [B, P] pooled text embedding (addition_embed_type text_time)
  torch::Tensor
      time_ids;  // [B, K] micro-conditioning ids (SDXL 6 values, PanGu 1), each
                 // embedded with addition_time_embed_dim sinusoids, concat after text_embeds
  std::vector<torch::Tensor> down_residuals;  // ControlNet residuals added to the skip connections
  torch::Tensor mid_residual;
};

struct UNet2DConditionModelImpl : torch::nn::Module {
  // Parameters uninitialised in `p`'s dtype and device (nn/layers.h): load_unet fills them,
  // nn::init_parameters draws random ones.
  explicit UNet2DConditionModelImpl(const UNetConfig& config, const nn::ParamOptions& p = {});
  // x [B, C, H, W] (any H, W), timesteps [B] (or [1] / 0-dim, broadcast), context
  // [B, M, cross_attention_dim] -> [B, out_channels, H, W] in float32 (or the weights' dtype).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& timesteps,
                        const torch::Tensor& context, const UNetExtra& extra = {});
  const UNetConfig& config() const { return config_; }

  nn::Conv2d conv_in{nullptr};
  nn::TimestepEmbedding time_embedding{nullptr};
  nn::TimestepEmbedding add_embedding{nullptr};  // addition_embed_type "text_time" only
  torch::nn::ModuleList down_blocks{nullptr};
  UNetMidBlock2DCrossAttn mid_block{nullptr};
  torch::nn::ModuleList up_blocks{nullptr};
  nn::GroupNorm conv_norm_out{nullptr};
  nn::Conv2d conv_out{nullptr};

 private:
  torch::Tensor run_down(const torch::Tensor& h, const torch::Tensor& emb,
                         const torch::Tensor& context, const UNetExtra& extra,
                         std::vector<torch::Tensor>& skips);
  torch::Tensor run_up(torch::Tensor h, const torch::Tensor& emb, const torch::Tensor& context,
                       std::vector<torch::Tensor>& skips);

  UNetConfig config_;
};
TORCH_MODULE(UNet2DConditionModel);

// The model for `config`, built in `dtype` on `device` and every parameter filled from
// `weights` (canonical diffusers names; a single-file checkpoint's go through io::key_map_ldm),
// each tensor converted once on its way from the file. Missing or misshapen tensors: one
// Error{Input} listing them all.
UNet2DConditionModel load_unet(const UNetConfig& config, const io::WeightSource& weights,
                               torch::ScalarType dtype = torch::kFloat,
                               torch::Device device = torch::kCPU);
UNet2DConditionModel load_unet(const io::JsonConfig& config, const io::WeightSource& weights,
                               torch::ScalarType dtype = torch::kFloat,
                               torch::Device device = torch::kCPU);
// A diffusers unet/ folder: config.json + diffusion_pytorch_model.safetensors.
UNet2DConditionModel load_unet(const std::string& folder, torch::ScalarType dtype = torch::kFloat,
                               torch::Device device = torch::kCPU);

}  // namespace pangu_draw::unet
