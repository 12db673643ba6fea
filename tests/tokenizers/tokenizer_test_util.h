// tokenizer_test_util.h: helpers for the tokenizer tests: the tokenizer folders of a fixture
// model, temp folders with a given tokenizer_config.json, and error-kind assertions.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "pangu_draw/pangu_draw.h"
#include "support/fixtures.h"

namespace pangu_draw::tokenizers::test {

// model/tokenizer, model/tokenizer_2, ... in that order (the order of tokens.json's id lists).
inline std::vector<std::string> tokenizer_folders(const std::string& set) {
  std::vector<std::string> out;
  const std::filesystem::path model = testing::model_dir(set);
  for (int i = 1;; ++i) {
    const auto folder = model / (i == 1 ? "tokenizer" : "tokenizer_" + std::to_string(i));
    if (!std::filesystem::is_directory(folder)) break;
    out.push_back(folder.string());
  }
  return out;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// Runs `fn`, expects an Error of `kind` whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& fn, ErrorKind kind,
                         const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind, kind) << e.what();
    for (const std::string& part : parts)
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos)
          << "'" << part << "' missing from: " << e.what();
  }
}

}  // namespace pangu_draw::tokenizers::test
