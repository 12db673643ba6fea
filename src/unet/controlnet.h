// controlnet.h: ControlNetModel, the UNet's encoder half plus a conditioning-image embedding and
// zero convolutions that produce residuals for the UNet's skips and mid block; mirrors diffusers
// 0.25 models/controlnet.py ControlNetModel and ControlNetConditioningEmbedding.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "io/json_config.h"
#include "io/state_dict.h"
#include "nn/embeddings.h"
#include "nn/layers.h"
#include "unet/unet_2d_condition.h"

namespace pangu_draw::unet {

struct ControlNetConfig {
  UNetConfig unet;  // the shared UNet fields (no up blocks)
  int64_t conditioning_channels = 3;
  std::vector<int64_t> conditioning_embedding_out_channels;  // e.g. 16, 32, 96, 256
  bool bgr = false;                     // controlnet_conditioning_channel_order "bgr"
  bool global_pool_conditions = false;  // residuals averaged over H, W

  static ControlNetConfig from_json(const io::JsonConfig& json);
};

// hint [B, cond_channels, H', W'] -> [B, out_channels, H' / 2^(n-1), W' / 2^(n-1)].
struct ControlNetConditioningEmbeddingImpl : torch::nn::Module {
  ControlNetConditioningEmbeddingImpl(int64_t conditioning_channels,
                                      const std::vector<int64_t>& channels, int64_t out_channels,
                                      const nn::ParamOptions& p);
  torch::Tensor forward(const torch::Tensor& hint);

  nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList blocks{nullptr};  // pairs: 3x3 conv, then 3x3 stride-2 conv
};
TORCH_MODULE(ControlNetConditioningEmbedding);

struct ControlNetOutput {
  std::vector<torch::Tensor> down_residuals;  // one per UNet skip connection, already scaled
  torch::Tensor mid_residual;                 // [B, C_last, h, w], already scaled
};

struct ControlNetModelImpl : torch::nn::Module {
  // Parameters uninitialised in `p`'s dtype and device (nn/layers.h).
  explicit ControlNetModelImpl(const ControlNetConfig& config, const nn::ParamOptions& p = {});
  // x [B, C, H, W], timesteps [B] (or scalar), context [B, M, cross_attention_dim],
  // hint [B, 3, 8H, 8W] in [0, 1] (RGB), scale: conditioning scale applied to every residual.
  ControlNetOutput forward(const torch::Tensor& x, const torch::Tensor& timesteps,
                           const torch::Tensor& context, const torch::Tensor& hint, double scale,
                           const UNetExtra& extra = {});
  const ControlNetConfig& config() const { return config_; }

  nn::Conv2d conv_in{nullptr};
  nn::TimestepEmbedding time_embedding{nullptr};
  nn::TimestepEmbedding add_embedding{nullptr};  // text_time only
  ControlNetConditioningEmbedding controlnet_cond_embedding{nullptr};
  torch::nn::ModuleList down_blocks{nullptr}, controlnet_down_blocks{nullptr};
  UNetMidBlock2DCrossAttn mid_block{nullptr};
  nn::Conv2d controlnet_mid_block{nullptr};

 private:
  torch::Tensor embed_hint(const torch::Tensor& hint, const torch::Tensor& sample);

  ControlNetConfig config_;
};
TORCH_MODULE(ControlNetModel);

// Built in `dtype` on `device`, every parameter filled from `weights` (as load_unet).
ControlNetModel load_controlnet(const ControlNetConfig& config, const io::WeightSource& weights,
                                torch::ScalarType dtype = torch::kFloat,
                                torch::Device device = torch::kCPU);
// A diffusers controlnet folder: config.json + diffusion_pytorch_model.safetensors.
ControlNetModel load_controlnet(const std::string& folder, torch::ScalarType dtype = torch::kFloat,
                                torch::Device device = torch::kCPU);

}  // namespace pangu_draw::unet
