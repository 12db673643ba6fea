// unet_inputs.h: the UNet inputs of one fixture case (latent, context, text_time extras) as
// cases.json and reference.safetensors describe them.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "support/fixtures.h"
#include "unet/unet_2d_condition.h"

namespace pangu_draw::testing {

// The micro-conditioning ids the references were computed with: cases.json "xl_time_ids", or
// [pangu_target_size_as_ind]; empty when neither is given.
inline std::vector<float> reference_time_ids(const nlohmann::json& c) {
  std::vector<float> ids;
  if (c.contains("xl_time_ids") && !c["xl_time_ids"].is_null()) {
    for (const auto& v : c["xl_time_ids"]) ids.push_back(v.get<float>());
  } else if (c.contains("pangu_target_size_as_ind")) {
    ids.push_back(c["pangu_target_size_as_ind"].get<float>());
  }
  return ids;
}

// Batch-1 extras for prompt p (text_embeds + time ids) when the model uses text_time.
inline unet::UNetExtra reference_extra(const std::string& set, const Reference& ref, int p,
                                       const unet::UNetConfig& config) {
  unet::UNetExtra extra;
  if (config.addition_embed_type != "text_time") return extra;
  extra.text_embeds = ref.get("pooled.prompt" + std::to_string(p)).unsqueeze(0);  // [1, P]
  const auto ids = reference_time_ids(cases(set));
  extra.time_ids = torch::tensor(ids).unsqueeze(0);  // [1, K]
  return extra;
}

inline torch::Tensor reference_context(const Reference& ref, int p) {
  return ref.get("context.prompt" + std::to_string(p)).unsqueeze(0);  // [1, 77, C]
}

inline torch::Tensor timestep(double t) { return torch::tensor({static_cast<float>(t)}); }

// max|a - e| / max|e|, for the log.
inline double relative_max_diff(const torch::Tensor& a, const torch::Tensor& e) {
  return ((a - e).abs().max() / e.abs().max()).item<double>();
}

}  // namespace pangu_draw::testing
