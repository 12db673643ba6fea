// text_fix.cpp: ftfy.fix_text's fixes (ftfy 6.3.1, default configuration) over code points and the
// segment loop that runs them; written from ftfy's documented behaviour and checked against ftfy
// itself on real prompt corpora (tests/tokenizers/test_text_fix.cpp).
#include "tokenizers/text_fix.h"

#include <algorithm>
#include <cstdlib>
#include <unordered_map>

#include "tokenizers/html_entities.h"
#include "tokenizers/text_fix_tables.h"

namespace pangu_draw::tokenizers::text_fix {
namespace {

using EntityMap = html::EntityMap;

constexpr size_t kMaxSegment = 1000000;  // ftfy's max_decode_length
constexpr size_t kMaxEntityName = 24;

// ftfy's HTML_ENTITIES: the HTML5 names that end in ';', and the upper-case spellings.
const EntityMap& entities() {
  static const EntityMap map = [] {
    EntityMap out;
    html::add_named_entities(html::kNamedEntities, /*semicolon_only=*/true, out);
    html::add_named_entities(kUpperEntities, /*semicolon_only=*/true, out);
    return out;
  }();
  return map;
}

bool is_ascii_alnum(char32_t c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_ascii_letter(char32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_decimal(char32_t c) {
  const unicode::CodeRange* end = kDecimalRanges + kDecimalRangesSize;
  const unicode::CodeRange* it = std::upper_bound(
      kDecimalRanges, end, c, [](char32_t x, const unicode::CodeRange& r) { return x < r.lo; });
  return it != kDecimalRanges && c <= (it - 1)->hi;
}

// The end of &#?[0-9A-Za-z]{1,24}; starting at text[pos] == '&', or npos.
size_t match_entity(const std::u32string& text, size_t pos) {
  size_t start = pos + 1;
  if (start < text.size() && text[start] == '#') ++start;
  size_t end = start;
  while (end < text.size() && end - start <= kMaxEntityName && is_ascii_alnum(text[end])) ++end;
  const size_t length = end - start;
  if (length < 1 || length > kMaxEntityName || end >= text.size() || text[end] != ';')
    return std::u32string::npos;
  return end + 1;
}

// ftfy's _unescape_fixup for one matched reference.
std::u32string unescape_reference(const std::u32string& reference) {
  auto it = entities().find(reference.substr(1));
  if (it != entities().end()) return it->second;
  if (reference.size() > 1 && reference[1] == '#') {
    // A numeric reference counts only when html.unescape() takes it whole, ';' included.
    std::u32string decoded = html::unescape(reference);
    if (decoded.find(U';') == std::u32string::npos) return decoded;
  }
  return reference;
}

// One pass of every fix, in fix_and_explain's order.
std::u32string fix_once(std::u32string text, bool unescape) {
  if (unescape) text = unescape_html(text);
  text = fix_c1_controls(text);
  text = fix_latin_ligatures(text);
  text = fix_character_width(text);
  text = uncurl_quotes(text);
  text = fix_line_breaks(text);
  text = remove_terminal_escapes(text);
  text = remove_control_chars(text);
  return to_nfc(text);
}

std::u32string fix_segment(std::u32string text, bool unescape) {
  while (true) {
    std::u32string fixed = fix_once(text, unescape);
    if (fixed == text) return fixed;
    text.swap(fixed);
  }
}

}  // namespace

std::u32string fix_text(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  bool unescape = true;  // "auto": off from the first segment holding a '<' to the end
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find(U'\n', pos);
    end = end == std::u32string::npos ? text.size() : end + 1;
    end = std::min(end, pos + kMaxSegment);
    const std::u32string segment = text.substr(pos, end - pos);
    if (segment.find(U'<') != std::u32string::npos) unescape = false;
    out += fix_segment(segment, unescape);
    pos = end;
  }
  return out;
}

std::u32string unescape_html(const std::u32string& text) {
  if (text.find(U'&') == std::u32string::npos) return text;
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t end = text[i] == '&' ? match_entity(text, i) : std::u32string::npos;
    if (end == std::u32string::npos) {
      out += text[i++];
      continue;
    }
    out += unescape_reference(text.substr(i, end - i));
    i = end;
  }
  return out;
}

std::u32string fix_c1_controls(const std::u32string& text) {
  std::u32string out = text;
  for (char32_t& c : out)
    if (c >= 0x80 && c < 0x80 + kC1Windows1252Size) c = kC1Windows1252[c - 0x80];
  return out;
}

std::u32string fix_latin_ligatures(const std::u32string& text) {
  // ftfy's LIGATURES: Dutch IJ, Afrikaans 'n, the Serbo-Croatian digraphs, Latin ff..st.
  static const std::unordered_map<char32_t, std::u32string> kLigatures = {
      {0x132, U"IJ"},       {0x133, U"ij"},      {0x149, U"\u02BCn"}, {0x1C4, U"D\u017D"},
      {0x1C5, U"D\u017E"},  {0x1C6, U"d\u017E"}, {0x1C7, U"LJ"},      {0x1C8, U"Lj"},
      {0x1C9, U"lj"},       {0x1CA, U"NJ"},      {0x1CB, U"Nj"},      {0x1CC, U"nj"},
      {0x1F1, U"DZ"},       {0x1F2, U"Dz"},      {0x1F3, U"dz"},      {0xFB00, U"ff"},
      {0xFB01, U"fi"},      {0xFB02, U"fl"},     {0xFB03, U"ffi"},    {0xFB04, U"ffl"},
      {0xFB05, U"\u017Ft"}, {0xFB06, U"st"}};
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    auto it = kLigatures.find(c);
    if (it == kLigatures.end())
      out += c;
    else
      out += it->second;
  }
  return out;
}

std::u32string fix_character_width(const std::u32string& text) {
  const WidthMapping* end = kWidthMap + kWidthMapSize;
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    const WidthMapping* it = std::lower_bound(
        kWidthMap, end, c, [](const WidthMapping& m, char32_t x) { return m.from < x; });
    if (it == end || it->from != c) {
      out += c;
      continue;
    }
    out += it->to[0];
    if (it->to[1] != 0) out += it->to[1];
  }
  return out;
}

std::u32string uncurl_quotes(const std::u32string& text) {
  std::u32string out = text;
  for (char32_t& c : out) {
    if (c == 0x2BC || (c >= 0x2018 && c <= 0x201B)) c = '\'';
    if (c >= 0x201C && c <= 0x201F) c = '"';
  }
  return out;
}

std::u32string fix_line_breaks(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t c = text[i];
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;  // "\r\n" -> "\n"
    const bool line_break = c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85;
    out += line_break ? U'\n' : c;
  }
  return out;
}

std::u32string remove_terminal_escapes(const std::u32string& text) {
  if (text.find(U'\x1b') == std::u32string::npos) return text;
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    if (text[i] == 0x1B && i + 1 < text.size() && text[i + 1] == '[') {
      size_t j = i + 2;
      while (j < text.size() && (text[j] == ';' || is_decimal(text[j]))) ++j;
      if (j < text.size() && is_ascii_letter(text[j])) {
        i = j + 1;
        continue;
      }
    }
    out += text[i++];
  }
  return out;
}

std::u32string remove_control_chars(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    const bool control = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
                         (c >= 0x206A && c <= 0x206F) || c == 0xFEFF ||
                         (c >= 0xFFF9 && c <= 0xFFFC);
    if (!control) out += c;
  }
  return out;
}

}  // namespace pangu_draw::tokenizers::text_fix
