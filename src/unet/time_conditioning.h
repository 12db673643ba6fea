// time_conditioning.h: the UNet's and ControlNet's vector conditioning (timestep sinusoids ->
// time_embedding, plus "text_time" add_embedding of pooled text + micro-conditioning ids);
// mirrors diffusers 0.25 UNet2DConditionModel.get_time_embed / get_aug_embed.
#pragma once

#include <torch/torch.h>

#include "nn/embeddings.h"
#include "unet/unet_config.h"

namespace pangu_draw::unet {

struct TimeConditioningInputs {
  torch::Tensor timesteps;    // [B], [1] or 0-dim
  torch::Tensor text_embeds;  // [B, P] (text_time only)
  torch::Tensor time_ids;     // [B, K] or [K] (text_time only)
};

// Builds "time_embedding" (and "add_embedding" when addition_embed_type is text_time) on
// `owner` under diffusers' attribute names, with weights in `p`'s dtype and device.
void register_time_conditioning(torch::nn::Module& owner, const UNetConfig& config,
                                nn::TimestepEmbedding& time_embedding,
                                nn::TimestepEmbedding& add_embedding, const nn::ParamOptions& p);

// -> emb [B, time_embed_dim] in `dtype`.
torch::Tensor time_conditioning(const UNetConfig& config, nn::TimestepEmbedding& time_embedding,
                                nn::TimestepEmbedding& add_embedding,
                                const TimeConditioningInputs& in, int64_t batch,
                                torch::ScalarType dtype);

}  // namespace pangu_draw::unet
