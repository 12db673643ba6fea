// test_wordpiece.cpp: BERT WordPiece against fixtures/wordpiece/tokens.json (Chinese-CLIP's
// tokenizer), basic tokenisation rules, [UNK] accounting and the vocab.txt error paths.
#include <gtest/gtest.h>

#include <filesystem>

#include "tokenizers/tokenizer_test_util.h"
#include "tokenizers/wordpiece.h"

namespace pangu_draw::tokenizers {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::write_text;
using Words = std::vector<std::string>;

std::string wordpiece_dir() { return testing::fixtures_root() + "/wordpiece"; }

WordPieceTokenizer fixture_tokenizer() {
  return WordPieceTokenizer(wordpiece_dir() + "/vocab.txt", WordPieceOptions{});
}

TEST(WordPiece, ReferenceIds) {
  const nlohmann::json tokens = testing::read_json(wordpiece_dir() + "/tokens.json");
  const WordPieceTokenizer tokenizer = fixture_tokenizer();
  ASSERT_GE(tokens["prompts"].size(), 5u);
  for (const auto& prompt : tokens["prompts"]) {
    const std::string text = prompt.get<std::string>();
    const auto expected = tokens["token_ids"][text].get<std::vector<int64_t>>();
    const TokenIds got = tokenizer.encode(text);
    EXPECT_EQ(got.ids, expected) << "\"" << text << "\"";
    EXPECT_EQ(got.truncated, got.num_tokens > 75) << text;
  }
}

TEST(WordPiece, BasicTokenize) {
  const WordPieceOptions options;
  EXPECT_EQ(bert_basic_tokenize("Café, NAÏVE!", options), (Words{"cafe", ",", "naive", "!"}));
  EXPECT_EQ(bert_basic_tokenize("熊猫abc", options), (Words{"熊", "猫", "abc"}));
  EXPECT_EQ(bert_basic_tokenize("a\u00a0b\tc\u2028d", options), (Words{"a", "b", "c", "d"}));
  EXPECT_EQ(bert_basic_tokenize("x\u200by\x01z\ufffd", options), (Words{"xyz"}));  // Cf, Cc dropped
  EXPECT_EQ(bert_basic_tokenize("$5^`~", options), (Words{"$", "5", "^", "`", "~"}));
  EXPECT_EQ(bert_basic_tokenize("\u300cΣΟΦΙΑ\u300d", options),
            (Words{"\u300c", "σοφια", "\u300d"}));
  EXPECT_EQ(bert_basic_tokenize("\ud55c", options), (Words{"\u1112\u1161\u11ab"}));  // NFD Hangul
  WordPieceOptions cased = options;
  cased.lower_case = false;
  cased.strip_accents = false;
  EXPECT_EQ(bert_basic_tokenize("Café", cased), (Words{"Café"}));
}

TEST(WordPiece, CountsUnknownWords) {
  const WordPieceTokenizer tokenizer = fixture_tokenizer();
  // Ethiopic is absent from the Chinese vocabulary: each word is one [UNK].
  const TokenIds got = tokenizer.encode("\u1230\u120b\u121d \u12d3\u1208\u121d cat");
  EXPECT_EQ(got.num_unknown, 2);
  EXPECT_EQ(got.num_tokens, 3);
  EXPECT_EQ(got.ids[1], tokenizer.unk_id());
  EXPECT_EQ(got.ids[2], tokenizer.unk_id());
  EXPECT_NE(got.ids[3], tokenizer.unk_id());
  EXPECT_EQ(tokenizer.encode("a photo of a cat").num_unknown, 0);
  // A word over 100 characters is one [UNK], even when its pieces exist.
  EXPECT_EQ(tokenizer.word_ids(std::string(101, 'a')), std::vector<int64_t>{tokenizer.unk_id()});
  EXPECT_NE(tokenizer.word_ids(std::string(100, 'a')), std::vector<int64_t>{tokenizer.unk_id()});
}

TEST(WordPiece, GreedyLongestMatch) {
  const std::string dir = testing::temp_dir("wordpiece_greedy");
  write_text(dir + "/vocab.txt",
             "[PAD]\n[UNK]\n[CLS]\n[SEP]\nun\nunaff\n##aff\n##able\n##a\n  ##ble \n");
  const WordPieceTokenizer tokenizer(dir + "/vocab.txt", WordPieceOptions{});
  EXPECT_EQ(tokenizer.word_ids("unaffable"), (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(tokenizer.word_ids("unable"), (std::vector<int64_t>{4, 7}));
  EXPECT_EQ(tokenizer.word_ids("unablx"), (std::vector<int64_t>{1}));  // no match -> whole word
  fs::remove_all(dir);
}

TEST(WordPiece, Errors) {
  const std::string dir = testing::temp_dir("wordpiece_errors");
  write_text(dir + "/tokenizer_config.json",
             R"({"tokenizer_class": "BertTokenizer", "model_max_length": 77})");
  expect_error([&] { load_tokenizer(dir); }, ErrorKind::Input, {"vocab.txt", "not found"});
  write_text(dir + "/vocab.txt", "[PAD]\n[UNK]\n[CLS]\n");
  expect_error([&] { load_tokenizer(dir); }, ErrorKind::Input, {"vocab.txt", "sep_token", "[SEP]"});
  write_text(dir + "/vocab.txt", "[PAD]\n[UNK]\n\xff\n");
  expect_error([&] { load_tokenizer(dir); }, ErrorKind::Input, {"vocab.txt line 3", "UTF-8"});
  fs::remove_all(dir);
}

}  // namespace
}  // namespace pangu_draw::tokenizers
