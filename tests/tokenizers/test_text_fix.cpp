// test_text_fix.cpp: ftfy.fix_text (text_fix.h) and the CLIP tokenizer that runs it, against
// ftfy 6.3.1 and openai CLIP's own tokenizer on real prompt corpora (PartiPrompts, ViLG-300
// Chinese and English) and edge cases (tests/tokenizers/data, made by make_clip_ftfy_reference.py);
// then each fix on its own, with the values ftfy gives.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <string>

#include "support/fixtures.h"
#include "tokenizers/clip_bpe.h"
#include "tokenizers/text_fix.h"
#include "tokenizers/unicode_text.h"

namespace pangu_draw::tokenizers::text_fix {
namespace {

using namespace std::string_literals;
namespace fs = std::filesystem;

using Fix = std::u32string (*)(const std::u32string&);

std::string run_fix(Fix fix, const std::string& utf8) {
  return unicode::encode_utf8(fix(unicode::decode_utf8(utf8, "test")));
}

const nlohmann::json& reference_prompts() {
  static const nlohmann::json prompts =
      testing::read_json(PD_TOKENIZER_DATA_DIR "/clip_ftfy_reference.json").at("prompts");
  return prompts;
}

// The SD 1.x CLIP tokenizer of the fixtures, whose vocab.json the reference script checked is
// openai CLIP's, with room for the longest prompt (the ids are compared untruncated).
const CLIPBPETokenizer& fixture_tokenizer() {
  static const CLIPBPETokenizer tokenizer = [] {
    const fs::path folder = fs::path(testing::model_dir("sd1")) / "tokenizer";
    CLIPBPEOptions options;
    options.max_length = 4096;
    return CLIPBPETokenizer((folder / "vocab.json").string(), (folder / "merges.txt").string(),
                            options);
  }();
  return tokenizer;
}

TEST(TextFixCorpus, CoversTheCorpora) {
  std::map<std::string, int> per_source;
  for (const auto& prompt : reference_prompts()) ++per_source[prompt.at("source")];
  EXPECT_EQ(per_source["PartiPrompts"], 1632);
  EXPECT_EQ(per_source["ViLG-300 zh"], 300);
  EXPECT_EQ(per_source["ViLG-300 en"], 300);
  EXPECT_GE(per_source["edge cases"], 20);
}

TEST(TextFixCorpus, FixTextMatchesFtfy) {
  int checked = 0, changed = 0;
  for (const auto& prompt : reference_prompts()) {
    const std::string text = prompt.at("text");
    const std::string expected = prompt.value("ftfy", text);
    changed += expected != text;
    EXPECT_EQ(run_fix(fix_text, text), expected) << prompt.at("source") << ": " << text;
    ++checked;
  }
  EXPECT_EQ(checked, 2256);
  EXPECT_GT(changed, 80);  // 12 PartiPrompts, 48 Chinese, 36 English (\r\n), edge cases
}

TEST(TextFixCorpus, ClipIdsMatchOpenaiClip) {
  const CLIPBPETokenizer& tokenizer = fixture_tokenizer();
  int mismatches = 0;
  for (const auto& prompt : reference_prompts()) {
    const std::string text = prompt.at("text");
    const std::vector<int64_t> expected = prompt.at("ids");
    const TokenIds got = tokenizer.encode(text);
    ASSERT_FALSE(got.truncated) << text;
    const std::vector<int64_t> content(got.ids.begin() + 1, got.ids.begin() + 1 + got.num_tokens);
    EXPECT_EQ(got.num_unknown, 0) << text;
    if (content != expected) {
      ++mismatches;
      ADD_FAILURE() << prompt.at("source") << ": " << text << "\n  got      "
                    << nlohmann::json(content).dump() << "\n  expected " << prompt.at("ids").dump();
    }
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(TextFixCorpus, CurlyApostropheAsInTheIssue) {
  // PartiPrompts' "a corgi’s head": openai CLIP reads "'s" (568), not "’" + "s".
  const TokenIds ids = fixture_tokenizer().encode("a corgi\u2019s head");
  EXPECT_EQ(std::vector<int64_t>(ids.ids.begin(), ids.ids.begin() + 6),
            (std::vector<int64_t>{49406, 320, 31320, 568, 1375, 49407}));
}

TEST(TextFix, UnescapeHtml) {
  EXPECT_EQ(run_fix(unescape_html, "&lt;tag&gt; it&#x2019;s &#8217;"), "<tag> it\u2019s \u2019");
  EXPECT_EQ(run_fix(unescape_html, "P&EACUTE;REZ BUNDESSTRA&SZLIG;E"), "P\u00c9REZ BUNDESSTRASSE");
  EXPECT_EQ(run_fix(unescape_html, "&ntilde; &Ntilde; &NTILDE; &nTILDE;"),
            "\u00f1 \u00d1 \u00d1 &nTILDE;");
  EXPECT_EQ(run_fix(unescape_html, "&Jscr;ohn &checkmark;"), "\U0001d4a5ohn \u2713");
  // Only references that end in ';' and that html.unescape() takes whole.
  EXPECT_EQ(run_fix(unescape_html, "this&not that, &amp alone, &unknown; &; &#;"),
            "this&not that, &amp alone, &unknown; &; &#;");
  EXPECT_EQ(run_fix(unescape_html, "&#65a; &#xZZ; &#0; &#1;x &#128; &#x1F431;"),
            "&#65a; &#xZZ; \ufffd x \u20ac \U0001F431");
  // At most 24 characters between '&' and ';'; one level per pass.
  EXPECT_EQ(run_fix(unescape_html, "&abcdefghijklmnopqrstuvwxy; &amp;amp;"),
            "&abcdefghijklmnopqrstuvwxy; &amp;");
}

TEST(TextFix, CharacterFixes) {
  EXPECT_EQ(run_fix(fix_c1_controls, "\u0080 \u0093q\u0094 \u0085 \u0081\u009d"),
            "\u20ac \u201cq\u201d \u2026 \u0081\u009d");
  EXPECT_EQ(run_fix(fix_latin_ligatures, "\ufb01ne \ufb03eld \u0133s \u0149 \u01c6 \ufb05"),
            "fine ffield ijs \u02bcn d\u017e \u017ft");
  EXPECT_EQ(run_fix(fix_character_width, "\uff2c\uff2f\uff35\uff24\u3000\uff01\uff0c\uff08\uff09"),
            "LOUD !,()");
  EXPECT_EQ(run_fix(fix_character_width, "\uff35\uff80\uff70\uff9d \uff76\uff9e \uffe3"),
            "U\u30bf\u30fc\u30f3 \u30ab\u3099  \u0304");  // the voiced mark composes in NFC
  EXPECT_EQ(run_fix(uncurl_quotes, "\u201ca\u201d \u2018b\u2019 \u201bc\u201f \u02bc \u2032"),
            "\"a\" 'b' 'c\" ' \u2032");
  EXPECT_EQ(run_fix(fix_line_breaks, "a\r\nb\rc\u2028d\u2029e\u0085f\n\ng"),
            "a\nb\nc\nd\ne\nf\n\ng");
  EXPECT_EQ(run_fix(remove_terminal_escapes, "\x1b[31mred\x1b[0m \x1b[1;32mg\x1b[\u0661m \x1b[5 x"),
            "red g \x1b[5 x");
  EXPECT_EQ(
      run_fix(remove_control_chars, "a\0b\x07\x0b\x0c\x7f\u206a\ufeff\ufffc\ufffd\u200b\t\n"s),
      "ab\x0c\ufffd\u200b\t\n");
}

TEST(TextFix, Nfc) {
  EXPECT_EQ(run_fix(to_nfc, "cafe\u0301 a\u0323\u0302 e\u0301\u0301"),
            "caf\u00e9 \u1ead \u00e9\u0301");  // reordered, then composed; the second blocked
  EXPECT_EQ(run_fix(to_nfc, "\u1100\u1161\u11a8 \u0958 \u212b \u09c7\u09be"),
            "\uac01 \u0915\u093c \u00c5 \u09cb");  // Hangul, exclusion, singleton, two starters
  EXPECT_EQ(run_fix(to_nfc, "q\u0307\u0323 \u0344"), "q\u0323\u0307 \u0308\u0301");
}

TEST(TextFix, FixTextLoopsAndSegments) {
  // Repeated until nothing changes: &amp;#x2019; -> &#x2019; -> U+2019 -> '.
  EXPECT_EQ(run_fix(fix_text, "it&amp;#x2019;s \ufb01ne\uff01"), "it's fine!");
  // From the first line that holds a '<' on, HTML references are left alone.
  EXPECT_EQ(run_fix(fix_text, "one &EACUTE;\ntwo < three\nfour &EACUTE; &amp;"),
            "one \u00c9\ntwo < three\nfour &EACUTE; &amp;");
  EXPECT_EQ(run_fix(fix_text, "a\r\nb &EACUTE;"), "a\nb \u00c9");
  EXPECT_EQ(run_fix(fix_text, ""), "");
}

TEST(TextFix, ClipPreTokenizeRunsFtfyFirst) {
  const std::vector<std::string> specials = {"<|startoftext|>", "<|endoftext|>"};
  EXPECT_EQ(clip_pre_tokenize("\u4e00\u53ea\u732b\uff0c\u72d7\uff08\u5728\uff09", specials),
            (std::vector<std::string>{"\u4e00\u53ea\u732b", ",", "\u72d7", "(", "\u5728", ")"}));
  EXPECT_EQ(clip_pre_tokenize("don\u2019t \ufb02y", specials),
            (std::vector<std::string>{"don", "'t", "fly"}));
  // After ftfy, html.unescape still runs twice: '<' stops ftfy's unescaping, not CLIP's.
  EXPECT_EQ(clip_pre_tokenize("a < b &amp;amp; c", specials),
            (std::vector<std::string>{"a", "<", "b", "&", "c"}));
}

}  // namespace
}  // namespace pangu_draw::tokenizers::text_fix
