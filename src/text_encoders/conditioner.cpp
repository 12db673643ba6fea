// conditioner.cpp: the Conditioner: tokenizers + text encoders -> context, pooled embedding and
// size ids for one prompt.
#include "text_encoders/conditioner.h"

#include "core/error.h"
#include "core/log.h"

namespace pangu_draw::text_encoders {

Conditioning Conditioning::zeros_like() const {
  Conditioning z;
  z.context = torch::zeros_like(context);
  if (pooled.defined()) z.pooled = torch::zeros_like(pooled);
  z.time_ids = time_ids;  // ids describe the image, not the prompt
  return z;
}

Conditioning Conditioning::cat(const std::vector<Conditioning>& parts) {
  PD_CHECK(!parts.empty(), Runtime, "Conditioning::cat of nothing");
  std::vector<torch::Tensor> ctx, pooled, ids;
  for (const auto& p : parts) {
    ctx.push_back(p.context);
    if (p.pooled.defined()) pooled.push_back(p.pooled);
    if (p.time_ids.defined()) ids.push_back(p.time_ids);
  }
  Conditioning out;
  out.context = torch::cat(ctx, 0);
  if (!pooled.empty()) out.pooled = torch::cat(pooled, 0);
  if (!ids.empty()) out.time_ids = torch::cat(ids, 0);
  return out;
}

Conditioner::Conditioner(ConditionerConfig config,
                         std::vector<std::unique_ptr<tokenizers::Tokenizer>> tokenizers,
                         std::vector<CLIPTextModel> encoders)
    : config_(std::move(config)), tokenizers_(std::move(tokenizers)), encoders_(std::move(encoders)) {
  PD_CHECK(tokenizers_.size() == config_.encoders.size() && encoders_.size() == config_.encoders.size(),
           Runtime, "conditioner: tokenizer/encoder count does not match its config");
}

torch::Tensor Conditioner::time_ids(int64_t width, int64_t height) const {
  auto opts = torch::TensorOptions().dtype(torch::kFloat);
  switch (config_.time_ids) {
    case TimeIds::SizeCropTarget:  // diffusers' defaults: original = target = image size, no crop
      // cpu: moved with the rest of the conditioning (pipeline::guided_conditioning)
      return torch::tensor({double(height), double(width), 0.0, 0.0, double(height), double(width)}, opts)
          .unsqueeze(0);  // cpu: see above
    case TimeIds::SizeBucket:
      return torch::tensor({double(config_.bucket_index(width, height))}, opts).unsqueeze(0);  // cpu: as above
    case TimeIds::None:
      break;
  }
  return {};
}

Conditioning Conditioner::encode(const std::string& prompt, int64_t width, int64_t height,
                                 PromptStats* stats) const {
  torch::InferenceMode guard;
  std::vector<torch::Tensor> contexts;
  Conditioning out;
  for (size_t i = 0; i < encoders_.size(); ++i) {
    const tokenizers::TokenIds tok = tokenizers_[i]->encode(prompt);
    if (stats) {
      stats->tokens = std::max(stats->tokens, tok.num_tokens);
      stats->unknown = std::max(stats->unknown, tok.num_unknown);
      stats->truncated = stats->truncated || tok.truncated;
    }
    CLIPTextModel encoder = encoders_[i];  // a holder copy shares the weights
    const auto device = encoder->parameters().front().device();
    auto ids = torch::tensor(tok.ids, torch::kLong).unsqueeze(0).to(device);  // [1, 77]
    CLIPTextOutput h = encoder->forward(ids);
    contexts.push_back(config_.encoders[i].layer == HiddenLayer::Last ? h.last_hidden
                                                                      : h.penultimate_hidden);
    if (static_cast<int>(i) == config_.pooled_from) out.pooled = h.pooled_projected;
  }
  out.context = torch::cat(contexts, -1);
  out.time_ids = time_ids(width, height);
  return out;
}

Conditioning Conditioner::encode_negative(const std::string& prompt, int64_t width,
                                          int64_t height) const {
  Conditioning c = encode(prompt, width, height);
  return prompt.empty() && config_.zeros_for_empty_negative ? c.zeros_like() : c;
}

std::shared_ptr<const Conditioner> load_conditioner(const io::ModelLayout& layout,
                                                    torch::ScalarType dtype, torch::Device device) {
  std::vector<std::string> folders;
  for (const char* name : {"text_encoder", "text_encoder_2"}) {
    if (layout.has(name)) folders.push_back(name);
  }
  ConditionerConfig config = conditioner_config_from(layout.model_index(), folders);
  std::vector<std::unique_ptr<tokenizers::Tokenizer>> toks;
  std::vector<CLIPTextModel> encs;
  for (const auto& spec : config.encoders) {
    toks.push_back(tokenizers::load_tokenizer(layout.files(spec.tokenizer)));
    encs.push_back(
        load_clip_text(layout.config(spec.encoder), layout.weights(spec.encoder), dtype, device));
  }
  return std::make_shared<const Conditioner>(std::move(config), std::move(toks), std::move(encs));
}

}  // namespace pangu_draw::text_encoders
