// conditioner.h: prompt -> Conditioning {context, pooled, time ids}: wires each tokenizer to its
// text encoder, picks the hidden layer the model's conditioning config names (or the request's
// clip skip), reads A1111's prompt syntax (emphasis, 75-token chunks, BREAK, textual-inversion
// words: docs/prompts.md), concatenates the contexts on channels and builds the
// micro-conditioning ids. 1..N encoders, no family checks.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "io/model_layout.h"
#include "text_encoders/clip_text.h"
#include "text_encoders/conditioner_config.h"
#include "text_encoders/embeddings.h"
#include "text_encoders/prompt_chunks.h"
#include "tokenizers/tokenizer.h"

namespace pangu_draw::text_encoders {

// What the UNet is conditioned on, for a batch of B prompts.
struct Conditioning {
  torch::Tensor context;   // [B, 77 * chunks, C]
  torch::Tensor pooled;    // [B, P] or undefined
  torch::Tensor time_ids;  // [B, K] or undefined
  bool zeroed = false;     // the zeros of an empty negative prompt (padded with zeros)

  Conditioning zeros_like() const;
  // Concatenates along the batch (the branches of one guided UNet call).
  static Conditioning cat(const std::vector<Conditioning>& parts);
};

struct PromptStats {  // for the unknown-token warning
  int64_t tokens = 0;
  int64_t unknown = 0;
  bool truncated = false;
};

enum class PromptSyntax {
  A1111,  // emphasis, chunks of 75 tokens, BREAK, embeddings (docs/prompts.md)
  Plain,  // the prompt as text: one chunk, truncated, no weights or embeddings
};

// "a1111" | "plain"; Error{Usage} otherwise.
PromptSyntax parse_prompt_syntax(const std::string& name);

struct PromptOptions {
  PromptSyntax syntax = PromptSyntax::A1111;
  int clip_skip = 0;  // A1111's: 1 = last layer, 2 = penultimate; 0 = the model's own
  std::vector<TextualInversion> embeddings;  // from Conditioner::read_embeddings
};

class Conditioner {
 public:
  Conditioner(ConditionerConfig config, std::vector<std::unique_ptr<tokenizers::Tokenizer>> tokenizers,
              std::vector<CLIPTextModel> encoders);

  // Encodes one prompt for an image of width x height (the size feeds the time ids). With
  // two encoders each chunks on its own, the shorter padded with empty chunks; pooled from the
  // first chunk.
  Conditioning encode(const std::string& prompt, int64_t width, int64_t height,
                      PromptStats* stats = nullptr, const PromptOptions& options = {}) const;
  // The negative branch: zeros when the model says so for an empty negative prompt.
  Conditioning encode_negative(const std::string& prompt, int64_t width, int64_t height,
                               const PromptOptions& options = {}) const;
  // `c` with its context extended along the sequence to `tokens` positions by A1111's empty
  // chunk (encoded with `options`' clip skip), or zeros for a zeroed branch, so that branches of
  // different lengths share one UNet call.
  Conditioning pad_to(const Conditioning& c, int64_t tokens, const PromptOptions& options) const;
  // Reads textual-inversion files for this model's encoders (embeddings.h).
  std::vector<TextualInversion> read_embeddings(const std::vector<EmbeddingFile>& files) const;
  const ConditionerConfig& config() const { return config_; }
  // The text encoders, in config order (LoRA merging patches their weights in place).
  const std::vector<CLIPTextModel>& encoders() const { return encoders_; }

 private:
  torch::Tensor time_ids(int64_t width, int64_t height) const;
  std::vector<ChunkWord> words_for(size_t encoder, const PromptOptions& options) const;
  // The chunks' contexts [1, chunks * N, W] of one encoder; its pooled state of chunk 0 into
  // `pooled` when given.
  torch::Tensor encode_chunks(size_t encoder, const std::vector<PromptChunk>& chunks,
                              const PromptOptions& options, torch::Tensor* pooled) const;

  ConditionerConfig config_;
  std::vector<std::unique_ptr<tokenizers::Tokenizer>> tokenizers_;
  std::vector<CLIPTextModel> encoders_;
  std::vector<ChunkRules> rules_;  // per encoder
};

// Loads tokenizers and text encoders named by the model's conditioning config; the encoders'
// weights in `dtype` on `device`.
std::shared_ptr<const Conditioner> load_conditioner(const io::ModelLayout& layout,
                                                    torch::ScalarType dtype = torch::kFloat,
                                                    torch::Device device = torch::kCPU);

}  // namespace pangu_draw::text_encoders
