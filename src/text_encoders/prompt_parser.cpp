// prompt_parser.cpp: the A1111 emphasis parser: a lexer over the bracket, escape and weight
// lexemes (tried in A1111's order), a stack of open brackets whose close scales every fragment
// since the open, BREAK splitting of plain text, and the merge of equal-weight neighbours.
#include "text_encoders/prompt_parser.h"

#include <charconv>

#include "core/error.h"
#include "tokenizers/unicode_text.h"

namespace pangu_draw::text_encoders {

namespace {

namespace uc = tokenizers::unicode;

constexpr double kRound = 1.1;
constexpr double kSquare = 1 / 1.1;

bool is_special(char c) {
  return c == '\\' || c == '(' || c == ')' || c == '[' || c == ']' || c == ':';
}

// Python's \w for str.
bool is_word(char32_t c) { return c == U'_' || uc::is_letter(c) || uc::is_number(c); }

// re.split(r"\s*\bBREAK\b\s*", text): the pieces between BREAK words, whitespace around each
// BREAK dropped.
std::vector<std::string> split_break(const std::string& text) {
  if (text.find("BREAK") == std::string::npos) return {text};
  const std::u32string s = uc::decode_utf8(text, "prompt");
  const std::u32string word = U"BREAK";
  std::vector<std::string> out;
  size_t piece = 0, scan = 0;
  while (scan < s.size()) {
    const size_t at = s.find(word, scan);
    if (at == std::u32string::npos) break;
    const size_t end = at + word.size();
    const bool left = at == 0 || !is_word(s[at - 1]);
    const bool right = end == s.size() || !is_word(s[end]);
    if (!left || !right) {
      scan = at + 1;
      continue;
    }
    size_t cut = at;  // leftmost match: the whitespace run just before BREAK belongs to it
    while (cut > piece && uc::is_space(s[cut - 1])) --cut;
    size_t next = end;
    while (next < s.size() && uc::is_space(s[next])) ++next;
    out.push_back(uc::encode_utf8(s.substr(piece, cut - piece)));
    piece = scan = next;
  }
  out.push_back(uc::encode_utf8(s.substr(piece)));
  return out;
}

// ":<number>)" at `i` as A1111's pattern :([+-]?[.\d]+)\) reads it: the number's length, 0 if
// the pattern does not match.
size_t weight_lexeme(const std::string& p, size_t i, std::string& number) {
  size_t j = i + 1;
  if (j < p.size() && (p[j] == '+' || p[j] == '-')) ++j;
  const size_t digits = j;
  while (j < p.size() && (p[j] == '.' || (p[j] >= '0' && p[j] <= '9'))) ++j;
  if (j == digits || j >= p.size() || p[j] != ')') return 0;
  number = p.substr(i + 1, j - i - 1);
  return j + 1 - i;
}

// Python's float() of a [+-]?[.\d]+ string: one '.' at most and a digit.
double python_float(const std::string& number) {
  size_t dots = 0, digits = 0;
  for (char c : number) {
    dots += c == '.' ? 1 : 0;
    digits += (c >= '0' && c <= '9') ? 1 : 0;
  }
  PD_CHECK(dots <= 1 && digits > 0, Input,
           "prompt weight '" << number << "' is not a number (A1111 fails on it too): write it as "
                             << "(text:1.2)");
  const size_t skip = number[0] == '+' ? 1 : 0;  // from_chars takes no '+'
  double v = 0;
  std::from_chars(number.data() + skip, number.data() + number.size(), v);  // correctly rounded
  return v;
}

class Parser {
 public:
  std::vector<PromptFragment> run(const std::string& p) {
    size_t i = 0;
    while (i < p.size()) i += step(p, i);
    for (size_t start : round_) scale_from(start, kRound);
    for (size_t start : square_) scale_from(start, kSquare);
    if (out_.empty()) out_.push_back({"", 1.0});
    std::vector<PromptFragment> merged{out_.front()};
    for (size_t k = 1; k < out_.size(); ++k) {
      if (out_[k].weight == merged.back().weight) {
        merged.back().text += out_[k].text;
      } else {
        merged.push_back(out_[k]);
      }
    }
    return merged;
  }

 private:
  // Consumes one lexeme at `i`; returns its length.
  size_t step(const std::string& p, size_t i) {
    const char c = p[i];
    if (c == '\\') {
      const bool escaped =
          i + 1 < p.size() && std::string("()[]\\").find(p[i + 1]) != std::string::npos;
      out_.push_back({escaped ? std::string(1, p[i + 1]) : std::string(), 1.0});
      return escaped ? 2 : 1;
    }
    if (c == '(' || c == '[') {
      (c == '(' ? round_ : square_).push_back(out_.size());
      return 1;
    }
    std::string number;
    const size_t weighted = c == ':' ? weight_lexeme(p, i, number) : 0;
    if (weighted && !round_.empty()) {
      scale_from(pop(round_), python_float(number));
      return weighted;
    }
    if (c == ')' && !round_.empty()) {
      scale_from(pop(round_), kRound);
      return 1;
    }
    if (c == ']' && !square_.empty()) {
      scale_from(pop(square_), kSquare);
      return 1;
    }
    size_t len = weighted ? weighted : 1;  // a stray closer, ':' or ":<number>)" is text
    if (!is_special(c)) {
      while (i + len < p.size() && !is_special(p[i + len])) ++len;
    }
    const auto pieces = split_break(p.substr(i, len));
    for (size_t k = 0; k < pieces.size(); ++k) {
      if (k > 0) out_.push_back({"BREAK", -1.0});
      out_.push_back({pieces[k], 1.0});
    }
    return len;
  }

  static size_t pop(std::vector<size_t>& stack) {
    const size_t v = stack.back();
    stack.pop_back();
    return v;
  }

  void scale_from(size_t start, double factor) {
    for (size_t k = start; k < out_.size(); ++k) out_[k].weight *= factor;
  }

  std::vector<PromptFragment> out_;
  std::vector<size_t> round_, square_;
};

}  // namespace

std::vector<PromptFragment> parse_prompt_attention(const std::string& prompt) {
  return Parser().run(prompt);
}

}  // namespace pangu_draw::text_encoders
