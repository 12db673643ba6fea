// text_fix_nfc.cpp: unicodedata.normalize("NFC", text) for ftfy's last step: the canonical
// decomposition of unicode_text.cpp, then canonical composition (UAX #15) from the one-level
// decompositions less the composition exclusions, Hangul syllables composed algorithmically.
#include <cstdint>
#include <cstdlib>
#include <unordered_map>
#include <unordered_set>

#include "tokenizers/text_fix.h"
#include "tokenizers/text_fix_tables.h"
#include "tokenizers/unicode_tables.h"
#include "tokenizers/unicode_text.h"

namespace pangu_draw::tokenizers::text_fix {
namespace {

constexpr char32_t kHangulBase = 0xAC00, kHangulCount = 11172;
constexpr char32_t kLeadBase = 0x1100, kLeadCount = 19;
constexpr char32_t kVowelBase = 0x1161, kVowelCount = 21;
constexpr char32_t kTrailBase = 0x11A7, kTrailCount = 28;

using PairMap = std::unordered_map<uint64_t, char32_t>;

uint64_t pair_key(char32_t first, char32_t second) { return (uint64_t(first) << 32) | second; }

// (first, second) -> primary composite, from kDecompositions ("CP=FIRST[+SECOND]" in hex).
const PairMap& compositions() {
  static const PairMap map = [] {
    const std::unordered_set<char32_t> excluded(
        kCompositionExclusions, kCompositionExclusions + kCompositionExclusionsSize);
    PairMap out;
    char* p = const_cast<char*>(unicode::kDecompositions);
    while (*p) {
      const auto cp = char32_t(std::strtoul(p, &p, 16));
      const auto first = char32_t(std::strtoul(p + 1, &p, 16));  // skips '='
      char32_t second = 0;
      if (*p == '+') second = char32_t(std::strtoul(p + 1, &p, 16));
      if (second != 0 && !excluded.count(cp)) out.emplace(pair_key(first, second), cp);
      while (*p == ' ') ++p;
    }
    return out;
  }();
  return map;
}

// The composite of a starter and the character after it, or 0.
char32_t compose(char32_t first, char32_t second) {
  if (first >= kLeadBase && first < kLeadBase + kLeadCount && second >= kVowelBase &&
      second < kVowelBase + kVowelCount)
    return kHangulBase + ((first - kLeadBase) * kVowelCount + (second - kVowelBase)) * kTrailCount;
  if (first >= kHangulBase && first < kHangulBase + kHangulCount &&
      (first - kHangulBase) % kTrailCount == 0 && second > kTrailBase &&
      second < kTrailBase + kTrailCount)
    return first + (second - kTrailBase);
  const PairMap& map = compositions();
  auto it = map.find(pair_key(first, second));
  return it == map.end() ? 0 : it->second;
}

}  // namespace

std::u32string to_nfc(const std::u32string& text) {
  const std::u32string decomposed = unicode::to_nfd(text);
  std::u32string out;
  out.reserve(decomposed.size());
  size_t starter = std::u32string::npos;
  uint8_t last_class = 0;  // combining class of out.back() when it is not the starter
  for (char32_t c : decomposed) {
    const uint8_t cc = unicode::combining_class(c);
    if (starter != std::u32string::npos) {
      // Not blocked: right after the starter, or every character between has a lower class.
      const bool adjacent = starter + 1 == out.size();
      if (adjacent || (last_class != 0 && last_class < cc)) {
        const char32_t composite = compose(out[starter], c);
        if (composite != 0) {
          out[starter] = composite;
          continue;
        }
      }
    }
    if (cc == 0) starter = out.size();
    last_class = cc;
    out += c;
  }
  return out;
}

}  // namespace pangu_draw::tokenizers::text_fix
