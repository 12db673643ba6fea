// infotext_read.cpp: A1111's parse_generation_parameters re-done in C++ (see infotext_read.h):
// the pattern's matches are found by hand, as Python's re.findall walks the line, so that long
// quoted values need no recursive regex engine.
#include "infotext_read.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace pangu_draw::cli {

namespace {

bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// \w on UTF-8 bytes: ASCII letters, digits and '_', and every non-ASCII character.
bool word(char c) {
  const auto b = static_cast<unsigned char>(c);
  return b >= 0x80 || std::isalnum(b) || b == '_';
}

bool key_char(char c) { return word(c) || c == ' ' || c == '-' || c == '/'; }

std::string strip(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && space(s[a])) ++a;
  while (b > a && space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

// The end of `"(?:\\.|[^\\"])+"` starting at the quote at `k` (one past the closing quote), or
// npos when it does not match there.
size_t quoted_end(const std::string& s, size_t k) {
  size_t m = k + 1;
  while (m < s.size()) {
    if (s[m] == '\\' && m + 1 < s.size() && s[m + 1] != '\n') m += 2;
    else if (s[m] != '\\' && s[m] != '"') ++m;
    else break;
  }
  if (m == k + 1 || m >= s.size() || s[m] != '"') return std::string::npos;
  return m + 1;
}

// One match of the pattern at `pos`: key, value, and where the next search starts.
bool match_at(const std::string& s, size_t pos, std::string& key, std::string& value, size_t& next) {
  size_t i = pos;
  while (i < s.size() && space(s[i])) ++i;
  if (i >= s.size() || !word(s[i])) return false;
  size_t j = i + 1;
  while (j < s.size() && key_char(s[j])) ++j;
  if (j - i < 2 || j >= s.size() || s[j] != ':') return false;
  size_t k = j + 1;
  while (k < s.size() && space(s[k])) ++k;
  size_t end = std::string::npos;
  if (k < s.size() && s[k] == '"') {
    end = quoted_end(s, k);
    if (end != std::string::npos && end < s.size() && s[end] != ',') end = std::string::npos;
  }
  if (end == std::string::npos) end = std::min(s.find(',', k), s.size());  // [^,]*
  key = s.substr(i, j - i);
  value = s.substr(k, end - k);
  next = end < s.size() ? end + 1 : end;
  return true;
}

// A1111's unquote(): a value in double quotes is a JSON string (kept as is when it is not one).
std::string unquote(const std::string& v) {
  if (v.size() < 2 || v.front() != '"' || v.back() != '"') return v;
  const auto j = nlohmann::json::parse(v, nullptr, false);
  return j.is_string() ? j.get<std::string>() : v;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> find_settings(const std::string& line) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos < line.size()) {
    std::string key, value;
    size_t next = pos;
    if (match_at(line, pos, key, value, next)) {
      out.emplace_back(key, value);
      pos = next;
    } else {
      ++pos;
    }
  }
  return out;
}

Infotext parse_infotext(const std::string& text) {
  std::vector<std::string> lines;
  const std::string all = strip(text);
  for (size_t start = 0;;) {
    const size_t nl = all.find('\n', start);
    lines.push_back(all.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  Infotext out;
  auto found = find_settings(lines.back());
  if (found.size() >= 3) lines.pop_back();
  else found.clear();
  bool negative = false;
  for (const std::string& raw : lines) {
    std::string line = strip(raw);
    if (line.rfind("Negative prompt:", 0) == 0) {
      negative = true;
      line = strip(line.substr(16));
    }
    std::string& into = negative ? out.negative_prompt : out.prompt;
    into += (into.empty() ? "" : "\n") + line;
  }
  for (auto& [key, value] : found) {
    if (value.empty()) continue;  // A1111 fails on v[0] and skips the entry
    out.settings.emplace_back(key, unquote(value));
  }
  return out;
}

bool Infotext::has(const std::string& key) const {
  for (const auto& kv : settings) {
    if (kv.first == key) return true;
  }
  return false;
}

std::string Infotext::get(const std::string& key) const {
  std::string value;
  for (const auto& kv : settings) {
    if (kv.first == key) value = kv.second;
  }
  return value;
}

}  // namespace pangu_draw::cli
