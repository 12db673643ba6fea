// html_entities.h: python3's html.unescape() (the HTML5 named and numeric character references),
// which CLIP's tokenizer applies twice; the tables are generated into html_entities.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

namespace pangu_draw::tokenizers::html {

struct CharRefFix {
  char32_t from, to;
};
extern const char* const kNamedEntities;  // "name=HEX[+HEX] ..."
extern const CharRefFix kInvalidCharRefs[];
extern const size_t kInvalidCharRefsSize;
extern const char32_t kInvalidCodePoints[];
extern const size_t kInvalidCodePointsSize;

using EntityMap = std::unordered_map<std::u32string, std::u32string>;

// Adds the "name=HEX[+HEX] ..." entries of `table` (kNamedEntities' format) to `out`; with
// `semicolon_only`, only the names that end in ';'.
void add_named_entities(const char* table, bool semicolon_only, EntityMap& out);

// Same result as python3's html.unescape(text) on the same code points.
std::u32string unescape(const std::u32string& text);

}  // namespace pangu_draw::tokenizers::html
