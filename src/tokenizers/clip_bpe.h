// clip_bpe.h: CLIP's byte-level BPE tokenizer, as openai CLIP's SimpleTokenizer: ftfy.fix_text,
// html-unescape twice, collapse whitespace, lower-case, regex split, bytes_to_unicode, BPE merges.
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "io/component_files.h"
#include "tokenizers/tokenizer.h"

namespace pangu_draw::tokenizers {

struct CLIPBPEOptions {
  int64_t max_length = 77;
  std::string bos_token = "<|startoftext|>";
  std::string eos_token = "<|endoftext|>";
  std::string pad_token = "<|endoftext|>";
  std::string unk_token = "<|endoftext|>";
};

// The text normalisation and split before BPE: ftfy.fix_text (text_fix.h), html.unescape twice,
// whitespace runs -> one space, strip, lower(), then the findall of <bos>|<eos>|'s|'t|'re|'ve|'m|
// 'll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+ (case-insensitive, as CLIP compiles it). Returns the
// pieces in UTF-8.
std::vector<std::string> clip_pre_tokenize(const std::string& utf8_text,
                                           const std::vector<std::string>& special_tokens);

// The contents of vocab.json and merges.txt, and the names that messages give them.
struct CLIPBPETexts {
  std::string vocab_json, merges_txt;
  std::string vocab_origin, merges_origin;
};

class CLIPBPETokenizer : public Tokenizer {
 public:
  // vocab.json (piece -> id) and merges.txt ("#version" header, then "a b" per line, by rank).
  CLIPBPETokenizer(const std::string& vocab_json, const std::string& merges_txt,
                   CLIPBPEOptions options);
  CLIPBPETokenizer(const CLIPBPETexts& texts, CLIPBPEOptions options);
  // From <folder>/vocab.json + merges.txt and the tokenizer_config.json fields
  // model_max_length, bos_token, eos_token, pad_token, unk_token.
  static std::unique_ptr<CLIPBPETokenizer> load(const std::string& folder,
                                                const io::JsonConfig& config);
  // The same from a folder's files on disk or built into the library.
  static std::unique_ptr<CLIPBPETokenizer> load(const io::ComponentFiles& files,
                                                const io::JsonConfig& config);

  TokenIds encode(const std::string& utf8_text) const override;
  TokenSpan tokenize(const std::string& utf8_text) const override;
  SpecialIds special_ids() const override { return {bos_id_, eos_id_, pad_id_}; }
  int64_t max_length() const override { return options_.max_length; }
  // The BPE pieces of one pre-tokenized word (with "</w>" on the last), for inspection.
  std::vector<std::string> bpe(const std::string& word) const;

 private:
  struct Encoded {
    std::vector<int64_t> ids;
    int64_t num_unknown = 0;
  };
  int64_t token_id(const std::string& token, const std::string& field) const;
  Encoded encode_word(const std::string& word) const;

  CLIPBPEOptions options_;
  std::string vocab_path_;
  std::unordered_map<std::string, int64_t> vocab_;
  std::unordered_map<std::string, int64_t> merge_ranks_;  // "first second" -> rank
  std::vector<std::string> byte_symbols_;                 // bytes_to_unicode, UTF-8
  int64_t bos_id_ = 0, eos_id_ = 0, pad_id_ = 0, unk_id_ = 0;
  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, Encoded> cache_;
};

}  // namespace pangu_draw::tokenizers
