// spm.cpp: SentencePieceTokenizer and train_sentencepiece over the pd_spm_bridge plug-in, found
// and dlopen()ed (RTLD_LOCAL | RTLD_DEEPBIND keeps sentencepiece's protobuf away from libtorch's).
#include "tokenizers/spm.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>

#include "core/error.h"
#include "io/json_config.h"
#include "tokenizers/spm_bridge.h"

#ifndef PD_SPM_BRIDGE_DEFAULT
#define PD_SPM_BRIDGE_DEFAULT ""
#endif

namespace pangu_draw::tokenizers {

class SpmBridge {
 public:
  explicit SpmBridge(const std::string& path);
  decltype(&pd_spm_load) load = nullptr;
  decltype(&pd_spm_free) free = nullptr;
  decltype(&pd_spm_encode) encode = nullptr;
  decltype(&pd_spm_decode) decode = nullptr;
  decltype(&pd_spm_id_to_piece) id_to_piece = nullptr;
  decltype(&pd_spm_piece_to_id) piece_to_id = nullptr;
  decltype(&pd_spm_vocab_size) vocab_size = nullptr;
  decltype(&pd_spm_special_id) special_id = nullptr;
  decltype(&pd_spm_train) train = nullptr;

 private:
  template <typename F>
  void bind(F& fn, const char* name);
  std::string path_;
  void* handle_ = nullptr;  // never closed: sentencepiece keeps static state
};

namespace {

constexpr size_t kErrSize = 1024;
constexpr const char* kHowToFix =
    "build the pd_spm_bridge target (it wraps libsentencepiece; Debian: libsentencepiece-dev) "
    "and put libpd_spm_bridge.so next to the executable or libpangu_draw.so, or set "
    "PANGU_SPM_BRIDGE to its path";

// One loaded bridge per path (the path is looked up on every call, so $PANGU_SPM_BRIDGE applies).
std::shared_ptr<const SpmBridge> bridge() {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const SpmBridge>> loaded;
  const std::string path = find_spm_bridge();
  PD_CHECK(!path.empty(), Runtime,
           "SentencePiece support: libpd_spm_bridge.so not found ($PANGU_SPM_BRIDGE, next to "
           "the executable or libpangu_draw, "
               << PD_SPM_BRIDGE_DEFAULT << "): " << kHowToFix);
  std::lock_guard<std::mutex> lock(mutex);
  auto it = loaded.find(path);
  if (it == loaded.end()) it = loaded.emplace(path, std::make_shared<const SpmBridge>(path)).first;
  return it->second;
}

std::string executable_dir() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : exe.parent_path().string();
}

// The folder of the binary holding this code (libpangu_draw.so, or the executable itself).
std::string library_dir() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void*>(&executable_dir), &info) == 0 || info.dli_fname == nullptr)
    return "";
  return std::filesystem::path(info.dli_fname).parent_path().string();
}

}  // namespace

SpmBridge::SpmBridge(const std::string& path) : path_(path) {
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
  const char* why = handle_ == nullptr ? dlerror() : nullptr;
  PD_CHECK(handle_ != nullptr, Runtime,
           path << ": cannot load the SentencePiece bridge (" << (why ? why : "?")
                << "): " << kHowToFix);
  decltype(&pd_spm_api_version) version = nullptr;
  bind(version, "pd_spm_api_version");
  PD_CHECK(version() == PD_SPM_BRIDGE_API_VERSION, Runtime,
           path << ": bridge API version " << version() << ", expected "
                << PD_SPM_BRIDGE_API_VERSION << ": rebuild pd_spm_bridge with this engine");
  bind(load, "pd_spm_load");
  bind(free, "pd_spm_free");
  bind(encode, "pd_spm_encode");
  bind(decode, "pd_spm_decode");
  bind(id_to_piece, "pd_spm_id_to_piece");
  bind(piece_to_id, "pd_spm_piece_to_id");
  bind(vocab_size, "pd_spm_vocab_size");
  bind(special_id, "pd_spm_special_id");
  bind(train, "pd_spm_train");
}

template <typename F>
void SpmBridge::bind(F& fn, const char* name) {
  fn = reinterpret_cast<F>(dlsym(handle_, name));
  PD_CHECK(fn != nullptr, Runtime,
           path_ << ": the bridge lacks '" << name << "': rebuild pd_spm_bridge with this engine");
}

std::string find_spm_bridge() {
  namespace fs = std::filesystem;
  const char* env = std::getenv("PANGU_SPM_BRIDGE");
  if (env != nullptr && *env != '\0') return env;  // explicit: a wrong path must fail loudly
  const std::string name = "libpd_spm_bridge.so";
  for (const std::string& dir : {executable_dir(), library_dir()})
    if (!dir.empty() && fs::is_regular_file(fs::path(dir) / name))
      return (fs::path(dir) / name).string();
  const std::string fallback = PD_SPM_BRIDGE_DEFAULT;
  if (!fallback.empty() && fs::is_regular_file(fallback)) return fallback;
  return "";
}

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path,
                                               SentencePieceOptions options)
    : bridge_(bridge()), model_path_(model_path), options_(std::move(options)) {
  PD_CHECK(options_.max_length >= 2, Usage,
           "SentencePiece tokenizer: max_length must be >= 2, got " << options_.max_length);
  char err[kErrSize] = {0};
  PdSpmModel* model = nullptr;
  PD_CHECK(bridge_->load(model_path.c_str(), &model, err, kErrSize) == 0, Input,
           model_path << ": not a readable SentencePiece model (" << err
                      << "): check the file or re-download the tokenizer");
  model_ = model;
  try {
    unk_id_ = bridge_->special_id(model, 0);
    if (!options_.bos_token.empty()) bos_id_ = special_id(options_.bos_token, "bos_token");
    eos_id_ = special_id(options_.eos_token, "eos_token");
    pad_id_ = special_id(options_.pad_token, "pad_token");
  } catch (...) {  // no destructor runs for a throwing constructor: free the model here
    bridge_->free(model);
    throw;
  }
}

SentencePieceTokenizer::~SentencePieceTokenizer() {
  if (model_ != nullptr) bridge_->free(static_cast<PdSpmModel*>(model_));
}

std::unique_ptr<SentencePieceTokenizer> SentencePieceTokenizer::load(const std::string& folder,
                                                                     const io::JsonConfig& config) {
  namespace fs = std::filesystem;
  std::vector<std::string> candidates = {"spiece.model", "sentencepiece.bpe.model"};
  if (config.has("model_file")) candidates = {config.get_string("model_file")};
  std::string model_path;
  for (const std::string& name : candidates)
    if (model_path.empty() && fs::is_regular_file(fs::path(folder) / name))
      model_path = (fs::path(folder) / name).string();
  PD_CHECK(!model_path.empty(), Input,
           folder << ": no SentencePiece model (looked for " << candidates.front()
                  << (candidates.size() > 1 ? " and " + candidates.back() : std::string()) << "); "
                  << config.origin() << " names a SentencePiece tokenizer_class: add "
                  << "the model file or set 'model_file'");
  SentencePieceOptions options;
  options.max_length = model_max_length(config);
  options.bos_token = special_token(config, "bos_token", "");
  options.eos_token = special_token(config, "eos_token", options.eos_token);
  options.pad_token = special_token(config, "pad_token", options.pad_token);
  return std::make_unique<SentencePieceTokenizer>(model_path, options);
}

int64_t SentencePieceTokenizer::special_id(const std::string& token,
                                           const std::string& field) const {
  const int32_t id = bridge_->piece_to_id(static_cast<const PdSpmModel*>(model_), token.c_str());
  PD_CHECK(id != unk_id_ || token == id_to_piece(unk_id_), Input,
           model_path_ << ": the " << field << " \"" << token << "\" is not a piece of the model: "
                       << "fix tokenizer_config.json or use the matching model file");
  return id;
}

std::vector<int64_t> SentencePieceTokenizer::encode_pieces(const std::string& utf8_text) const {
  const auto* model = static_cast<const PdSpmModel*>(model_);
  std::vector<int32_t> ids(utf8_text.size() + 8);
  size_t count = 0;
  char err[kErrSize] = {0};
  for (int attempt = 0; attempt < 2; ++attempt) {
    PD_CHECK(bridge_->encode(model, utf8_text.data(), utf8_text.size(), ids.data(), ids.size(),
                             &count, err, kErrSize) == 0,
             Input, "prompt: SentencePiece cannot encode it (" << err << ")");
    if (count <= ids.size()) break;
    ids.resize(count);
  }
  return std::vector<int64_t>(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(count));
}

TokenSpan SentencePieceTokenizer::tokenize(const std::string& utf8_text) const {
  TokenSpan out;
  out.ids = encode_pieces(utf8_text);
  for (int64_t id : out.ids) out.num_unknown += id == unk_id_ ? 1 : 0;
  return out;
}

TokenIds SentencePieceTokenizer::encode(const std::string& utf8_text) const {
  const TokenSpan span = tokenize(utf8_text);
  return pack_sequence(span.ids, span.num_unknown, bos_id_, eos_id_, pad_id_, options_.max_length);
}

std::string SentencePieceTokenizer::decode(const std::vector<int64_t>& ids) const {
  const std::vector<int32_t> narrow(ids.begin(), ids.end());
  std::string text(ids.size() * 8 + 16, '\0');
  size_t size = 0;
  char err[kErrSize] = {0};
  for (int attempt = 0; attempt < 2; ++attempt) {
    PD_CHECK(bridge_->decode(static_cast<const PdSpmModel*>(model_), narrow.data(), narrow.size(),
                             text.data(), text.size(), &size, err, kErrSize) == 0,
             Input, model_path_ << ": cannot decode the ids (" << err << ")");
    if (size <= text.size()) break;
    text.resize(size);
  }
  text.resize(size);
  return text;
}

std::string SentencePieceTokenizer::id_to_piece(int64_t id) const {
  std::string piece(64, '\0');
  size_t size = 0;
  const auto* model = static_cast<const PdSpmModel*>(model_);
  PD_CHECK(
      bridge_->id_to_piece(model, int32_t(id), piece.data(), piece.size(), &size) == 0, Usage,
      model_path_ << ": id " << id << " is outside the vocabulary [0, " << vocab_size() << ")");
  if (size > piece.size()) {
    piece.resize(size);
    bridge_->id_to_piece(model, int32_t(id), piece.data(), piece.size(), &size);
  }
  piece.resize(size);
  return piece;
}

int64_t SentencePieceTokenizer::piece_to_id(const std::string& piece) const {
  return bridge_->piece_to_id(static_cast<const PdSpmModel*>(model_), piece.c_str());
}

int64_t SentencePieceTokenizer::vocab_size() const {
  return bridge_->vocab_size(static_cast<const PdSpmModel*>(model_));
}

void train_sentencepiece(const std::string& input_path, const std::string& model_prefix,
                         const SentencePieceTrainOptions& options) {
  PD_CHECK(std::filesystem::is_regular_file(input_path), Input,
           input_path << ": training text not found: pass a UTF-8 file, one sentence per line");
  std::string extra;
  for (const std::string& flag : options.extra_flags) extra += flag + "\n";
  char err[kErrSize] = {0};
  PD_CHECK(bridge()->train(input_path.c_str(), model_prefix.c_str(), int32_t(options.vocab_size),
                           options.model_type.c_str(), options.character_coverage, extra.c_str(),
                           err, kErrSize) == 0,
           Input,
           input_path << ": SentencePiece training failed (" << err << "): check the text, "
                      << "vocab_size " << options.vocab_size << " and model_type \""
                      << options.model_type << "\"");
}

}  // namespace pangu_draw::tokenizers
