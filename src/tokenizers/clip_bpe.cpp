// clip_bpe.cpp: CLIP byte-level BPE as openai CLIP's simple_tokenizer.py (and open_clip) run it:
// text clean-up (ftfy.fix_text, html.unescape twice, whitespace, lower-case), the regex split, byte
// symbols, merges. transformers' CLIPTokenizer gives the same ids when ftfy is installed (it runs
// ftfy too but not html.unescape, so only text with HTML references ftfy leaves alone differs);
// without ftfy it falls back to BERT's BasicTokenizer, which nothing here reproduces.
#include "tokenizers/clip_bpe.h"

#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "io/atomic_file.h"
#include "io/json_config.h"
#include "tokenizers/html_entities.h"
#include "tokenizers/text_fix.h"
#include "tokenizers/unicode_text.h"

namespace pangu_draw::tokenizers {
namespace {

constexpr size_t kMaxCacheEntries = 1 << 16;
const char* const kContractions[] = {"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"};

// Simple case folding for the ASCII letters of the pattern, as the case-insensitive regex
// matches them (the text is already lower-case, but U+017F still matches 's', U+212A 'k').
char32_t fold(char32_t c) {
  if (c >= 'A' && c <= 'Z') return c + 32;
  if (c == 0x17F) return 's';
  if (c == 0x212A) return 'k';
  return c;
}

bool matches_at(const std::u32string& text, size_t pos, const std::u32string& literal) {
  if (literal.empty() || pos + literal.size() > text.size()) return false;
  for (size_t k = 0; k < literal.size(); ++k)
    if (fold(text[pos + k]) != fold(literal[k])) return false;
  return true;
}

// [^\s\p{L}\p{N}] as the case-insensitive pattern sees it.
bool is_other(char32_t c) {
  return !unicode::is_space(c) && !unicode::is_letter(c) && !unicode::is_number(c) &&
         !unicode::is_case_insensitive_unmatched(c);
}

// Length of the regex match at `pos`, 0 when no alternative matches (whitespace).
size_t match_length(const std::u32string& text, size_t pos,
                    const std::vector<std::u32string>& literals) {
  for (const std::u32string& literal : literals)
    if (matches_at(text, pos, literal)) return literal.size();
  const char32_t c = text[pos];
  size_t end = pos + 1;
  if (unicode::is_letter(c)) {
    while (end < text.size() && unicode::is_letter(text[end])) ++end;
    return end - pos;
  }
  if (unicode::is_number(c)) return 1;
  if (!is_other(c)) return 0;
  while (end < text.size() && is_other(text[end])) ++end;
  return end - pos;
}

// whitespace_clean(basic_clean(text)).lower() of simple_tokenizer.py; basic_clean is
// ftfy.fix_text, html.unescape twice, strip.
std::u32string clean_text(const std::string& utf8_text) {
  std::u32string text = text_fix::fix_text(unicode::decode_utf8(utf8_text, "prompt"));
  text = unicode::strip(html::unescape(html::unescape(text)));
  std::u32string collapsed;
  collapsed.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (!unicode::is_space(text[i])) {
      collapsed += text[i++];
      continue;
    }
    collapsed += U' ';
    while (i < text.size() && unicode::is_space(text[i])) ++i;
  }
  return unicode::to_lower(unicode::strip(collapsed));
}

// bytes_to_unicode(): printable latin-1 bytes map to themselves, the others to 256 + n in order.
std::vector<std::string> byte_symbols() {
  std::vector<std::string> out(256);
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
    unicode::append_utf8(printable ? char32_t(b) : next++, out[b]);
  }
  return out;
}

// `text`: the contents of vocab.json; `path` names it in messages.
std::unordered_map<std::string, int64_t> parse_vocab_json(const std::string& text,
                                                          const std::string& path) {
  nlohmann::json json;
  try {
    json = io::parse_json(text, path);  // bounded depth: ids are dump()ed below
  } catch (const Error& e) {
    PD_FAIL(Input, e.what() << "; expected an object piece -> id: re-download the tokenizer");
  }
  PD_CHECK(json.is_object() && !json.empty(), Input,
           path << ": expected a non-empty JSON object piece -> id, got a " << json.type_name()
                << ": re-download the tokenizer");
  std::unordered_map<std::string, int64_t> vocab;
  vocab.reserve(json.size());
  for (auto it = json.begin(); it != json.end(); ++it) {
    PD_CHECK(it.value().is_number_integer() && it.value().get<int64_t>() >= 0, Input,
             path << ": the id of '" << it.key() << "' must be a non-negative integer, got "
                  << it.value().dump() << ": re-download the tokenizer");
    vocab.emplace(it.key(), it.value().get<int64_t>());
  }
  return vocab;
}

std::unordered_map<std::string, int64_t> parse_merges(const std::string& text,
                                                      const std::string& path) {
  std::istringstream lines(text);
  std::unordered_map<std::string, int64_t> ranks;
  std::string line;
  for (int64_t number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line.rfind("#version", 0) == 0)) continue;
    const size_t space = line.find(' ');
    PD_CHECK(space != std::string::npos && space > 0 && space + 1 < line.size() &&
                 line.find(' ', space + 1) == std::string::npos,
             Input,
             path << ":" << number << ": expected two pieces separated by one space, got \"" << line
                  << "\": re-download the tokenizer");
    ranks.emplace(line, static_cast<int64_t>(ranks.size()));
  }
  PD_CHECK(!ranks.empty(), Input, path << ": no merges found: re-download the tokenizer");
  return ranks;
}

}  // namespace

std::vector<std::string> clip_pre_tokenize(const std::string& utf8_text,
                                           const std::vector<std::string>& special_tokens) {
  std::vector<std::u32string> literals;
  for (const std::string& s : special_tokens) literals.push_back(unicode::decode_utf8(s, s));
  for (const char* s : kContractions) literals.push_back(unicode::decode_utf8(s, s));
  const std::u32string text = clean_text(utf8_text);
  std::vector<std::string> pieces;
  for (size_t pos = 0; pos < text.size();) {
    const size_t n = match_length(text, pos, literals);
    if (n == 0) {
      ++pos;
      continue;
    }
    pieces.push_back(unicode::encode_utf8(text.substr(pos, n)));
    pos += n;
  }
  return pieces;
}

CLIPBPETokenizer::CLIPBPETokenizer(const std::string& vocab_json, const std::string& merges_txt,
                                   CLIPBPEOptions options)
    : CLIPBPETokenizer(CLIPBPETexts{io::read_file(vocab_json), io::read_file(merges_txt), vocab_json,
                                    merges_txt},
                       std::move(options)) {}

CLIPBPETokenizer::CLIPBPETokenizer(const CLIPBPETexts& texts, CLIPBPEOptions options)
    : options_(std::move(options)),
      vocab_path_(texts.vocab_origin),
      vocab_(parse_vocab_json(texts.vocab_json, texts.vocab_origin)),
      merge_ranks_(parse_merges(texts.merges_txt, texts.merges_origin)),
      byte_symbols_(byte_symbols()) {
  PD_CHECK(options_.max_length >= 2, Usage,
           "CLIP tokenizer: max_length must be >= 2, got " << options_.max_length);
  bos_id_ = token_id(options_.bos_token, "bos_token");
  eos_id_ = token_id(options_.eos_token, "eos_token");
  pad_id_ = token_id(options_.pad_token, "pad_token");
  unk_id_ = token_id(options_.unk_token, "unk_token");
}

std::unique_ptr<CLIPBPETokenizer> CLIPBPETokenizer::load(const std::string& folder,
                                                         const io::JsonConfig& config) {
  return load(io::ComponentFiles::on_disk(folder), config);
}

std::unique_ptr<CLIPBPETokenizer> CLIPBPETokenizer::load(const io::ComponentFiles& files,
                                                         const io::JsonConfig& config) {
  for (const char* name : {"vocab.json", "merges.txt"})
    PD_CHECK(files.exists(name), Input,
             files.origin(name) << ": not found; " << config.origin()
                                << " names a CLIPTokenizer, which needs vocab.json and merges.txt");
  CLIPBPEOptions options;
  options.max_length = model_max_length(config);
  options.bos_token = special_token(config, "bos_token", options.bos_token);
  options.eos_token = special_token(config, "eos_token", options.eos_token);
  options.pad_token = special_token(config, "pad_token", options.eos_token);
  options.unk_token = special_token(config, "unk_token", options.unk_token);
  return std::make_unique<CLIPBPETokenizer>(
      CLIPBPETexts{files.read("vocab.json"), files.read("merges.txt"), files.origin("vocab.json"),
                   files.origin("merges.txt")},
      options);
}

int64_t CLIPBPETokenizer::token_id(const std::string& token, const std::string& field) const {
  auto it = vocab_.find(token);
  PD_CHECK(it != vocab_.end(), Input,
           vocab_path_ << ": the " << field << " \"" << token << "\" is not in the vocabulary: "
                       << "fix tokenizer_config.json or use the matching vocab.json");
  return it->second;
}

std::vector<std::string> CLIPBPETokenizer::bpe(const std::string& word) const {
  std::vector<std::string> symbols;
  for (unsigned char byte : word) symbols.push_back(byte_symbols_[byte]);
  if (symbols.empty()) return symbols;
  symbols.back() += "</w>";
  while (symbols.size() > 1) {
    int64_t best_rank = std::numeric_limits<int64_t>::max();
    size_t best = 0;
    for (size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it = merge_ranks_.find(symbols[i] + " " + symbols[i + 1]);
      if (it != merge_ranks_.end() && it->second < best_rank) {
        best_rank = it->second;
        best = i;
      }
    }
    if (best_rank == std::numeric_limits<int64_t>::max()) break;
    const std::string first = symbols[best], second = symbols[best + 1];
    std::vector<std::string> merged;
    merged.reserve(symbols.size());
    for (size_t i = 0; i < symbols.size(); ++i) {
      if (i + 1 < symbols.size() && symbols[i] == first && symbols[i + 1] == second) {
        merged.push_back(first + second);
        ++i;
      } else {
        merged.push_back(symbols[i]);
      }
    }
    symbols.swap(merged);
  }
  return symbols;
}

CLIPBPETokenizer::Encoded CLIPBPETokenizer::encode_word(const std::string& word) const {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    auto it = cache_.find(word);
    if (it != cache_.end()) return it->second;
  }
  Encoded out;
  for (const std::string& piece : bpe(word)) {
    auto it = vocab_.find(piece);
    out.ids.push_back(it != vocab_.end() ? it->second : unk_id_);
    out.num_unknown += it == vocab_.end() ? 1 : 0;
  }
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kMaxCacheEntries) cache_.clear();
  cache_.emplace(word, out);
  return out;
}

TokenSpan CLIPBPETokenizer::tokenize(const std::string& utf8_text) const {
  TokenSpan out;
  for (const std::string& piece :
       clip_pre_tokenize(utf8_text, {options_.bos_token, options_.eos_token})) {
    // simple_tokenizer.py seeds its cache with the two special tokens: they map to their ids.
    if (piece == options_.bos_token || piece == options_.eos_token) {
      out.ids.push_back(piece == options_.bos_token ? bos_id_ : eos_id_);
      continue;
    }
    const Encoded encoded = encode_word(piece);
    out.ids.insert(out.ids.end(), encoded.ids.begin(), encoded.ids.end());
    out.num_unknown += encoded.num_unknown;
  }
  return out;
}

TokenIds CLIPBPETokenizer::encode(const std::string& utf8_text) const {
  const TokenSpan span = tokenize(utf8_text);
  return pack_sequence(span.ids, span.num_unknown, bos_id_, eos_id_, pad_id_, options_.max_length);
}

}  // namespace pangu_draw::tokenizers
