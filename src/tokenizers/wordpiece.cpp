// wordpiece.cpp: BERT basic tokenisation and greedy longest-match-first WordPiece (mirrors
// google-research/bert tokenization.py, which Chinese-CLIP's bert_tokenizer.py copies).
#include "tokenizers/wordpiece.h"

#include <filesystem>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_config.h"
#include "tokenizers/unicode_text.h"

namespace pangu_draw::tokenizers {
namespace {

// BERT's _is_chinese_char: the CJK Unified Ideographs blocks (not Hangul, kana or CJK punctuation).
bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_bert_whitespace(char32_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || unicode::is_space_separator(c);
}

bool is_bert_control(char32_t c) {
  return c != '\t' && c != '\n' && c != '\r' && unicode::is_control_or_format(c);
}

// All non-alphanumeric ASCII counts as punctuation, plus Unicode P*.
bool is_bert_punctuation(char32_t c) {
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126))
    return true;
  return unicode::is_punctuation(c);
}

// _clean_text + _tokenize_chinese_chars.
std::u32string clean(const std::u32string& text, bool split_cjk) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
    if (is_bert_whitespace(c)) {
      out += U' ';
    } else if (split_cjk && is_cjk_ideograph(c)) {
      out += U' ';
      out += c;
      out += U' ';
    } else {
      out += c;
    }
  }
  return out;
}

// str.split() without arguments.
std::vector<std::u32string> split_whitespace(const std::u32string& text) {
  std::vector<std::u32string> words;
  std::u32string word;
  for (char32_t c : text) {
    if (!unicode::is_space(c)) {
      word += c;
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::u32string strip_accents(const std::u32string& word) {
  std::u32string out;
  for (char32_t c : unicode::to_nfd(word))
    if (!unicode::is_nonspacing_mark(c)) out += c;
  return out;
}

// _run_split_on_punc: every punctuation character becomes a word of its own.
void split_punctuation(const std::u32string& word, std::vector<std::string>& out) {
  std::u32string current;
  for (char32_t c : word) {
    if (!is_bert_punctuation(c)) {
      current += c;
      continue;
    }
    if (!current.empty()) out.push_back(unicode::encode_utf8(current));
    current.clear();
    out.push_back(unicode::encode_utf8(std::u32string(1, c)));
  }
  if (!current.empty()) out.push_back(unicode::encode_utf8(current));
}

std::unordered_map<std::string, int64_t> read_vocab_txt(const std::string& path) {
  std::istringstream lines(io::read_file(path));
  std::unordered_map<std::string, int64_t> vocab;
  std::string line;
  int64_t index = 0;
  while (std::getline(lines, line)) {
    const std::string what = path + " line " + std::to_string(index + 1);
    vocab[unicode::encode_utf8(unicode::strip(unicode::decode_utf8(line, what)))] = index++;
  }
  PD_CHECK(!vocab.empty(), Input, path << ": the vocabulary is empty: re-download the tokenizer");
  return vocab;
}

}  // namespace

std::vector<std::string> bert_basic_tokenize(const std::string& utf8_text,
                                             const WordPieceOptions& options) {
  const std::u32string text = clean(unicode::decode_utf8(utf8_text, "prompt"), options.split_cjk);
  std::vector<std::string> pieces;
  for (std::u32string word : split_whitespace(text)) {
    if (options.lower_case) word = unicode::to_lower(word);
    if (options.strip_accents) word = strip_accents(word);
    std::vector<std::string> split;
    split_punctuation(word, split);
    // tokenization.py re-splits the joined pieces on whitespace.
    for (const std::string& piece : split)
      for (const std::u32string& w : split_whitespace(unicode::decode_utf8(piece, "prompt")))
        pieces.push_back(unicode::encode_utf8(w));
  }
  return pieces;
}

WordPieceTokenizer::WordPieceTokenizer(const std::string& vocab_txt, WordPieceOptions options)
    : options_(std::move(options)), vocab_path_(vocab_txt), vocab_(read_vocab_txt(vocab_txt)) {
  PD_CHECK(options_.max_length >= 2, Usage,
           "WordPiece tokenizer: max_length must be >= 2, got " << options_.max_length);
  cls_id_ = token_id(options_.cls_token, "cls_token");
  sep_id_ = token_id(options_.sep_token, "sep_token");
  pad_id_ = token_id(options_.pad_token, "pad_token");
  unk_id_ = token_id(options_.unk_token, "unk_token");
}

std::unique_ptr<WordPieceTokenizer> WordPieceTokenizer::load(const std::string& folder,
                                                             const io::JsonConfig& config) {
  const std::string vocab = (std::filesystem::path(folder) / "vocab.txt").string();
  PD_CHECK(std::filesystem::is_regular_file(vocab), Input,
           vocab << ": not found; " << config.origin()
                 << " names a BertTokenizer, which needs vocab.txt (one piece per line)");
  WordPieceOptions options;
  options.max_length = model_max_length(config);
  options.lower_case = config.get_bool("do_lower_case", true);
  options.strip_accents = config.get_bool("strip_accents", options.lower_case);
  options.split_cjk = config.get_bool("tokenize_chinese_chars", true);
  options.cls_token = special_token(config, "cls_token", options.cls_token);
  options.sep_token = special_token(config, "sep_token", options.sep_token);
  options.pad_token = special_token(config, "pad_token", options.pad_token);
  options.unk_token = special_token(config, "unk_token", options.unk_token);
  return std::make_unique<WordPieceTokenizer>(vocab, options);
}

int64_t WordPieceTokenizer::token_id(const std::string& token, const std::string& field) const {
  auto it = vocab_.find(token);
  PD_CHECK(it != vocab_.end(), Input,
           vocab_path_ << ": the " << field << " \"" << token << "\" is not in the vocabulary: "
                       << "fix tokenizer_config.json or use the matching vocab.txt");
  return it->second;
}

std::vector<int64_t> WordPieceTokenizer::word_ids(const std::string& word) const {
  const std::u32string chars = unicode::decode_utf8(word, "word");
  if (static_cast<int64_t>(chars.size()) > options_.max_chars_per_word) return {unk_id_};
  std::vector<int64_t> ids;
  for (size_t start = 0; start < chars.size();) {
    size_t end = chars.size();
    int64_t found = -1;
    for (; end > start; --end) {
      const std::string piece =
          (start > 0 ? "##" : "") + unicode::encode_utf8(chars.substr(start, end - start));
      auto it = vocab_.find(piece);
      if (it != vocab_.end()) {
        found = it->second;
        break;
      }
    }
    if (found < 0) return {unk_id_};
    ids.push_back(found);
    start = end;
  }
  return ids;
}

TokenSpan WordPieceTokenizer::tokenize(const std::string& utf8_text) const {
  TokenSpan out;
  for (const std::string& word : bert_basic_tokenize(utf8_text, options_)) {
    for (int64_t id : word_ids(word)) {
      out.ids.push_back(id);
      out.num_unknown += id == unk_id_ ? 1 : 0;
    }
  }
  return out;
}

TokenIds WordPieceTokenizer::encode(const std::string& utf8_text) const {
  const TokenSpan span = tokenize(utf8_text);
  return pack_sequence(span.ids, span.num_unknown, cls_id_, sep_id_, pad_id_, options_.max_length);
}

}  // namespace pangu_draw::tokenizers
