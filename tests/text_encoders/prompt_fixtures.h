// prompt_fixtures.h: what the prompt tests share: the Python reference's cases and tensors
// (tests/text_encoders/data), embedding files, and the fixture conditioners with the reference's
// final-layer-norm parameters.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/model_layout.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "text_encoders/conditioner.h"
#include "tokenizers/tokenizer.h"

namespace pangu_draw::testing::prompts {

namespace te = pangu_draw::text_encoders;
namespace fx = pangu_draw::testing;

inline const std::string kData = PD_PROMPT_DATA_DIR;

inline std::shared_ptr<const std::vector<uint8_t>> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << path;
  return std::make_shared<const std::vector<uint8_t>>(std::istreambuf_iterator<char>(in),
                                                      std::istreambuf_iterator<char>());
}

inline std::shared_ptr<const std::vector<uint8_t>> tensors_bytes(
    const pangu_draw::io::NamedTensors& t) {
  const std::string s = pangu_draw::io::safetensors_bytes(t);
  return std::make_shared<const std::vector<uint8_t>>(s.begin(), s.end());
}

inline const nlohmann::json& references() {
  static const nlohmann::json ref = fx::read_json(kData + "/prompt_references.json");
  return ref;
}

inline const pangu_draw::io::SafetensorsFile& reference_tensors() {
  static const auto f =
      pangu_draw::io::SafetensorsFile::open(kData + "/prompt_references.safetensors");
  return *f;
}

// The fixture model's conditioner with the final layer norms of the reference (the fixture's
// are the identity, which leaves last-layer states with a zero mean: A1111's mean restoration
// is then 0/0; make_prompt_references.py, make_norm_patch).
inline std::shared_ptr<const te::Conditioner> load_patched(
    const std::string& set, torch::ScalarType dtype = torch::kFloat) {
  const auto layout = pangu_draw::io::ModelLayout::open(fx::model_dir(set));
  std::vector<std::string> folders;
  for (const char* f : {"text_encoder", "text_encoder_2"}) {
    if (layout.has(f)) folders.push_back(f);
  }
  auto config = te::conditioner_config_from(layout.model_index(), folders);
  const auto patch = pangu_draw::io::SafetensorsFile::open(kData + "/final_norm_patch.safetensors");
  std::vector<std::unique_ptr<pangu_draw::tokenizers::Tokenizer>> toks;
  std::vector<te::CLIPTextModel> encs;
  torch::NoGradGuard no_grad;
  for (const auto& spec : config.encoders) {
    toks.push_back(pangu_draw::tokenizers::load_tokenizer(layout.files(spec.tokenizer)));
    encs.push_back(
        te::load_clip_text(layout.config(spec.encoder), layout.weights(spec.encoder), dtype));
    auto& norm = encs.back()->text_model->final_layer_norm;
    norm->weight.copy_(patch->load(set + "." + spec.encoder + ".weight"));
    norm->bias.copy_(patch->load(set + "." + spec.encoder + ".bias"));
  }
  return std::make_shared<const te::Conditioner>(std::move(config), std::move(toks),
                                                 std::move(encs));
}

inline std::shared_ptr<const te::Conditioner> conditioner(const std::string& set) {
  static std::map<std::string, std::shared_ptr<const te::Conditioner>> cache;
  auto& c = cache[set];
  if (!c) c = load_patched(set);
  return c;
}

inline te::PromptOptions options_for(const nlohmann::json& c, const te::Conditioner& cond) {
  te::PromptOptions o;
  o.syntax = te::parse_prompt_syntax(c["syntax"].get<std::string>());
  o.clip_skip = c["clip_skip"].get<int>();
  std::vector<te::EmbeddingFile> files;
  for (const auto& name : c["embeddings"]) {
    const std::string n = name.get<std::string>();
    files.push_back(
        {n, file_bytes(kData + "/" + references()["embeddings"][n].get<std::string>())});
  }
  o.embeddings = cond.read_embeddings(files);
  return o;
}

}  // namespace pangu_draw::testing::prompts
