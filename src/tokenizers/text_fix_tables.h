// text_fix_tables.h: the generated data of text_fix.cpp / text_fix_nfc.cpp (text_fix_tables.cpp,
// made by tools/gen_unicode_tables.py from python3's unicodedata and html modules).
#pragma once

#include <cstddef>

#include "tokenizers/unicode_tables.h"

namespace pangu_draw::tokenizers::text_fix {

// A full-width / half-width form and what NFKC makes of it (one or two code points, 0-padded).
struct WidthMapping {
  char32_t from;
  char32_t to[2];
};

// ftfy's WIDTH_MAP: U+3000 -> ' ' and every U+FF01..U+FFEF that NFKC changes.
extern const WidthMapping kWidthMap[];
extern const size_t kWidthMapSize;
// U+0080 + i decoded as the byte 0x80 + i in windows-1252 (its five holes map to themselves).
extern const char32_t kC1Windows1252[];
extern const size_t kC1Windows1252Size;
// str.isdecimal() (Nd): python re's \d in a str pattern.
extern const unicode::CodeRange kDecimalRanges[];
extern const size_t kDecimalRangesSize;
// Code points whose two-part canonical decomposition NFC does not recompose.
extern const char32_t kCompositionExclusions[];
extern const size_t kCompositionExclusionsSize;
// "NAME;=HEX[+HEX] ...": the upper-case spellings ftfy's unescape_html adds to the HTML5 names.
extern const char* const kUpperEntities;

}  // namespace pangu_draw::tokenizers::text_fix
