// test_clip_bpe.cpp: CLIP BPE details beyond the fixture prompts: the split pattern, html
// unescaping, special tokens inside text, BPE pieces, and the vocab/merges error paths.
#include <gtest/gtest.h>

#include <filesystem>

#include "tokenizers/clip_bpe.h"
#include "tokenizers/html_entities.h"
#include "tokenizers/tokenizer_test_util.h"
#include "tokenizers/unicode_text.h"

namespace pangu_draw::tokenizers {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::write_text;
using Pieces = std::vector<std::string>;

const std::vector<std::string> kSpecials = {"<|startoftext|>", "<|endoftext|>"};

// A CLIP tokenizer folder of the fixtures (any set has one).
std::string clip_folder() {
  for (const std::string& set : testing::fixture_sets())
    for (const std::string& folder : test::tokenizer_folders(set))
      if (fs::exists(fs::path(folder) / "merges.txt")) return folder;
  return "";
}

std::string unescape_utf8(const std::string& text) {
  return unicode::encode_utf8(html::unescape(unicode::decode_utf8(text, "test")));
}

TEST(CLIPPreTokenize, SplitPattern) {
  EXPECT_EQ(clip_pre_tokenize("  Don't\tSTOP!!  ", kSpecials), (Pieces{"don", "'t", "stop", "!!"}));
  EXPECT_EQ(clip_pre_tokenize("8k 3.14", kSpecials), (Pieces{"8", "k", "3", ".", "1", "4"}));
  EXPECT_EQ(clip_pre_tokenize("a<|endoftext|>b", kSpecials), (Pieces{"a", "<|endoftext|>", "b"}));
  // Inside a run of symbols the special token is not seen (the run is matched greedily first).
  EXPECT_EQ(clip_pre_tokenize("!<|endoftext|>", kSpecials), (Pieces{"!<|", "endoftext", "|>"}));
  EXPECT_EQ(clip_pre_tokenize("we'LL 'ſ", kSpecials), (Pieces{"we", "'ll", "'ſ"}));
  EXPECT_EQ(clip_pre_tokenize("ΟΔΟΣ café", kSpecials), (Pieces{"οδος", "café"}));
  EXPECT_EQ(clip_pre_tokenize("熊猫", kSpecials), (Pieces{"熊猫"}));
  EXPECT_TRUE(clip_pre_tokenize(" \n\u3000 ", kSpecials).empty());
  // U+0345 matches no class of the case-insensitive pattern: skipped like whitespace.
  EXPECT_EQ(clip_pre_tokenize("!\u0345!a\u0345b", kSpecials), (Pieces{"!", "!", "a", "b"}));
}

TEST(CLIPPreTokenize, HtmlUnescapedTwice) {
  EXPECT_EQ(clip_pre_tokenize("&amp;lt;b&gt;", kSpecials), (Pieces{"<", "b", ">"}));
  EXPECT_EQ(unescape_utf8("&lt;b&gt;"), "<b>");
  EXPECT_EQ(unescape_utf8("&#x41;&#66"), "AB");
  EXPECT_EQ(unescape_utf8("&notit;"), "\u00acit;");  // longest known prefix, rest verbatim
  EXPECT_EQ(unescape_utf8("&#128;"), "\u20ac");      // windows-1252 fix-up
  EXPECT_EQ(unescape_utf8("&#0;&#xD800;&#99999999999999;"), "\ufffd\ufffd\ufffd");
  EXPECT_EQ(unescape_utf8("x&#1;y"), "xy");  // invalid code point dropped
  EXPECT_EQ(unescape_utf8("&unknown; &# &#x; a & b &AMP"), "&unknown; &# &#x; a & b &");
}

TEST(CLIPBPE, PiecesAndSpecialTokens) {
  const auto tokenizer = load_tokenizer(clip_folder());
  const auto* clip = dynamic_cast<const CLIPBPETokenizer*>(tokenizer.get());
  ASSERT_NE(clip, nullptr);
  const Pieces pieces = clip->bpe("astronaut");
  ASSERT_FALSE(pieces.empty());
  std::string joined;
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, "astronaut</w>");
  // Byte-level: a non-ASCII word becomes several byte symbols, never an unknown token.
  const TokenIds chinese = clip->encode("\u7af9\u6797");
  EXPECT_EQ(chinese.num_unknown, 0);
  EXPECT_GT(chinese.num_tokens, 1);
  // A special token written in the text maps to its id, like simple_tokenizer.py's cache.
  const TokenIds eos = clip->encode("<|endoftext|>");
  const int64_t eos_id = clip->encode("").ids[1];
  EXPECT_EQ(eos.num_tokens, 1);
  EXPECT_EQ(eos.ids[1], eos_id);
  EXPECT_EQ(clip->encode("&lt;b&gt;").ids, clip->encode("<b>").ids);
}

TEST(CLIPBPE, RejectsInvalidUTF8) {
  const auto tokenizer = load_tokenizer(clip_folder());
  expect_error([&] { tokenizer->encode("ab\xC3"); }, ErrorKind::Input,
               {"prompt", "UTF-8", "byte 2"});
  expect_error([&] { tokenizer->encode("\xED\xA0\x80"); }, ErrorKind::Input, {"UTF-8"});
}

class CLIPBPEErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::temp_dir("clip_bpe_errors");
    fs::copy_file(fs::path(clip_folder()) / "tokenizer_config.json",
                  dir_ + "/tokenizer_config.json");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
};

TEST_F(CLIPBPEErrors, MissingVocab) {
  fs::copy_file(fs::path(clip_folder()) / "merges.txt", dir_ + "/merges.txt");
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input, {"vocab.json", "not found"});
}

TEST_F(CLIPBPEErrors, MissingMerges) {
  fs::copy_file(fs::path(clip_folder()) / "vocab.json", dir_ + "/vocab.json");
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input, {"merges.txt", "not found"});
}

TEST_F(CLIPBPEErrors, MalformedVocab) {
  fs::copy_file(fs::path(clip_folder()) / "merges.txt", dir_ + "/merges.txt");
  write_text(dir_ + "/vocab.json", "{\"a\": 1, \"b\": ");
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input, {"vocab.json", "not valid JSON"});
  write_text(dir_ + "/vocab.json", "[1, 2]");
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input, {"vocab.json", "object"});
  write_text(dir_ + "/vocab.json", "{\"a\": \"x\"}");
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input, {"vocab.json", "'a'", "integer"});
}

TEST_F(CLIPBPEErrors, MalformedMerges) {
  fs::copy_file(fs::path(clip_folder()) / "vocab.json", dir_ + "/vocab.json");
  write_text(dir_ + "/merges.txt", "#version: 0.2\ni n\nthree parts here\n");
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input, {"merges.txt:3", "two pieces"});
}

TEST_F(CLIPBPEErrors, SpecialTokenNotInVocab) {
  fs::copy_file(fs::path(clip_folder()) / "merges.txt", dir_ + "/merges.txt");
  write_text(dir_ + "/vocab.json", "{\"a</w>\": 0, \"<|startoftext|>\": 1}");
  expect_error([&] { load_tokenizer(dir_); }, ErrorKind::Input,
               {"vocab.json", "eos_token", "<|endoftext|>"});
}

}  // namespace
}  // namespace pangu_draw::tokenizers
