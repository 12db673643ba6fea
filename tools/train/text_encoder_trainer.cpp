// text_encoder_trainer.cpp: the caption tokenizer (SentencePiece on TinyWorld captions) and the
// distillation of a teacher's conditioning into one bidirectional bilingual encoder.
#include "text_encoder_trainer.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/json_config.h"
#include "io/model_layout.h"
#include "io/safetensors.h"
#include "nn/init.h"
#include "scene.h"
#include "tokenizers/spm.h"
#include "trainer.h"

namespace pangu_draw::train {

namespace fs = std::filesystem;

void train_caption_tokenizer(const std::string& out_dir, int vocab_size, int sentences,
                             uint64_t seed) {
  PD_CHECK(sentences > 0 && vocab_size > 8, Usage,
           "tokenizer training needs sentences > 0 and vocab size > 8, got " << sentences << " and "
                                                                            << vocab_size);
  fs::create_directories(out_dir);
  const std::string corpus = (fs::path(out_dir) / "captions.txt").string();
  {
    std::ofstream out(corpus);
    tinyworld::Rng rng(seed ^ 0x70cULL);
    for (int i = 0; i < sentences; ++i) {
      const auto scene = tinyworld::sample_scene(seed * 1000003ULL + uint64_t(i), false);
      const bool style = rng.uniform() >= 0.2;
      out << tinyworld::caption_en(scene, style) << "\n" << tinyworld::caption_zh(scene, style) << "\n";
    }
  }
  tokenizers::SentencePieceTrainOptions options;
  options.vocab_size = vocab_size;
  options.model_type = "unigram";
  options.character_coverage = 1.0;  // every Chinese character of the captions is a piece
  options.extra_flags = {"pad_id=0", "unk_id=1", "bos_id=2", "eos_id=3", "hard_vocab_limit=false",
                         "normalization_rule_name=nmt_nfkc_cf", "num_threads=1"};
  try {
    tokenizers::train_sentencepiece(corpus, (fs::path(out_dir) / "spiece").string(), options);
  } catch (...) {
    fs::remove(corpus);
    throw;
  }
  fs::remove(corpus);
  fs::remove(fs::path(out_dir) / "spiece.vocab");
  const nlohmann::json config = {{"tokenizer_class", "SentencePieceTokenizer"},
                                 {"model_max_length", 77},
                                 {"bos_token", "<s>"},
                                 {"eos_token", "</s>"},
                                 {"pad_token", "<pad>"},
                                 {"unk_token", "<unk>"}};
  std::ofstream(fs::path(out_dir) / "tokenizer_config.json") << config.dump(1) << "\n";
}

namespace {

torch::Tensor ids_of(const tokenizers::Tokenizer& tok, const std::vector<std::string>& prompts) {
  std::vector<torch::Tensor> rows;
  for (const auto& p : prompts) rows.push_back(torch::tensor(tok.encode(p).ids, torch::kLong));
  return torch::stack(rows);
}

// sum |a - b|^2 / sum |b - mean(b)|^2 over the batch (rows = first dimension).
double relative_error(const torch::Tensor& a, const torch::Tensor& b) {
  const auto spread = (b - b.mean(0, true)).pow(2).sum();
  return ((a - b).pow(2).sum() / spread).item<double>();
}

}  // namespace

TextEncoderTrainer::TextEncoderTrainer(const TextEncoderTrainConfig& config) : config_(config) {
  PD_CHECK(config.batch > 0, Usage, "--batch must be > 0, got " << config.batch);
  teacher_ = text_encoders::load_conditioner(io::ModelLayout::open(config.teacher_model));
  tokenizer_ = tokenizers::load_tokenizer(config.tokenizer_dir);
  json_ = io::JsonConfig::load(config.encoder_config).raw();
  if (const auto* spm = dynamic_cast<const tokenizers::SentencePieceTokenizer*>(tokenizer_.get()))
    json_["vocab_size"] = spm->vocab_size();  // the pieces the tokenizer training kept
  torch::manual_seed(config.seed);
  const auto c = text_encoders::CLIPTextConfig::from_json(
      io::JsonConfig(json_, config.encoder_config));
  PD_CHECK(c.with_projection, Input,
           config.encoder_config << ": the student needs a projection (architectures: "
                                 << "[\"CLIPTextModelWithProjection\"]) for the pooled vector");
  student_ = text_encoders::CLIPTextModel(c);
  nn::init_parameters(*student_, config.seed);
  // Per-channel scales of the teacher's outputs: every channel counts alike in the loss.
  std::vector<std::string> in, target;
  sample(config.seed ^ 0x5ca1eULL, 256, false, false, in, target);
  const Targets t = teacher(target);
  context_scale_ = 1.0 / (t.context.flatten(0, 1).std(0) + 1e-6);
  pooled_scale_ = 1.0 / (t.pooled.std(0) + 1e-6);
  const int64_t ctx_dim = context_scale_.size(0);
  PD_CHECK(c.hidden_size == ctx_dim && c.projection_dim == pooled_scale_.size(0), Input,
           config.encoder_config << ": the student must be " << ctx_dim << " wide with a "
                                 << pooled_scale_.size(0) << "-wide projection, as the teacher's "
                                 << "conditioning is; got " << c.hidden_size << " and "
                                 << c.projection_dim);
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      student_->parameters(), torch::optim::AdamWOptions(config.lr).weight_decay(1e-2));
}

int64_t TextEncoderTrainer::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : student_->parameters()) n += p.numel();
  return n;
}

void TextEncoderTrainer::sample(uint64_t first_seed, int n, bool heldout, bool zh_only,
                                std::vector<std::string>& in, std::vector<std::string>& target) const {
  tinyworld::Rng rng(first_seed ^ 0x7e47ULL);
  in.clear();
  target.clear();
  for (int i = 0; i < n; ++i) {
    const auto scene = tinyworld::sample_scene(first_seed + uint64_t(i), heldout);
    const bool style = rng.uniform() >= config_.plain_fraction;
    const bool zh = zh_only || rng.uniform() < config_.zh_fraction;
    const bool empty = !heldout && rng.uniform() < config_.empty_fraction;
    const std::string en = empty ? "" : tinyworld::caption_en(scene, style);
    in.push_back(zh && !empty ? tinyworld::caption_zh(scene, style) : en);
    target.push_back(en);
  }
}

TextEncoderTrainer::Targets TextEncoderTrainer::teacher(
    const std::vector<std::string>& prompts) const {
  std::vector<text_encoders::Conditioning> conds;
  for (const auto& p : prompts) conds.push_back(teacher_->encode(p, 64, 64));
  const auto all = text_encoders::Conditioning::cat(conds);
  PD_CHECK(all.pooled.defined(), Input,
           config_.teacher_model << ": the teacher has no pooled text vector to imitate");
  return {all.context, all.pooled};  // cat ran outside inference mode: plain tensors
}

std::pair<torch::Tensor, torch::Tensor> TextEncoderTrainer::student(
    const std::vector<std::string>& prompts) {
  const auto out = student_->encode(ids_of(*tokenizer_, prompts));
  return {out.penultimate_hidden, out.pooled_projected};
}

double TextEncoderTrainer::step() {
  const uint64_t first = config_.seed * 1000003ULL + uint64_t(steps_) * uint64_t(config_.batch);
  std::vector<std::string> in, target;
  sample(first, config_.batch, false, false, in, target);
  const Targets t = teacher(target);
  if (config_.total_steps > 0) {  // cosine decay to 10 %
    const double progress = std::min(1.0, double(steps_) / config_.total_steps);
    const double lr = config_.lr * (0.1 + 0.45 * (1 + std::cos(M_PI * progress)));
    for (auto& group : optimizer_->param_groups())
      static_cast<torch::optim::AdamWOptions&>(group.options()).lr(lr);
  }
  student_->train();
  optimizer_->zero_grad();
  const auto [ctx, pooled] = student(in);
  const auto loss = ((ctx - t.context) * context_scale_).pow(2).mean() +
                    ((pooled - t.pooled) * pooled_scale_).pow(2).mean();
  loss.backward();
  torch::nn::utils::clip_grad_norm_(student_->parameters(), 1.0);
  optimizer_->step();
  ++steps_;
  return loss.item<double>();
}

TextEncoderEval TextEncoderTrainer::evaluate(uint64_t seed, int n) {
  torch::NoGradGuard no_grad;
  student_->eval();
  std::vector<std::string> in, target;
  TextEncoderEval e;
  for (bool zh : {false, true}) {
    sample(seed, n, true, zh, in, target);
    const Targets t = teacher(target);
    const auto [ctx, pooled] = student(zh ? in : target);
    (zh ? e.context_zh : e.context_en) = relative_error(ctx, t.context);
    (zh ? e.pooled_zh : e.pooled_en) = relative_error(pooled, t.pooled);
    if (!zh) {
      const auto empty = teacher({""}).context;
      const auto spread = (t.context - t.context.mean(0, true)).pow(2).sum() / n;
      e.empty = ((student({""}).first - empty).pow(2).sum() / spread).item<double>();
    }
  }
  return e;
}

void TextEncoderTrainer::save(const std::string& out_dir, bool f16) const {
  fs::create_directories(out_dir);
  std::ofstream(fs::path(out_dir) / "config.json") << json_.dump(2) << "\n";
  const auto tensors = module_weights(*student_, f16 ? torch::kHalf : torch::kFloat);
  io::save_safetensors((fs::path(out_dir) / "model.safetensors").string(), tensors,
                       {{"format", "pt"}, {"steps", std::to_string(steps_)}});
}

}  // namespace pangu_draw::train
