// text_encoder_trainer.h: the project's bilingual text encoder, trained by teacher-student
// distillation (AltCLIP's "teacher learning", the recipe of AltDiffusion-style bilingual encoders):
// a SentencePiece tokenizer trained on TinyWorld's English and Chinese captions and a small,
// bidirectional CLIP-architecture encoder learn to produce, for a caption in either language, the
// conditioning a teacher model's encoders give its *English* caption — the context the UNets
// were trained on (all positions, on channels) and the pooled vector. One space for both
// languages: a Chinese caption and its English translation condition the UNets alike.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "text_encoders/clip_text.h"
#include "text_encoders/conditioner.h"
#include "tokenizers/tokenizer.h"

namespace pangu_draw::train {

// Trains <out_dir>/spiece.model on `sentences` English + Chinese TinyWorld training captions
// (with and without style prefix) and writes <out_dir>/tokenizer_config.json
// (SentencePieceTokenizer, 77 positions; ids pad 0, unk 1, bos 2, eos 3; case-folding NFKC).
void train_caption_tokenizer(const std::string& out_dir, int vocab_size, int sentences,
                             uint64_t seed);

struct TextEncoderTrainConfig {
  std::string teacher_model;   // diffusers folder: tokenizers + text encoders to imitate
  std::string tokenizer_dir;   // the student's tokenizer folder (train_caption_tokenizer)
  std::string encoder_config;  // the student's config.json (CLIP text model with projection)
  int batch = 64;
  double lr = 1e-3;
  int total_steps = 0;           // > 0: cosine decay of lr to 10 % over these steps
  double zh_fraction = 0.5;      // share of Chinese captions (target: the English caption's)
  double plain_fraction = 0.2;   // share of captions without the style prefix
  double empty_fraction = 0.05;  // share of empty prompts (the unconditional branch of CFG)
  uint64_t seed = 0;
};

// Distances on held-out scenes (combinations no training caption had), each relative to the
// teacher's spread: sum |student - teacher|^2 / sum |teacher - mean(teacher)|^2.
struct TextEncoderEval {
  double context_en = 0, context_zh = 0;  // context of English / Chinese captions vs teacher(en)
  double pooled_en = 0, pooled_zh = 0;
  double empty = 0;  // context of the empty prompt, relative to the captions' spread
};

class TextEncoderTrainer {
 public:
  explicit TextEncoderTrainer(const TextEncoderTrainConfig& config);

  double step();  // one AdamW step on fresh training captions; returns the (normalised) loss
  TextEncoderEval evaluate(uint64_t seed, int n);
  // Writes out_dir/config.json and out_dir/model.safetensors (F16 with `f16`).
  void save(const std::string& out_dir, bool f16 = false) const;
  // The student's conditioning for prompts: context (penultimate layer) [B, 77, C], pooled [B, P].
  std::pair<torch::Tensor, torch::Tensor> student(const std::vector<std::string>& prompts);
  int64_t parameter_count() const;

 private:
  struct Targets {
    torch::Tensor context, pooled;  // teacher's, [B, 77, C] and [B, P]
  };
  Targets teacher(const std::vector<std::string>& prompts) const;
  // Inputs (captions in either language) and their targets' prompts (English) for a batch.
  void sample(uint64_t first_seed, int n, bool heldout, bool zh_only, std::vector<std::string>& in,
              std::vector<std::string>& target) const;

  TextEncoderTrainConfig config_;
  nlohmann::json json_;
  std::shared_ptr<const text_encoders::Conditioner> teacher_;
  std::unique_ptr<tokenizers::Tokenizer> tokenizer_;
  text_encoders::CLIPTextModel student_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  torch::Tensor context_scale_, pooled_scale_;  // 1 / per-channel std of the teacher's outputs
  int64_t steps_ = 0;
};

}  // namespace pangu_draw::train
