// test_spm.cpp: SentencePiece through the pd_spm_bridge plug-in: train a tiny bilingual model
// from generated text, load it with load_tokenizer, encode/decode, unknowns, and error paths.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tokenizers/spm.h"
#include "tokenizers/tokenizer_test_util.h"

namespace pangu_draw::tokenizers {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::write_text;

// A few hundred English and Chinese caption-like lines from small word lists.
std::string training_text() {
  const std::vector<std::string> adjectives = {"red", "small", "happy", "old", "bright", "quiet"};
  const std::vector<std::string> nouns = {"cat", "house", "river", "mountain", "panda", "bridge"};
  const std::vector<std::string> places = {"forest", "city", "garden", "lake", "desert"};
  const std::vector<std::string> zh_adj = {"红色", "小", "快乐", "古老", "明亮", "安静"};
  const std::vector<std::string> zh_noun = {"猫", "房子", "河流", "山", "熊猫", "桥"};
  const std::vector<std::string> zh_place = {"森林", "城市", "花园", "湖边", "沙漠"};
  std::string text;
  for (size_t a = 0; a < adjectives.size(); ++a)
    for (size_t n = 0; n < nouns.size(); ++n)
      for (size_t p = 0; p < places.size(); ++p) {
        text += "a photo of a " + adjectives[a] + " " + nouns[n] + " in the " + places[p] + "\n";
        text += "一只" + zh_adj[a] + "的" + zh_noun[n] + "在" + zh_place[p] + "里\n";
      }
  return text;
}

class SentencePiece : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::temp_dir("spm"));
    write_text(*dir_ + "/train.txt", training_text());
    SentencePieceTrainOptions options;
    options.vocab_size = 100;
    options.model_type = "unigram";
    options.character_coverage = 1.0;
    options.extra_flags = {"pad_id=0", "eos_id=1", "unk_id=2", "bos_id=-1"};  // T5's layout
    train_sentencepiece(*dir_ + "/train.txt", *dir_ + "/tiny", options);
    write_text(*dir_ + "/tokenizer_config.json",
               R"({"tokenizer_class": "T5Tokenizer", "model_max_length": 16,
                   "model_file": "tiny.model", "eos_token": "</s>", "pad_token": "<pad>"})");
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string* dir_;
};
std::string* SentencePiece::dir_ = nullptr;

TEST_F(SentencePiece, TrainLoadEncodeDecode) {
  ASSERT_TRUE(fs::exists(*dir_ + "/tiny.model"));
  const auto tokenizer = load_tokenizer(*dir_);
  const auto* spm = dynamic_cast<const SentencePieceTokenizer*>(tokenizer.get());
  ASSERT_NE(spm, nullptr);
  EXPECT_EQ(spm->vocab_size(), 100);
  EXPECT_EQ(spm->unk_id(), 2);
  for (const std::string text :
       {"a photo of a happy panda in the lake", "一只快乐的熊猫在湖边里"}) {
    const std::vector<int64_t> ids = spm->encode_pieces(text);
    ASSERT_FALSE(ids.empty());
    EXPECT_EQ(spm->decode(ids), text);
    // The pieces spell the text with U+2581 for spaces (and the dummy prefix).
    std::string joined;
    for (int64_t id : ids) joined += spm->id_to_piece(id);
    for (size_t at; (at = joined.find("\u2581")) != std::string::npos;) joined.replace(at, 3, " ");
    EXPECT_EQ(joined, std::string(" ").append(text));
    const TokenIds packed = tokenizer->encode(text);
    ASSERT_EQ(packed.ids.size(), 16u);
    EXPECT_EQ(packed.num_unknown, 0) << text;
    EXPECT_EQ(packed.num_tokens, int64_t(ids.size()));
    if (!packed.truncated) {
      EXPECT_EQ(std::vector<int64_t>(packed.ids.begin(), packed.ids.begin() + ids.size()), ids);
      EXPECT_EQ(packed.ids[ids.size()], 1);  // </s>, then <pad> = 0
      EXPECT_EQ(packed.ids.back(), 0);
    }
  }
}

TEST_F(SentencePiece, UnseenScriptIsUnknown) {
  const auto tokenizer = load_tokenizer(*dir_);
  const TokenIds got = tokenizer->encode("\u1230\u120b\u121d \u0436\u0443\u043a");
  EXPECT_GT(got.num_unknown, 0);
  EXPECT_EQ(tokenizer->encode("a red cat").num_unknown, 0);
}

TEST_F(SentencePiece, TruncationKeepsEos) {
  const auto tokenizer = load_tokenizer(*dir_);
  std::string text;
  for (int i = 0; i < 10; ++i) text += "a photo of a quiet bridge in the desert ";
  const TokenIds got = tokenizer->encode(text);
  EXPECT_TRUE(got.truncated);
  EXPECT_EQ(got.ids.back(), 1);
  EXPECT_GT(got.num_tokens, 15);
}

TEST_F(SentencePiece, MissingModelFile) {
  const std::string dir = testing::temp_dir("spm_missing");
  write_text(dir + "/tokenizer_config.json",
             R"({"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 77})");
  expect_error([&] { load_tokenizer(dir); }, ErrorKind::Input,
               {"spiece.model", "sentencepiece.bpe.model", "model_file"});
  write_text(dir + "/spiece.model", "not a model");
  expect_error([&] { load_tokenizer(dir); }, ErrorKind::Input, {"spiece.model", "SentencePiece"});
  fs::remove_all(dir);
}

TEST_F(SentencePiece, MissingBridgeSaysHowToFix) {
  setenv("PANGU_SPM_BRIDGE", "/nonexistent/libpd_spm_bridge.so", 1);
  expect_error([&] { load_tokenizer(*dir_); }, ErrorKind::Runtime,
               {"/nonexistent/libpd_spm_bridge.so", "PANGU_SPM_BRIDGE", "pd_spm_bridge"});
  unsetenv("PANGU_SPM_BRIDGE");
  EXPECT_NO_THROW(load_tokenizer(*dir_));
  // Without the variable the bridge is found next to the test executable (built there).
  const std::string found = find_spm_bridge();
  EXPECT_EQ(fs::path(found).filename(), "libpd_spm_bridge.so");
  EXPECT_TRUE(fs::is_regular_file(found));
}

TEST_F(SentencePiece, TrainErrors) {
  expect_error([&] { train_sentencepiece(*dir_ + "/absent.txt", *dir_ + "/x", {}); },
               ErrorKind::Input, {"absent.txt", "not found"});
  SentencePieceTrainOptions bad;
  bad.model_type = "nonsense";
  expect_error([&] { train_sentencepiece(*dir_ + "/train.txt", *dir_ + "/x", bad); },
               ErrorKind::Input, {"train.txt", "training failed", "nonsense"});
}

}  // namespace
}  // namespace pangu_draw::tokenizers
