// conditioner.h: prompt -> Conditioning {context, pooled, time ids}: wires each tokenizer to its
// text encoder, picks the hidden layer the model's conditioning config names, concatenates the
// contexts on channels and builds the micro-conditioning ids. 1..N encoders, no family checks.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "io/model_layout.h"
#include "text_encoders/clip_text.h"
#include "text_encoders/conditioner_config.h"
#include "tokenizers/tokenizer.h"

namespace pangu_draw::text_encoders {

// What the UNet is conditioned on, for a batch of B prompts.
struct Conditioning {
  torch::Tensor context;   // [B, 77, C]
  torch::Tensor pooled;    // [B, P] or undefined
  torch::Tensor time_ids;  // [B, K] or undefined

  Conditioning zeros_like() const;
  // Concatenates along the batch (the branches of one guided UNet call).
  static Conditioning cat(const std::vector<Conditioning>& parts);
};

struct PromptStats {  // for the unknown-token warning
  int64_t tokens = 0;
  int64_t unknown = 0;
  bool truncated = false;
};

class Conditioner {
 public:
  Conditioner(ConditionerConfig config, std::vector<std::unique_ptr<tokenizers::Tokenizer>> tokenizers,
              std::vector<CLIPTextModel> encoders);

  // Encodes one prompt for an image of width x height (the size feeds the time ids).
  Conditioning encode(const std::string& prompt, int64_t width, int64_t height,
                      PromptStats* stats = nullptr) const;
  // The negative branch: zeros when the model says so for an empty negative prompt.
  Conditioning encode_negative(const std::string& prompt, int64_t width, int64_t height) const;
  const ConditionerConfig& config() const { return config_; }
  // The text encoders, in config order (LoRA merging patches their weights in place).
  const std::vector<CLIPTextModel>& encoders() const { return encoders_; }

 private:
  torch::Tensor time_ids(int64_t width, int64_t height) const;

  ConditionerConfig config_;
  std::vector<std::unique_ptr<tokenizers::Tokenizer>> tokenizers_;
  std::vector<CLIPTextModel> encoders_;
};

// Loads tokenizers and text encoders named by the model's conditioning config; the encoders'
// weights in `dtype` on `device`.
std::shared_ptr<const Conditioner> load_conditioner(const io::ModelLayout& layout,
                                                    torch::ScalarType dtype = torch::kFloat,
                                                    torch::Device device = torch::kCPU);

}  // namespace pangu_draw::text_encoders
