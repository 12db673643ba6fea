// cli_recipe.cpp: the A1111-recipe flags and the LoRA / embedding files they name (see
// cli_recipe.h). The library gets bytes; only the CLI opens paths.
#include "cli_recipe.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <system_error>

#include "batch_items.h"

namespace pangu_draw::cli {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Files are read once per process: a batch reuses them for every item.
std::mutex g_cache_mutex;
std::map<std::string, Bytes> g_files;
std::map<std::string, std::vector<Embedding>> g_embedding_dirs;

Bytes cached_read(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  auto it = g_files.find(path);
  if (it == g_files.end()) it = g_files.emplace(path, read_file(path)).first;
  return it->second;
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

// A pending LoRA (its path in `name`) read in: name = the file's stem.
void read_pending(Lora& lora) {
  const std::string path = lora.name;
  if (is_pickle_path(path)) refuse_pickle(path, "--lora");
  if (!is_file(path)) {
    throw Error(ErrorKind::Input, "--lora " + path + ": no such file; give the path of a LoRA .safetensors file");
  }
  lora.safetensors = cached_read(path);
  lora.name = fs::path(path).stem().string();
}

// DIR/name.safetensors for a prompt tag; a pickle of that name is refused, not skipped.
Lora tag_lora(const std::string& name, const std::string& dir) {
  const std::string tag = "<lora:" + name + ":...>";
  if (dir.empty()) {
    throw Error(ErrorKind::Usage, "the prompt names the LoRA '" + name + "' (" + tag +
                                      "); pass --lora-dir DIR with " + name +
                                      ".safetensors in it, or --lora FILE");
  }
  const fs::path file = fs::path(dir) / (name + ".safetensors");
  if (!is_file(file)) {
    for (const char* ext : {".pt", ".ckpt", ".bin", ".pth"}) {
      const fs::path pickle = fs::path(dir) / (name + ext);
      if (is_file(pickle)) refuse_pickle(pickle.string(), "the LoRA tag " + tag);
    }
    throw Error(ErrorKind::Input, "LoRA '" + name + "' (" + tag + " in the prompt) not found: " +
                                      file.string() + " does not exist; put the LoRA there or fix the tag");
  }
  return Lora{name, 0.0f, cached_read(file.string())};
}

std::vector<fs::path> sorted_files(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) throw Error(ErrorKind::Input, "--embedding-dir " + dir + ": cannot list the folder: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

// Every *.safetensors under `dir` (a single .safetensors file is taken as it is); pickles are
// skipped with one warning, a name seen twice keeps its first file.
std::vector<Embedding> scan_embeddings(const std::string& dir) {
  if (is_pickle_path(dir) && is_file(dir)) refuse_pickle(dir, "--embedding-dir");
  std::error_code ec;
  if (is_file(dir) && lower(fs::path(dir).extension().string()) == ".safetensors") {
    return {Embedding{fs::path(dir).stem().string(), read_file(dir)}};
  }
  if (!fs::is_directory(dir, ec)) {
    throw Error(ErrorKind::Input, "--embedding-dir " + dir + ": not a folder; give the folder that holds the "
                                                             "embeddings' .safetensors files");
  }
  std::vector<Embedding> out;
  std::set<std::string> names;
  std::string pickles, twice;
  for (const fs::path& p : sorted_files(dir)) {
    const std::string ext = lower(p.extension().string());
    if (is_pickle_path(p.string())) {
      pickles += (pickles.empty() ? "" : ", ") + p.lexically_relative(dir).string();
    } else if (ext == ".safetensors") {
      const std::string name = p.stem().string();
      if (!names.insert(name).second) {
        twice += (twice.empty() ? "" : ", ") + p.lexically_relative(dir).string();
        continue;
      }
      out.push_back(Embedding{name, read_file(p.string())});
    }
  }
  if (!pickles.empty()) {
    warn("--embedding-dir " + dir + ": skipped " + pickles + ": pickled embeddings (.pt, .bin, .ckpt) are "
         "never loaded, since unpickling a file can run any code in it; convert them to .safetensors");
  }
  if (!twice.empty()) warn("--embedding-dir " + dir + ": " + twice + ": a name seen twice; the first file is used");
  return out;
}

std::vector<Embedding> embeddings_of(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_cache_mutex);
  auto it = g_embedding_dirs.find(dir);
  if (it == g_embedding_dirs.end()) it = g_embedding_dirs.emplace(dir, scan_embeddings(dir)).first;
  return it->second;
}

}  // namespace

void warn(const std::string& message) { std::fprintf(stderr, "[warning] %s\n", message.c_str()); }

bool is_pickle_path(const std::string& path) {
  const std::string ext = lower(fs::path(path).extension().string());
  return ext == ".pt" || ext == ".pth" || ext == ".bin" || ext == ".ckpt" || ext == ".pkl";
}

void refuse_pickle(const std::string& path, const std::string& what) {
  throw Error(ErrorKind::Input, what + " " + path + ": pickled files (.pt, .pth, .bin, .ckpt) are never "
                                       "loaded, since unpickling a file can run any code in it; convert "
                                       "it to .safetensors (or download the .safetensors version)");
}

void add_recipe_flags(CLI::App& cmd, GenerateArgs& a) {
  auto& r = a.request;
  cmd.add_option("--prompt-syntax", r.prompt_syntax,
                 "a1111: (word:1.2), [word], BREAK, <lora:name:w> tags, prompts of any length; "
                 "plain: the text as it is")
      ->check(CLI::IsMember({"a1111", "plain"}))->capture_default_str()->group("Prompt");
  cmd.add_option("--clip-skip", r.clip_skip,
                 "A1111's Clip skip: 1 = the text encoder's last layer, 2 = the penultimate, ... "
                 "(0 = the model's own)")
      ->check(CLI::NonNegativeNumber)->capture_default_str()->group("Prompt");
  cmd.add_option_function<std::vector<std::string>>(
         "--lora",
         [&r](const std::vector<std::string>& specs) {
           try {
             for (const auto& s : specs) r.loras.push_back(parse_lora_spec(s, "--lora"));
           } catch (const Error& e) {
             throw CLI::ValidationError(e.what());
           }
         },
         "FILE[:weight] a LoRA / LyCORIS .safetensors (weight 1 by default); repeatable")
      ->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)->group("Prompt");
  cmd.add_option("--lora-dir", a.lora_dir, "Folder where prompt tags <lora:name:w> find name.safetensors")
      ->group("Prompt");
  cmd.add_option("--embedding-dir", a.embedding_dir,
                 "Folder of textual-inversion embeddings (.safetensors), used by name in prompts")
      ->group("Prompt");
}

void resolve_recipe_files(const GenerateArgs& a, Request& r) {
  for (Lora& lora : r.loras) {
    if (!lora.safetensors) read_pending(lora);
  }
  if (r.prompt_syntax != "plain") {
    // A1111 reads the tags of the prompt only (a negative prompt's stay text).
    for (const std::string& name : pangu_draw::lora_tag_names(r.prompt)) {
      const bool given = std::any_of(r.loras.begin(), r.loras.end(),
                                     [&](const Lora& l) { return l.name == name; });
      if (!given) r.loras.push_back(tag_lora(name, a.lora_dir));
    }
  }
  if (!a.embedding_dir.empty()) {
    for (auto& e : embeddings_of(a.embedding_dir)) r.embeddings.push_back(std::move(e));
  }
}

}  // namespace pangu_draw::cli
