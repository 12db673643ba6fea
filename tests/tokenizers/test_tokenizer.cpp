// test_tokenizer.cpp: load_tokenizer over every fixture model's tokenizer folders reproduces
// reference/tokens.json exactly (diffusers / openai CLIP / Chinese-CLIP ids); truncation; errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "io/json_config.h"
#include "tokenizers/tokenizer.h"
#include "tokenizers/tokenizer_test_util.h"

namespace pangu_draw::tokenizers {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::tokenizer_folders;
using test::write_text;

std::vector<int64_t> as_ids(const nlohmann::json& list) { return list.get<std::vector<int64_t>>(); }

TEST(Tokenizer, FixtureIdsMatchReference) {
  int checked = 0;
  for (const std::string& set : testing::fixture_sets()) {
    const nlohmann::json tokens = testing::tokens(set);
    const std::vector<std::string> folders = tokenizer_folders(set);
    ASSERT_FALSE(folders.empty()) << set;
    for (size_t k = 0; k < folders.size(); ++k) {
      const auto tokenizer = load_tokenizer(folders[k]);
      for (const auto& prompt : tokens["prompts"]) {
        const std::string text = prompt.get<std::string>();
        const auto& expected = tokens["token_ids"][text];
        ASSERT_EQ(expected.size(), folders.size()) << set << ": one id list per tokenizer";
        const TokenIds got = tokenizer->encode(text);
        ASSERT_EQ(int64_t(got.ids.size()), tokenizer->max_length());
        EXPECT_EQ(got.ids, as_ids(expected[k]))
            << set << " " << folders[k] << ": \"" << text << "\"";
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 20);
}

// The reference's content length: positions between the begin token and the first end token.
int64_t reference_content_length(const std::vector<int64_t>& ids, int64_t end_id) {
  for (size_t i = 1; i < ids.size(); ++i)
    if (ids[i] == end_id) return int64_t(i) - 1;
  return -1;
}

TEST(Tokenizer, TruncationKeepsEndTokenLast) {
  int truncated = 0;
  for (const std::string& set : testing::fixture_sets()) {
    const nlohmann::json tokens = testing::tokens(set);  // kept alive: the loop reads into it
    for (const std::string& folder : tokenizer_folders(set)) {
      const auto tokenizer = load_tokenizer(folder);
      const int64_t end_id = tokenizer->encode("").ids[1];  // "" -> begin, end, padding
      for (const auto& prompt : tokens["prompts"]) {
        const TokenIds got = tokenizer->encode(prompt.get<std::string>());
        const int64_t n = reference_content_length(got.ids, end_id);
        if (got.truncated) {
          ++truncated;
          EXPECT_GT(got.num_tokens, tokenizer->max_length() - 2) << folder;
          EXPECT_EQ(got.ids.back(), end_id) << folder;
          EXPECT_EQ(n, tokenizer->max_length() - 2) << folder;
        } else {
          EXPECT_EQ(got.num_tokens, n) << folder << ": " << prompt;
        }
      }
    }
  }
  EXPECT_GT(truncated, 0) << "the fixtures promise an over-long prompt";
}

TEST(Tokenizer, EncodeIsThreadSafe) {
  const std::string folder = tokenizer_folders(testing::fixture_sets().front()).back();
  const auto tokenizer = load_tokenizer(folder);
  std::vector<std::string> prompts;
  const nlohmann::json tokens = testing::tokens(testing::fixture_sets().front());
  for (const auto& p : tokens["prompts"]) prompts.push_back(p.get<std::string>());
  ASSERT_GE(prompts.size(), 5u);
  std::vector<std::vector<int64_t>> expected;
  for (const auto& p : prompts) expected.push_back(tokenizer->encode(p).ids);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int round = 0; round < 20; ++round)
        for (size_t i = 0; i < prompts.size(); ++i)
          mismatches[t] += tokenizer->encode(prompts[i]).ids != expected[i];
    });
  for (auto& thread : threads) thread.join();
  for (int m : mismatches) EXPECT_EQ(m, 0);
}

TEST(Tokenizer, PackSequence) {
  const TokenIds a = pack_sequence({5, 6, 7}, 1, 1, 2, 0, 6);
  EXPECT_EQ(a.ids, (std::vector<int64_t>{1, 5, 6, 7, 2, 0}));
  EXPECT_FALSE(a.truncated);
  EXPECT_EQ(a.num_tokens, 3);
  EXPECT_EQ(a.num_unknown, 1);
  const TokenIds b = pack_sequence({5, 6, 7, 8, 9}, 0, -1, 2, 0, 4);  // no begin token
  EXPECT_EQ(b.ids, (std::vector<int64_t>{5, 6, 7, 2}));
  EXPECT_TRUE(b.truncated);
}

class TokenizerErrors : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::temp_dir("tokenizer_errors"); }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(TokenizerErrors, MissingConfig) {
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input,
               {"tokenizer_config.json", "not found", "CLIPTokenizer"});
}

TEST_F(TokenizerErrors, UnknownClass) {
  write_text(dir_ + "/tokenizer_config.json",
             R"({"tokenizer_class": "GPT2Tokenizer", "model_max_length": 77})");
  expect_error(
      [&] { load_tokenizer(dir_); }, ErrorKind::Input,
      {"tokenizer_config.json", "GPT2Tokenizer", "CLIPTokenizer", "BertTokenizer", "T5Tokenizer"});
}

TEST_F(TokenizerErrors, MissingClassField) {
  write_text(dir_ + "/tokenizer_config.json", R"({"model_max_length": 77})");
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input, {"tokenizer_class"});
}

TEST_F(TokenizerErrors, BadMaxLength) {
  write_text(dir_ + "/tokenizer_config.json",
             R"({"tokenizer_class": "BertTokenizer", "model_max_length": 1e30})");
  write_text(dir_ + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n");
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input, {"model_max_length", "integer"});
}

TEST_F(TokenizerErrors, SpecialTokenObjectAccepted) {
  write_text(dir_ + "/tokenizer_config.json",
             R"({"tokenizer_class": "BertTokenizerFast", "model_max_length": 5,
                 "unk_token": {"__type": "AddedToken", "content": "[UNK]"}})");
  write_text(dir_ + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\nab\n");
  const TokenIds got = load_tokenizer(dir_)->encode("ab xy");
  EXPECT_EQ(got.ids, (std::vector<int64_t>{2, 4, 1, 3, 0}));
  EXPECT_EQ(got.num_unknown, 1);
}

}  // namespace
}  // namespace pangu_draw::tokenizers
