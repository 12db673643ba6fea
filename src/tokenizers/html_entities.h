// html_entities.h: python3's html.unescape() (the HTML5 named and numeric character references),
// which CLIP's tokenizer applies twice; the tables are generated into html_entities.cpp.
#pragma once

#include <cstddef>
#include <string>

namespace pangu_draw::tokenizers::html {

struct CharRefFix {
  char32_t from, to;
};
extern const char* const kNamedEntities;  // "name=HEX[+HEX] ..."
extern const CharRefFix kInvalidCharRefs[];
extern const size_t kInvalidCharRefsSize;
extern const char32_t kInvalidCodePoints[];
extern const size_t kInvalidCodePointsSize;

// Same result as python3's html.unescape(text) on the same code points.
std::u32string unescape(const std::u32string& text);

}  // namespace pangu_draw::tokenizers::html
