// Tests for the A1111 prompt parser: A1111's own doctest examples, the fragments of every case of
// the Python reference (tests/text_encoders/make_prompt_references.py), BREAK rules, escapes and
// malformed syntax (results equal A1111's; errors only where A1111 fails too).
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "support/fixtures.h"
#include "text_encoders/prompt_parser.h"

using pangu_draw::Error;
using pangu_draw::ErrorKind;
using pangu_draw::text_encoders::parse_prompt_attention;
using pangu_draw::text_encoders::PromptFragment;

namespace {

using Expected = std::vector<std::pair<std::string, double>>;

void expect_fragments(const std::string& prompt, const Expected& want) {
  const auto got = parse_prompt_attention(prompt);
  ASSERT_EQ(got.size(), want.size()) << "prompt: " << prompt;
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].text, want[i].first) << "prompt: " << prompt << ", fragment " << i;
    EXPECT_DOUBLE_EQ(got[i].weight, want[i].second) << "prompt: " << prompt << ", fragment " << i;
  }
}

}  // namespace

// The examples in the docstring of A1111's parse_prompt_attention.
TEST(PromptParser, A1111DocExamples) {
  expect_fragments("normal text", {{"normal text", 1.0}});
  expect_fragments("an (important) word", {{"an ", 1.0}, {"important", 1.1}, {" word", 1.0}});
  expect_fragments("(unbalanced", {{"unbalanced", 1.1}});
  expect_fragments("\\(literal\\]", {{"(literal]", 1.0}});
  expect_fragments("(unnecessary)(parens)", {{"unnecessaryparens", 1.1}});
  expect_fragments("a (((house:1.3)) [on] a (hill:0.5), sun, (((sky))).",
                   {{"a ", 1.0},
                    {"house", 1.5730000000000004},
                    {" ", 1.1},
                    {"on", 1.0},
                    {" a ", 1.1},
                    {"hill", 0.55},
                    {", sun, ", 1.1},
                    {"sky", 1.4641000000000006},
                    {".", 1.1}});
}

// Every case of the Python reference: the same fragments, bit-equal weights.
TEST(PromptParser, FragmentsEqualThePythonReference) {
  const auto ref =
      pangu_draw::testing::read_json(std::string(PD_PROMPT_DATA_DIR) + "/prompt_references.json");
  int checked = 0;
  for (const auto& c : ref["cases"]) {
    if (c["syntax"] != "a1111") continue;
    const auto got = parse_prompt_attention(c["prompt"].get<std::string>());
    const auto& want = c["fragments"];
    ASSERT_EQ(got.size(), want.size()) << c["key"];
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].text, want[i][0].get<std::string>()) << c["key"] << " fragment " << i;
      EXPECT_EQ(got[i].weight, want[i][1].get<double>()) << c["key"] << " fragment " << i;
    }
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(PromptParser, BreakSplitsOnlyWholeWordsOutsideBrackets) {
  expect_fragments("a cat BREAK a dog", {{"a cat", 1.0}, {"BREAK", -1.0}, {"a dog", 1.0}});
  expect_fragments("a catBREAK dog", {{"a catBREAK dog", 1.0}});
  expect_fragments("BREAK", {{"", 1.0}, {"BREAK", -1.0}, {"", 1.0}});
  expect_fragments("a  BREAK\n BREAK b",
                   {{"a", 1.0}, {"BREAK", -1.0}, {"", 1.0}, {"BREAK", -1.0}, {"b", 1.0}});
  // Inside brackets the BREAK marker is scaled: A1111 then reads the word as text.
  const auto inside = parse_prompt_attention("(x BREAK y)");
  ASSERT_EQ(inside.size(), 3u);
  EXPECT_FALSE(inside[1].is_break());
  EXPECT_DOUBLE_EQ(inside[1].weight, -1.1);
  // Python's \b: CJK characters are word characters, the full-width comma is not.
  expect_fragments("熊猫BREAK竹子", {{"熊猫BREAK竹子", 1.0}});
  expect_fragments("熊猫，BREAK，竹子", {{"熊猫，", 1.0}, {"BREAK", -1.0}, {"，竹子", 1.0}});
}

TEST(PromptParser, EscapesAndBackslashes) {
  expect_fragments("\\(a\\) \\[b\\] \\\\ c", {{"(a) [b] \\ c", 1.0}});
  expect_fragments("a\\b", {{"ab", 1.0}});  // a lone backslash is dropped
  expect_fragments("tail\\", {{"tail", 1.0}});
  expect_fragments("(\\(x\\))", {{"(x)", 1.1}});
}

TEST(PromptParser, MalformedSyntaxReadsAsA1111Does) {
  expect_fragments("a (red:abc) cat", {{"a ", 1.0}, {"red:abc", 1.1}, {" cat", 1.0}});
  expect_fragments("a red) cat] on :1.2) a mat", {{"a red) cat] on :1.2) a mat", 1.0}});
  expect_fragments("((((", {{"", 1.0}});
  expect_fragments(")]):", {{")]):", 1.0}});
  expect_fragments("", {{"", 1.0}});
  expect_fragments("[a (b", {{"a ", 1 / 1.1}, {"b", 1.1 / 1.1}});
  expect_fragments("(a:-1)", {{"a", -1.0}});
  expect_fragments("(a:+.5) (b:2.)", {{"a", 0.5}, {" ", 1.0}, {"b", 2.0}});
  expect_fragments("a <lora:x:0.5> b", {{"a <lora:x:0.5> b", 1.0}});
  expect_fragments("(a: 1.5)", {{"a: 1.5", 1.1}});
}

TEST(PromptParser, WeightsPythonCannotReadAreInputErrors) {
  for (const char* p : {"(a:1.2.3)", "(a:.)", "(a:-.)"}) {
    try {
      parse_prompt_attention(p);
      ADD_FAILURE() << "no error for " << p;
    } catch (const Error& e) {
      EXPECT_EQ(e.kind, ErrorKind::Input) << p;
      EXPECT_NE(std::string(e.what()).find("not a number"), std::string::npos) << e.what();
    }
  }
  // Without an open '(' the same lexeme is text.
  expect_fragments("a:1.2.3)", {{"a:1.2.3)", 1.0}});
}

// 600 random prompts over the syntax's characters (brackets, weights good and bad, escapes,
// BREAK, CJK, tags): the same fragments as the Python reference parser, and an Input error
// exactly where Python's float() fails.
TEST(PromptParser, RandomPromptsEqualThePythonReference) {
  const auto ref =
      pangu_draw::testing::read_json(std::string(PD_PROMPT_DATA_DIR) + "/prompt_references.json");
  int parsed = 0, errors = 0;
  for (const auto& c : ref["parser_cases"]) {
    const std::string prompt = c["prompt"];
    if (c.contains("error")) {
      try {
        parse_prompt_attention(prompt);
        ADD_FAILURE() << "no error for " << prompt;
      } catch (const Error& e) {
        EXPECT_EQ(e.kind, ErrorKind::Input) << prompt;
      }
      ++errors;
      continue;
    }
    const auto got = parse_prompt_attention(prompt);
    ASSERT_EQ(got.size(), c["fragments"].size()) << prompt;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_EQ(got[i].text, c["fragments"][i][0].get<std::string>()) << prompt;
      EXPECT_EQ(got[i].weight, c["fragments"][i][1].get<double>()) << prompt;
    }
    ++parsed;
  }
  EXPECT_EQ(parsed + errors, 600);
  EXPECT_GT(errors, 0);
}
