// unicode_text.cpp: UTF-8 codec, class lookups over the generated range tables, and python3's
// str.lower() / unicodedata.normalize("NFD") rebuilt from them (CPython's unicodeobject.c rules).
#include "tokenizers/unicode_text.h"

#include <algorithm>
#include <cstdlib>
#include <unordered_map>
#include <utility>

#include "core/error.h"
#include "tokenizers/unicode_tables.h"

namespace pangu_draw::tokenizers::unicode {
namespace {

bool in_ranges(const CodeRange* ranges, size_t size, char32_t cp) {
  const CodeRange* end = ranges + size;
  const CodeRange* it =
      std::upper_bound(ranges, end, cp, [](char32_t c, const CodeRange& r) { return c < r.lo; });
  return it != ranges && cp <= (it - 1)->hi;
}

// Length of the UTF-8 sequence led by `lead`, 0 when `lead` cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Hangul syllables decompose algorithmically (Unicode 3.12).
constexpr char32_t kHangulBase = 0xAC00, kHangulCount = 11172;
constexpr char32_t kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
constexpr char32_t kVowelCount = 21, kTrailCount = 28;

using DecompositionMap = std::unordered_map<char32_t, std::pair<char32_t, char32_t>>;

const DecompositionMap& decomposition_map() {
  static const DecompositionMap map = [] {
    DecompositionMap out;
    const char* p = kDecompositions;
    while (*p) {
      char* next = nullptr;
      char32_t cp = char32_t(std::strtoul(p, &next, 16));
      char32_t first = char32_t(std::strtoul(next + 1, &next, 16));  // skips '='
      char32_t second = 0;
      if (*next == '+') second = char32_t(std::strtoul(next + 1, &next, 16));
      out.emplace(cp, std::make_pair(first, second));
      p = next;
      while (*p == ' ') ++p;
    }
    return out;
  }();
  return map;
}

void decompose(char32_t cp, const DecompositionMap& map, std::u32string& out) {
  if (cp >= kHangulBase && cp < kHangulBase + kHangulCount) {
    const char32_t index = cp - kHangulBase;
    out += char32_t(kLeadBase + index / (kVowelCount * kTrailCount));
    out += char32_t(kVowelBase + (index % (kVowelCount * kTrailCount)) / kTrailCount);
    if (index % kTrailCount != 0) out += char32_t(kTrailBase + index % kTrailCount);
    return;
  }
  auto it = map.find(cp);
  if (it == map.end()) {
    out += cp;
    return;
  }
  decompose(it->second.first, map, out);
  if (it->second.second != 0) decompose(it->second.second, map, out);
}

bool is_cased(char32_t cp) { return in_ranges(kCasedRanges, kCasedRangesSize, cp); }
bool is_case_ignorable(char32_t cp) {
  return in_ranges(kCaseIgnorableRanges, kCaseIgnorableRangesSize, cp);
}

// CPython's handle_capital_sigma: U+03A3 lowers to final sigma after a cased letter (skipping
// case-ignorables) unless a cased letter follows (again skipping case-ignorables).
char32_t lower_capital_sigma(const std::u32string& text, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(text[j - 1])) --j;
  bool final_sigma = j > 0 && is_cased(text[j - 1]);
  if (final_sigma) {
    size_t k = i + 1;
    while (k < text.size() && is_case_ignorable(text[k])) ++k;
    final_sigma = k == text.size() || !is_cased(text[k]);
  }
  return final_sigma ? 0x3C2 : 0x3C3;
}

void append_lower(char32_t cp, std::u32string& out) {
  for (size_t i = 0; i < kLowerSpecialSize; ++i) {
    if (kLowerSpecial[i].cp == cp) {
      for (char32_t c : kLowerSpecial[i].lower)
        if (c != 0) out += c;
      return;
    }
  }
  const CaseRun* end = kLowerRuns + kLowerRunsSize;
  const CaseRun* it =
      std::upper_bound(kLowerRuns, end, cp, [](char32_t c, const CaseRun& r) { return c < r.lo; });
  if (it != kLowerRuns) {
    const CaseRun& run = *(it - 1);
    if (cp <= run.hi && (cp - run.lo) % run.stride == 0) {
      out += char32_t(int64_t(cp) + run.delta);
      return;
    }
  }
  out += cp;
}

}  // namespace

std::u32string decode_utf8(const std::string& text, const std::string& what) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto lead = static_cast<unsigned char>(text[i]);
    const int n = sequence_length(lead);
    PD_CHECK(n > 0 && i + n <= text.size(), Input,
             what << " is not valid UTF-8 (byte " << i << "): re-encode the text as UTF-8");
    char32_t cp = n == 1 ? lead : lead & (0x7F >> n);
    for (int k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      PD_CHECK((c & 0xC0) == 0x80, Input,
               what << " is not valid UTF-8 (byte " << i + k << "): re-encode the text as UTF-8");
      cp = (cp << 6) | (c & 0x3F);
    }
    const bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    PD_CHECK(!overlong && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF), Input,
             what << " is not valid UTF-8 (byte " << i << "): re-encode the text as UTF-8");
    out += cp;
    i += n;
  }
  return out;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string encode_utf8(const std::u32string& text) {
  std::string out;
  out.reserve(text.size());
  for (char32_t cp : text) append_utf8(cp, out);
  return out;
}

bool is_letter(char32_t cp) { return in_ranges(kLetterRanges, kLetterRangesSize, cp); }
bool is_number(char32_t cp) { return in_ranges(kNumberRanges, kNumberRangesSize, cp); }
bool is_case_insensitive_unmatched(char32_t cp) {
  return in_ranges(kUnmatchedRanges, kUnmatchedRangesSize, cp);
}
bool is_space(char32_t cp) { return in_ranges(kSpaceRanges, kSpaceRangesSize, cp); }
bool is_space_separator(char32_t cp) {
  return in_ranges(kSpaceSeparatorRanges, kSpaceSeparatorRangesSize, cp);
}
bool is_control_or_format(char32_t cp) {
  return in_ranges(kControlFormatRanges, kControlFormatRangesSize, cp);
}
bool is_punctuation(char32_t cp) {
  return in_ranges(kPunctuationRanges, kPunctuationRangesSize, cp);
}
bool is_nonspacing_mark(char32_t cp) {
  return in_ranges(kNonspacingMarkRanges, kNonspacingMarkRangesSize, cp);
}

uint8_t combining_class(char32_t cp) {
  const ClassRange* end = kCombiningClassRanges + kCombiningClassRangesSize;
  const ClassRange* it = std::upper_bound(kCombiningClassRanges, end, cp,
                                          [](char32_t c, const ClassRange& r) { return c < r.lo; });
  if (it == kCombiningClassRanges || cp > (it - 1)->hi) return 0;
  return (it - 1)->value;
}

std::u32string to_lower(const std::u32string& text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == 0x3A3) {
      out += lower_capital_sigma(text, i);
    } else {
      append_lower(text[i], out);
    }
  }
  return out;
}

std::u32string to_nfd(const std::u32string& text) {
  const DecompositionMap& map = decomposition_map();
  std::u32string out;
  out.reserve(text.size());
  for (char32_t cp : text) decompose(cp, map, out);
  // Canonical ordering: a stable sort of each run of non-starters by combining class.
  for (size_t i = 1; i < out.size(); ++i) {
    const uint8_t ccc = combining_class(out[i]);
    if (ccc == 0) continue;
    size_t j = i;
    while (j > 0 && combining_class(out[j - 1]) > ccc) {
      std::swap(out[j - 1], out[j]);
      --j;
    }
  }
  return out;
}

std::u32string strip(const std::u32string& text) {
  size_t begin = 0, end = text.size();
  while (begin < end && is_space(text[begin])) ++begin;
  while (end > begin && is_space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

}  // namespace pangu_draw::tokenizers::unicode
