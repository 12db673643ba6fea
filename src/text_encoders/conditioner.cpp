// conditioner.cpp: the Conditioner: tokenizers + text encoders -> context, pooled embedding and
// size ids for one prompt; A1111 chunks per encoder, textual-inversion vectors put in after the
// token embedding, emphasis on the hidden states with the mean restored.
#include "text_encoders/conditioner.h"

#include "core/error.h"
#include "core/log.h"
#include "text_encoders/prompt_parser.h"

namespace pangu_draw::text_encoders {

Conditioning Conditioning::zeros_like() const {
  Conditioning z;
  z.context = torch::zeros_like(context);
  if (pooled.defined()) z.pooled = torch::zeros_like(pooled);
  z.time_ids = time_ids;  // ids describe the image, not the prompt
  z.zeroed = true;
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
  for (const auto& t : tokenizers_) {
    rules_.push_back(chunk_rules_for(*t));
    PD_CHECK(t->max_length() == tokenizers_.front()->max_length(), Input,
             "the model's tokenizers differ in length (" << t->max_length() << " vs "
                                                         << tokenizers_.front()->max_length()
                                                         << "); their contexts cannot be joined");
  }
}

PromptSyntax parse_prompt_syntax(const std::string& name) {
  if (name == "a1111") return PromptSyntax::A1111;
  if (name == "plain") return PromptSyntax::Plain;
  PD_FAIL(Usage, "prompt syntax '" << name << "' is unknown: use a1111 (weights, BREAK, long "
                                   << "prompts) or plain (the text as is)");
}

namespace {

// A1111's "Original" emphasis per chunk: z *= w, then z *= mean(z before) / mean(z after).
torch::Tensor emphasize(const torch::Tensor& z, const torch::Tensor& weights) {
  const auto zf = z.to(torch::kFloat);                                    // [K, N, W]
  const auto before = zf.mean({1, 2}, true);                              // [K, 1, 1]
  auto weighted = zf * weights.to(zf.device()).unsqueeze(-1);             // [K, N, W]
  const auto after = weighted.mean({1, 2}, true);
  return (weighted * (before / after)).to(z.scalar_type());
}

}  // namespace

std::vector<TextualInversion> Conditioner::read_embeddings(const std::vector<EmbeddingFile>& files) const {
  std::vector<int64_t> widths;
  for (const auto& e : encoders_) widths.push_back(e->config().hidden_size);
  std::vector<TextualInversion> out;
  for (const auto& f : files) out.push_back(read_textual_inversion(f, widths));
  return out;
}

std::vector<ChunkWord> Conditioner::words_for(size_t encoder, const PromptOptions& options) const {
  std::vector<ChunkWord> words;
  for (size_t j = 0; j < options.embeddings.size(); ++j) {
    const auto& e = options.embeddings[j];
    PD_CHECK(e.vectors.size() == encoders_.size(), Input,
             "embedding '" << e.name << "' was read for another model");
    ChunkWord w{tokenizers_[encoder]->tokenize(e.name).ids, e.vectors[encoder].size(0), static_cast<int>(j)};
    PD_CHECK(!w.name_ids.empty(), Input,
             "embedding name '" << e.name << "' has no tokens for this model's tokenizer: rename it");
    words.push_back(std::move(w));
  }
  return words;
}

torch::Tensor Conditioner::encode_chunks(size_t encoder, const std::vector<PromptChunk>& chunks,
                                         const PromptOptions& options, torch::Tensor* pooled) const {
  CLIPTextModel enc = encoders_[encoder];  // a holder copy shares the weights
  const torch::Tensor param = enc->parameters().front();  // a copy: parameters() is a temporary
  const auto k = static_cast<int64_t>(chunks.size());
  const auto n = static_cast<int64_t>(chunks.front().ids.size());
  std::vector<int64_t> flat_ids;
  std::vector<float> flat_weights;
  bool fixes = false, weighted = false;
  for (const auto& c : chunks) {
    flat_ids.insert(flat_ids.end(), c.ids.begin(), c.ids.end());
    flat_weights.insert(flat_weights.end(), c.weights.begin(), c.weights.end());
    fixes = fixes || !c.fixes.empty();
  }
  for (float w : flat_weights) weighted = weighted || w != 1.0f;
  const auto ids = torch::tensor(flat_ids, torch::kLong).view({k, n}).to(param.device());
  torch::Tensor tokens;  // token embeddings with the embedding vectors put in
  if (fixes) {
    tokens = enc->text_model->embeddings->token_embedding(ids).clone();
    for (int64_t r = 0; r < k; ++r) {
      for (const auto& f : chunks[static_cast<size_t>(r)].fixes) {
        const auto& v = options.embeddings[static_cast<size_t>(f.embedding)].vectors[encoder];
        tokens[r].narrow(0, f.offset, v.size(0)).copy_(v.to(tokens.options()));
      }
    }
  }
  const CLIPTextOutput h =
      enc->encode(ids, tokens, hidden_selection(config_.encoders[encoder].layer, options.clip_skip));
  auto z = h.selected;  // [K, N, W]
  if (weighted) z = emphasize(z, torch::tensor(flat_weights).view({k, n}).to(z.device()));
  if (pooled) *pooled = h.pooled_projected.narrow(0, 0, 1);
  return z.reshape({1, k * n, z.size(2)});
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
                                 PromptStats* stats, const PromptOptions& options) const {
  torch::InferenceMode guard;
  const bool plain = options.syntax == PromptSyntax::Plain;
  const auto fragments = plain ? std::vector<PromptFragment>{} : parse_prompt_attention(prompt);
  std::vector<ChunkedPrompt> per(encoders_.size());
  size_t count = 0;
  for (size_t i = 0; i < encoders_.size(); ++i) {
    per[i] = plain ? plain_chunk(prompt, *tokenizers_[i])
                   : chunk_prompt(fragments, *tokenizers_[i], rules_[i], words_for(i, options));
    count = std::max(count, per[i].chunks.size());
    if (stats) {
      stats->tokens = std::max(stats->tokens, per[i].tokens);
      stats->unknown = std::max(stats->unknown, per[i].unknown);
      stats->truncated = stats->truncated || (plain && per[i].tokens > rules_[i].length);
    }
  }
  Conditioning out;
  std::vector<torch::Tensor> contexts;
  for (size_t i = 0; i < encoders_.size(); ++i) {
    auto& chunks = per[i].chunks;  // an encoder with fewer chunks gets A1111's empty ones
    while (chunks.size() < count) chunks.push_back(empty_chunk(rules_[i]));
    const bool pools = static_cast<int>(i) == config_.pooled_from;
    contexts.push_back(encode_chunks(i, chunks, options, pools ? &out.pooled : nullptr));
  }
  out.context = torch::cat(contexts, -1);
  out.time_ids = time_ids(width, height);
  return out;
}

Conditioning Conditioner::encode_negative(const std::string& prompt, int64_t width,
                                          int64_t height, const PromptOptions& options) const {
  Conditioning c = encode(prompt, width, height, nullptr, options);
  return prompt.empty() && config_.zeros_for_empty_negative ? c.zeros_like() : c;
}

Conditioning Conditioner::pad_to(const Conditioning& c, int64_t tokens,
                                 const PromptOptions& options) const {
  const int64_t have = c.context.size(1);
  if (have >= tokens) return c;
  torch::InferenceMode guard;
  std::vector<torch::Tensor> empty;
  for (size_t i = 0; i < encoders_.size(); ++i) {
    empty.push_back(encode_chunks(i, {empty_chunk(rules_[i])}, options, nullptr));
  }
  auto chunk = torch::cat(empty, -1).to(c.context.device(), c.context.scalar_type());  // [1, N, C]
  PD_CHECK((tokens - have) % chunk.size(1) == 0, Runtime,
           "conditioning of " << have << " tokens cannot be padded to " << tokens);
  if (c.zeroed) chunk = torch::zeros_like(chunk);
  Conditioning out = c;
  const int64_t repeats = (tokens - have) / chunk.size(1);
  out.context = torch::cat({c.context, chunk.repeat({c.context.size(0), repeats, 1})}, 1);
  return out;
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
