// html_unescape.cpp: python3's html.unescape() over code points: the character-reference
// pattern &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?) and its replacement rules.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <unordered_map>

#include "tokenizers/html_entities.h"

namespace pangu_draw::tokenizers::html {
namespace {

const EntityMap& named_entities() {
  static const EntityMap map = [] {
    EntityMap out;
    add_named_entities(kNamedEntities, false, out);
    return out;
  }();
  return map;
}

bool is_digit(char32_t c, int base) {
  if (c >= '0' && c <= '9') return true;
  return base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

int digit_value(char32_t c) {
  if (c <= '9') return int(c - '0');
  return int((c | 0x20) - 'a' + 10);
}

// The replacement for a numeric reference (html._replace_charref).
std::u32string numeric_reference(uint64_t number) {
  for (size_t i = 0; i < kInvalidCharRefsSize; ++i)
    if (kInvalidCharRefs[i].from == number) return std::u32string(1, kInvalidCharRefs[i].to);
  if ((number >= 0xD800 && number <= 0xDFFF) || number > 0x10FFFF) return U"\uFFFD";
  const char32_t* end = kInvalidCodePoints + kInvalidCodePointsSize;
  if (std::find(kInvalidCodePoints, end, char32_t(number)) != end) return U"";
  return std::u32string(1, char32_t(number));
}

// Tries "#digits;?" / "#xhex;?" at text[pos] (just after '&'); returns the end or npos.
size_t match_numeric(const std::u32string& text, size_t pos, std::u32string& replacement) {
  if (pos >= text.size() || text[pos] != '#') return std::u32string::npos;
  size_t i = pos + 1;
  int base = 10;
  if (i < text.size() && (text[i] == 'x' || text[i] == 'X') && i + 1 < text.size() &&
      is_digit(text[i + 1], 16)) {
    base = 16;
    ++i;
  }
  if (i >= text.size() || !is_digit(text[i], base)) return std::u32string::npos;
  uint64_t number = 0;
  for (; i < text.size() && is_digit(text[i], base); ++i)
    number = std::min<uint64_t>(number * base + digit_value(text[i]), 0x7FFFFFFF);  // saturate
  if (i < text.size() && text[i] == ';') ++i;
  replacement = numeric_reference(number);
  return i;
}

bool is_name_char(char32_t c) {
  return c != '\t' && c != '\n' && c != '\f' && c != ' ' && c != '<' && c != '&' && c != '#' &&
         c != ';';
}

// "name;?" at text[pos]: the whole name, else its longest known prefix (at least 2 characters)
// followed by the rest verbatim, else '&' + name unchanged.
size_t match_named(const std::u32string& text, size_t pos, std::u32string& replacement) {
  size_t i = pos;
  while (i < text.size() && i - pos < 32 && is_name_char(text[i])) ++i;
  if (i == pos) return std::u32string::npos;
  if (i < text.size() && text[i] == ';') ++i;
  const std::u32string name = text.substr(pos, i - pos);
  const EntityMap& entities = named_entities();
  auto it = entities.find(name);
  if (it != entities.end()) {
    replacement = it->second;
    return i;
  }
  for (size_t x = name.size() - 1; x > 1; --x) {
    it = entities.find(name.substr(0, x));
    if (it != entities.end()) {
      replacement = it->second + name.substr(x);
      return i;
    }
  }
  replacement = U"&" + name;
  return i;
}

}  // namespace

void add_named_entities(const char* p, bool semicolon_only, EntityMap& out) {
  while (*p) {
    std::u32string name, value;
    for (; *p != '='; ++p) name += char32_t(static_cast<unsigned char>(*p));
    char* next = const_cast<char*>(p);
    do {
      value += char32_t(std::strtoul(next + 1, &next, 16));  // skips '=' or '+'
    } while (*next == '+');
    const bool keep = !semicolon_only || (!name.empty() && name.back() == ';');
    if (keep) out.emplace(std::move(name), std::move(value));
    p = next;
    while (*p == ' ') ++p;
  }
}

std::u32string unescape(const std::u32string& text) {
  if (text.find(U'&') == std::u32string::npos) return text;
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] != '&') {
      out += text[i++];
      continue;
    }
    std::u32string replacement;
    size_t end = match_numeric(text, i + 1, replacement);
    if (end == std::u32string::npos) end = match_named(text, i + 1, replacement);
    if (end == std::u32string::npos) {
      out += text[i++];
      continue;
    }
    out += replacement;
    i = end;
  }
  return out;
}

}  // namespace pangu_draw::tokenizers::html
