// tokenizer.h: the tokenizer interface (text -> fixed-length ids) and load_tokenizer(), which
// picks the implementation from tokenizer_config.json's tokenizer_class, as transformers does.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pangu_draw::io {
class ComponentFiles;
class JsonConfig;
}

namespace pangu_draw::tokenizers {

struct TokenIds {
  std::vector<int64_t> ids;  // exactly max_length() entries: BOS/CLS, tokens, EOS/SEP, padding
  int64_t num_tokens = 0;    // content tokens before truncation (without BOS/EOS)
  int64_t num_unknown = 0;   // content tokens (before truncation) that mapped to the unknown token
  bool truncated = false;
};

// The content ids of a text, without begin/end tokens, padding or truncation.
struct TokenSpan {
  std::vector<int64_t> ids;
  int64_t num_unknown = 0;
};

// The ids that frame a sequence; begin < 0: the tokenizer has no begin token.
struct SpecialIds {
  int64_t begin = -1, end = 0, pad = 0;
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Thread-safe. Error{Input} when the text is not valid UTF-8.
  virtual TokenIds encode(const std::string& utf8_text) const = 0;
  // The same ids encode() packs, unpacked (for prompts split into chunks by the caller).
  virtual TokenSpan tokenize(const std::string& utf8_text) const = 0;
  virtual SpecialIds special_ids() const = 0;
  virtual int64_t max_length() const = 0;  // tokenizer_config model_max_length
};

// Reads <folder>/tokenizer_config.json: tokenizer_class "CLIPTokenizer" -> CLIP BPE from
// vocab.json + merges.txt; "BertTokenizer" -> WordPiece from vocab.txt; "T5Tokenizer",
// "XLMRobertaTokenizer", "SentencePieceTokenizer" -> SentencePiece (a "Fast" suffix is accepted).
// Unknown class or missing files -> Error{Input} naming the file and listing supported classes.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& folder);
// The same from a model's tokenizer folder, on disk or built into the library (only CLIP
// tokenizers are built in).
std::unique_ptr<Tokenizer> load_tokenizer(const io::ComponentFiles& files);

// --- helpers shared by the implementations ---

// [begin] + content[:room] + [end], then `pad` up to max_length; begin < 0 means no begin token
// (room = max_length - 1 then, else max_length - 2).
TokenIds pack_sequence(const std::vector<int64_t>& content, int64_t num_unknown, int64_t begin,
                       int64_t end, int64_t pad, int64_t max_length);
// A special-token field of tokenizer_config.json: a string or an AddedToken object
// {"content": ...}; `fallback` when absent or null.
std::string special_token(const io::JsonConfig& config, const std::string& key,
                          const std::string& fallback);
// model_max_length, checked to be an int in [2, 1 << 20].
int64_t model_max_length(const io::JsonConfig& config);

}  // namespace pangu_draw::tokenizers
