// tokenizer.cpp: load_tokenizer() dispatch on tokenizer_config.json's tokenizer_class, and the
// sequence packing (begin + truncated content + end + padding) every implementation shares.
#include "tokenizers/tokenizer.h"

#include <algorithm>
#include <filesystem>

#include "core/error.h"
#include "io/component_files.h"
#include "io/json_config.h"
#include "tokenizers/clip_bpe.h"
#include "tokenizers/spm.h"
#include "tokenizers/wordpiece.h"

namespace pangu_draw::tokenizers {
namespace {

constexpr const char* kSupportedClasses =
    "CLIPTokenizer, BertTokenizer, T5Tokenizer, XLMRobertaTokenizer, SentencePieceTokenizer";

std::string strip_fast_suffix(const std::string& name) {
  const std::string suffix = "Fast";
  if (name.size() > suffix.size() &&
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
    return name.substr(0, name.size() - suffix.size());
  return name;
}

}  // namespace

TokenIds pack_sequence(const std::vector<int64_t>& content, int64_t num_unknown, int64_t begin,
                       int64_t end, int64_t pad, int64_t max_length) {
  TokenIds out;
  const int64_t specials = begin >= 0 ? 2 : 1;
  const auto room = static_cast<size_t>(std::max<int64_t>(max_length - specials, 0));
  const size_t kept = std::min(content.size(), room);
  out.ids.reserve(static_cast<size_t>(max_length));
  if (begin >= 0) out.ids.push_back(begin);
  out.ids.insert(out.ids.end(), content.begin(), content.begin() + static_cast<ptrdiff_t>(kept));
  out.ids.push_back(end);
  out.ids.resize(static_cast<size_t>(max_length), pad);
  out.num_tokens = static_cast<int64_t>(content.size());
  out.num_unknown = num_unknown;
  out.truncated = kept < content.size();
  return out;
}

std::string special_token(const io::JsonConfig& config, const std::string& key,
                          const std::string& fallback) {
  if (!config.has(key)) return fallback;
  const nlohmann::json& value = config.raw().at(key);
  if (value.is_string()) return value.get<std::string>();
  PD_CHECK(value.is_object() && value.contains("content") && value["content"].is_string(), Input,
           config.origin() << ": '" << key << "' must be a string or an object with a string "
                           << "'content', got " << value.dump() << ": fix the tokenizer config");
  return value["content"].get<std::string>();
}

int64_t model_max_length(const io::JsonConfig& config) {
  PD_CHECK(
      config.has("model_max_length") && config.raw().at("model_max_length").is_number_integer(),
      Input,
      config.origin() << ": 'model_max_length' must be an integer (the text encoder's "
                      << "number of positions, e.g. 77): add it to the tokenizer config");
  const int64_t n = config.get_int("model_max_length");
  PD_CHECK(n >= 2 && n <= (int64_t(1) << 20), Input,
           config.origin() << ": 'model_max_length' must be in [2, 1048576], got " << n
                           << ": set it to the text encoder's number of positions");
  return n;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& folder) {
  const std::string config_path =
      (std::filesystem::path(folder) / "tokenizer_config.json").string();
  PD_CHECK(std::filesystem::is_regular_file(config_path), Input,
           config_path << ": not found; a tokenizer folder needs tokenizer_config.json with a "
                       << "'tokenizer_class' (supported: " << kSupportedClasses << ")");
  const io::JsonConfig config = io::JsonConfig::load(config_path);
  const std::string cls = strip_fast_suffix(config.get_string("tokenizer_class"));
  if (cls == "CLIPTokenizer") return CLIPBPETokenizer::load(folder, config);
  if (cls == "BertTokenizer") return WordPieceTokenizer::load(folder, config);
  if (cls == "T5Tokenizer" || cls == "XLMRobertaTokenizer" || cls == "SentencePieceTokenizer")
    return SentencePieceTokenizer::load(folder, config);
  PD_FAIL(Input, config_path << ": 'tokenizer_class' is \"" << cls << "\", which is not "
                             << "supported; expected one of: " << kSupportedClasses);
}

std::unique_ptr<Tokenizer> load_tokenizer(const io::ComponentFiles& files) {
  if (!files.is_builtin()) return load_tokenizer(files.disk_folder());
  const io::JsonConfig config = files.json("tokenizer_config.json");
  const std::string cls = strip_fast_suffix(config.get_string("tokenizer_class"));
  PD_CHECK(cls == "CLIPTokenizer", Input,
           config.origin() << ": only CLIPTokenizer is built in, found \"" << cls << "\"");
  return CLIPBPETokenizer::load(files, config);
}

}  // namespace pangu_draw::tokenizers
