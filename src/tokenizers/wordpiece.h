// wordpiece.h: BERT basic tokenisation + greedy longest-match WordPiece, as Chinese-CLIP's
// bert_tokenizer.py (google-research/bert tokenization.py) with do_lower_case.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizers/tokenizer.h"

namespace pangu_draw::tokenizers {

struct WordPieceOptions {
  int64_t max_length = 77;
  bool lower_case = true;
  bool strip_accents = true;  // NFD + drop Mn (BERT ties it to lower_case by default)
  bool split_cjk = true;      // spaces around CJK ideographs
  int64_t max_chars_per_word = 100;
  std::string cls_token = "[CLS]";
  std::string sep_token = "[SEP]";
  std::string pad_token = "[PAD]";
  std::string unk_token = "[UNK]";
};

// BasicTokenizer.tokenize: clean, split CJK, whitespace split, lower + strip accents, split
// punctuation. Returns the words in UTF-8.
std::vector<std::string> bert_basic_tokenize(const std::string& utf8_text,
                                             const WordPieceOptions& options);

class WordPieceTokenizer : public Tokenizer {
 public:
  // vocab.txt: one piece per line, id = line number (pieces are whitespace-stripped).
  WordPieceTokenizer(const std::string& vocab_txt, WordPieceOptions options);
  // From <folder>/vocab.txt and tokenizer_config.json: model_max_length, do_lower_case,
  // strip_accents, tokenize_chinese_chars, cls/sep/pad/unk_token.
  static std::unique_ptr<WordPieceTokenizer> load(const std::string& folder,
                                                  const io::JsonConfig& config);

  TokenIds encode(const std::string& utf8_text) const override;
  TokenSpan tokenize(const std::string& utf8_text) const override;
  SpecialIds special_ids() const override { return {cls_id_, sep_id_, pad_id_}; }
  int64_t max_length() const override { return options_.max_length; }
  // WordPiece of one basic-tokenized word: its pieces' ids, or {unk} when it cannot be split.
  std::vector<int64_t> word_ids(const std::string& word) const;
  int64_t unk_id() const { return unk_id_; }

 private:
  int64_t token_id(const std::string& token, const std::string& field) const;

  WordPieceOptions options_;
  std::string vocab_path_;
  std::unordered_map<std::string, int64_t> vocab_;
  int64_t cls_id_ = 0, sep_id_ = 0, pad_id_ = 0, unk_id_ = 0;
};

}  // namespace pangu_draw::tokenizers
