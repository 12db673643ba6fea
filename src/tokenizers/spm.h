// spm.h: SentencePiece tokenizers (T5 / XLM-R style spiece.model) for the bilingual encoder, and
// training of the project's own models. libsentencepiece is reached only through the
// pd_spm_bridge plug-in (dlopen, see spm_bridge.h): linking it next to libtorch crashes.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tokenizers/tokenizer.h"

namespace pangu_draw::tokenizers {

class SpmBridge;  // the loaded plug-in (spm.cpp)

struct SentencePieceOptions {
  int64_t max_length = 77;
  std::string bos_token;  // empty: no begin token (T5)
  std::string eos_token = "</s>";
  std::string pad_token = "<pad>";
};

class SentencePieceTokenizer : public Tokenizer {
 public:
  // Loads the model through the bridge; Error{Input} naming the file when it cannot be read,
  // Error{Runtime} when the bridge cannot be found (see find_spm_bridge).
  SentencePieceTokenizer(const std::string& model_path, SentencePieceOptions options);
  ~SentencePieceTokenizer() override;
  SentencePieceTokenizer(const SentencePieceTokenizer&) = delete;  // owns the bridge's model
  SentencePieceTokenizer& operator=(const SentencePieceTokenizer&) = delete;
  // Model file: tokenizer_config.json 'model_file' (relative to the folder), else spiece.model,
  // else sentencepiece.bpe.model. Fields: model_max_length, bos_token (optional), eos_token,
  // pad_token (looked up as pieces of the model).
  static std::unique_ptr<SentencePieceTokenizer> load(const std::string& folder,
                                                      const io::JsonConfig& config);

  // [bos] + ids[:max_length - specials] + eos, padded with pad.
  TokenIds encode(const std::string& utf8_text) const override;
  TokenSpan tokenize(const std::string& utf8_text) const override;
  SpecialIds special_ids() const override { return {bos_id_, eos_id_, pad_id_}; }
  int64_t max_length() const override { return options_.max_length; }

  std::vector<int64_t> encode_pieces(const std::string& utf8_text) const;  // the model's ids
  std::string decode(const std::vector<int64_t>& ids) const;
  std::string id_to_piece(int64_t id) const;
  int64_t piece_to_id(const std::string& piece) const;  // the unk id when absent
  int64_t vocab_size() const;
  int64_t unk_id() const { return unk_id_; }

 private:
  int64_t special_id(const std::string& token, const std::string& field) const;

  std::shared_ptr<const SpmBridge> bridge_;
  void* model_ = nullptr;  // PdSpmModel*
  std::string model_path_;
  SentencePieceOptions options_;
  int64_t bos_id_ = -1, eos_id_ = -1, pad_id_ = 0, unk_id_ = 0;
};

struct SentencePieceTrainOptions {
  int64_t vocab_size = 8000;
  std::string model_type = "unigram";    // unigram, bpe, char, word
  double character_coverage = 0.9995;    // < 1 for CJK-sized alphabets
  std::vector<std::string> extra_flags;  // more trainer flags, "key=value"
};
// Trains <model_prefix>.model (+ .vocab) from a UTF-8 text file, one sentence per line.
// Error{Input} when the input cannot be used, Error{Runtime} when the bridge is missing.
void train_sentencepiece(const std::string& input_path, const std::string& model_prefix,
                         const SentencePieceTrainOptions& options);

// Where the bridge is looked for: $PANGU_SPM_BRIDGE (taken as is), next to the running
// executable, next to the binary holding this code (libpangu_draw.so), then the build tree
// (PD_SPM_BRIDGE_DEFAULT). Returns the first existing path, "" when none.
std::string find_spm_bridge();

}  // namespace pangu_draw::tokenizers
