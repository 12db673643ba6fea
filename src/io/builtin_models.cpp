// builtin_models.cpp: lookups in the embedded file table (builtin_models_data.h).
#include "io/builtin_models.h"

#include <set>

#include "io/builtin_models_data.h"

namespace pangu_draw::io {

namespace {

constexpr std::string_view kVocabFolder = "clip_tokenizer/";

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::optional<std::string_view> lookup(std::string_view path) {
  for (size_t i = 0; i < builtin_data::kFileCount; ++i) {
    if (builtin_data::kFiles[i].path == path) return builtin_data::kFiles[i].text;
  }
  return std::nullopt;
}

}  // namespace

std::vector<std::string> builtin_sets() {
  std::set<std::string> sets;
  for (size_t i = 0; i < builtin_data::kFileCount; ++i) {
    const std::string_view p = builtin_data::kFiles[i].path;
    if (starts_with(p, kVocabFolder)) continue;
    sets.insert(std::string(p.substr(0, p.find('/'))));
  }
  return {sets.begin(), sets.end()};
}

std::optional<std::string_view> builtin_file(const std::string& path) {
  if (starts_with(path, kVocabFolder)) return std::nullopt;  // only through a tokenizer folder
  if (auto text = lookup(path)) return text;
  // <set>/tokenizer*/vocab.json | merges.txt -> the shared vocabulary, for existing folders only.
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  const std::string folder = path.substr(0, slash), name = path.substr(slash + 1);
  const size_t first = folder.find('/');
  const bool tokenizer = first != std::string::npos && starts_with(folder.substr(first + 1), "tokenizer");
  if (!tokenizer || (name != "vocab.json" && name != "merges.txt") || !builtin_has_folder(folder))
    return std::nullopt;
  return lookup(std::string(kVocabFolder) + name);
}

bool builtin_has_folder(const std::string& folder) {
  if (folder.empty() || starts_with(folder, kVocabFolder)) return false;
  const std::string prefix = folder + "/";
  for (size_t i = 0; i < builtin_data::kFileCount; ++i) {
    if (starts_with(builtin_data::kFiles[i].path, prefix)) return true;
  }
  return false;
}

}  // namespace pangu_draw::io
