// unicode_tables.h: the generated Unicode data (unicode_tables.cpp, unicode_nfd_tables.cpp, made
// by tools/gen_unicode_tables.py from python3's unicodedata): sorted code point ranges per class,
// the runs of str.lower(), combining classes and one-level canonical decompositions.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pangu_draw::tokenizers::unicode {

struct CodeRange {
  char32_t lo, hi;  // inclusive
};
// Every `stride`-th code point in [lo, hi] lower-cases to cp + delta.
struct CaseRun {
  char32_t lo, hi;
  uint32_t stride;
  int32_t delta;
};
// A code point whose lower case is several code points (zero-terminated).
struct LowerSpecial {
  char32_t cp;
  char32_t lower[3];
};
struct ClassRange {
  char32_t lo, hi;
  uint8_t value;
};

extern const char* const kUnicodeVersion;
extern const CodeRange kLetterRanges[];  // \p{L} (regex module when available)
extern const size_t kLetterRangesSize;
extern const CodeRange kNumberRanges[];  // \p{N} (same)
extern const size_t kNumberRangesSize;
// Neither \s nor [\p{L}] / [\p{N}] / [^\s\p{L}\p{N}] under the regex module's IGNORECASE
// (U+0345): CLIP's split skips them like whitespace.
extern const CodeRange kUnmatchedRanges[];
extern const size_t kUnmatchedRangesSize;
extern const CodeRange kSpaceRanges[];  // python str.isspace()
extern const size_t kSpaceRangesSize;
extern const CodeRange kSpaceSeparatorRanges[];  // Zs
extern const size_t kSpaceSeparatorRangesSize;
extern const CodeRange kControlFormatRanges[];  // Cc, Cf
extern const size_t kControlFormatRangesSize;
extern const CodeRange kPunctuationRanges[];  // P*
extern const size_t kPunctuationRangesSize;
extern const CodeRange kNonspacingMarkRanges[];  // Mn
extern const size_t kNonspacingMarkRangesSize;
extern const CodeRange kCasedRanges[];  // Cased (for the final-sigma rule of lower())
extern const size_t kCasedRangesSize;
extern const CodeRange kCaseIgnorableRanges[];  // Case_Ignorable (same)
extern const size_t kCaseIgnorableRangesSize;
extern const CaseRun kLowerRuns[];
extern const size_t kLowerRunsSize;
extern const LowerSpecial kLowerSpecial[];
extern const size_t kLowerSpecialSize;
extern const ClassRange kCombiningClassRanges[];  // canonical combining class != 0
extern const size_t kCombiningClassRangesSize;
// "CP=FIRST[+SECOND] ..." in hex: the canonical decomposition mapping (Hangul syllables excluded:
// they decompose algorithmically).
extern const char* const kDecompositions;

}  // namespace pangu_draw::tokenizers::unicode
