// unicode_text.h: UTF-8 <-> code points and the character classes / transforms the tokenizers
// need, with python3's semantics (str.isspace, str.lower, unicodedata.normalize("NFD")).
#pragma once

#include <cstdint>
#include <string>

namespace pangu_draw::tokenizers::unicode {

// Strict UTF-8 decoding (no overlongs, surrogates or values past U+10FFFF); Error{Input} naming
// `what` and the byte offset otherwise.
std::u32string decode_utf8(const std::string& text, const std::string& what);
std::string encode_utf8(const std::u32string& text);
void append_utf8(char32_t cp, std::string& out);

bool is_letter(char32_t cp);                      // \p{L}
bool is_number(char32_t cp);                      // \p{N}
bool is_case_insensitive_unmatched(char32_t cp);  // see kUnmatchedRanges
bool is_space(char32_t cp);                       // str.isspace()
bool is_space_separator(char32_t cp);             // Zs
bool is_control_or_format(char32_t cp);           // Cc, Cf
bool is_punctuation(char32_t cp);                 // P*
bool is_nonspacing_mark(char32_t cp);             // Mn
uint8_t combining_class(char32_t cp);

// str.lower(): full lower-case mapping, final sigma included.
std::u32string to_lower(const std::u32string& text);
// unicodedata.normalize("NFD", text): full canonical decomposition + canonical ordering.
std::u32string to_nfd(const std::u32string& text);
// str.strip() and str.split() (no argument): trims / splits on is_space().
std::u32string strip(const std::u32string& text);

}  // namespace pangu_draw::tokenizers::unicode
