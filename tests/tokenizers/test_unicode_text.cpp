// test_unicode_text.cpp: the generated tables and python3 semantics of unicode_text.h
// (expected values taken from python3's str / unicodedata).
#include <gtest/gtest.h>

#include "pangu_draw/pangu_draw.h"
#include "tokenizers/unicode_text.h"

namespace pangu_draw::tokenizers::unicode {
namespace {

std::u32string u32(const std::string& s) { return decode_utf8(s, "test"); }

TEST(UnicodeText, Utf8RoundTripAndStrictness) {
  const std::string text = "a\u00e9\u4e2d\U0001F600";
  EXPECT_EQ(u32(text), (std::u32string{0x61, 0xE9, 0x4E2D, 0x1F600}));
  EXPECT_EQ(encode_utf8(u32(text)), text);
  for (const std::string bad :
       {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\x80", "\xE4\xB8"})
    EXPECT_THROW(u32(bad), Error) << bad.size();
}

TEST(UnicodeText, Classes) {
  EXPECT_TRUE(is_letter(U'a'));
  EXPECT_TRUE(is_letter(0x4E2D));
  EXPECT_FALSE(is_letter(U'1'));
  EXPECT_TRUE(is_number(0x00B2));  // superscript two (No)
  EXPECT_TRUE(is_number(0x2163));  // roman numeral four (Nl)
  EXPECT_TRUE(is_space(0x1C));     // str.isspace() includes the C0 separators
  EXPECT_TRUE(is_space(0x3000));
  EXPECT_FALSE(is_space(0x200B));
  EXPECT_TRUE(is_space_separator(0x00A0));
  EXPECT_TRUE(is_control_or_format(0x200B));
  EXPECT_TRUE(is_punctuation(0x3002));
  EXPECT_FALSE(is_punctuation(U'$'));  // Sc, not P
  EXPECT_TRUE(is_nonspacing_mark(0x0301));
  EXPECT_EQ(combining_class(0x0301), 230);
  EXPECT_EQ(combining_class(0x0323), 220);
  EXPECT_EQ(combining_class(U'a'), 0);
}

TEST(UnicodeText, LowerMatchesPython) {
  EXPECT_EQ(to_lower(u32("ABC \u00c9\u0100\u0101")), u32("abc \u00e9\u0101\u0101"));
  EXPECT_EQ(to_lower(u32("\u0130")), u32("i\u0307"));  // 'İ'.lower() is two code points
  EXPECT_EQ(to_lower(u32("\u039f\u0394\u039f\u03a3 \u03a3\u0391 \u03a3")),
            u32("\u03bf\u03b4\u03bf\u03c2 \u03c3\u03b1 \u03c3"));   // final sigma
  EXPECT_EQ(to_lower(u32("\u0391\u03a3'")), u32("\u03b1\u03c2'"));  // ' is case-ignorable
  EXPECT_EQ(to_lower(u32("\u13a0\u212a")), u32("\uab70k"));         // Cherokee, Kelvin sign
}

TEST(UnicodeText, NFDMatchesPython) {
  EXPECT_EQ(to_nfd(u32("\u00e9")), u32("e\u0301"));
  EXPECT_EQ(to_nfd(u32("a\u0301\u0323")), u32("a\u0323\u0301"));  // canonical ordering
  EXPECT_EQ(to_nfd(u32("\ud55c")), u32("\u1112\u1161\u11ab"));    // Hangul LVT
  EXPECT_EQ(to_nfd(u32("\u1e69")), u32("s\u0323\u0307"));         // two-level decomposition
  EXPECT_EQ(to_nfd(u32("\u212b")), u32("A\u030a"));               // singleton (Angstrom sign)
  EXPECT_EQ(strip(u32("\u3000 a b\t\n")), u32("a b"));
}

}  // namespace
}  // namespace pangu_draw::tokenizers::unicode
