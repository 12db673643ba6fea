// Tests of the PNG "parameters" text (src/api/infotext.cpp) against A1111's own reading rules:
// a C++ re-implementation of modules/infotext_utils.py parse_generation_parameters (its pattern
// `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)` with Python's Unicode \w and \s, the
// prompt / negative prompt split, JSON unquoting) gets every field back exactly, for prompts with
// commas, colons, quotes, newlines and Chinese; no local path is written; and Pillow plus the same
// rules in Python (check_png_parameters.py) read the PNG we write identically.
#include <gtest/gtest.h>

#include <cctype>
#include <clocale>
#include <cstdlib>
#include <cwctype>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "api/infotext.h"
#include "io/atomic_file.h"
#include "io/png.h"
#include "pipeline/model_bundle.h"
#include "support/fixtures.h"
#include "support/process.h"

namespace api = pangu_draw::api;
namespace io = pangu_draw::io;
using Fields = std::map<std::string, std::string>;

namespace {

std::u32string u32(const std::string& s) {  // valid UTF-8 -> code points
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto b = uint8_t(s[i]);
    const size_t n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
    char32_t cp = n == 1 ? b : b & (0xff >> (n + 1));
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3f);
    out.push_back(cp);
    i += n;
  }
  return out;
}

std::string utf8(const std::u32string& s) {
  std::string out;
  for (char32_t c : s) {
    if (c < 0x80) {
      out += char(c);
    } else if (c < 0x800) {
      out += {char(0xc0 | (c >> 6)), char(0x80 | (c & 0x3f))};
    } else if (c < 0x10000) {
      out += {char(0xe0 | (c >> 12)), char(0x80 | ((c >> 6) & 0x3f)), char(0x80 | (c & 0x3f))};
    } else {
      out += {char(0xf0 | (c >> 18)), char(0x80 | ((c >> 12) & 0x3f)), char(0x80 | ((c >> 6) & 0x3f)),
              char(0x80 | (c & 0x3f))};
    }
  }
  return out;
}

// Python's str.isspace() and \w (str.isalnum() or '_'; glibc's C.UTF-8 classes for non-ASCII).
bool py_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 ||
         c == 0x202f || c == 0x205f || c == 0x3000;
}
bool py_word(char32_t c) {
  static const locale_t utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(0));
  if (c < 0x80) return c == U'_' || std::isalnum(int(c)) != 0;
  return !utf8_locale || iswalnum_l(wint_t(c), utf8_locale) != 0;
}

std::u32string py_strip(const std::u32string& s) {
  size_t a = 0, b = s.size();
  while (a < b && py_space(s[a])) ++a;
  while (b > a && py_space(s[b - 1])) --b;
  return s.substr(a, b - a);
}

// One match of A1111's pattern at `p` (no match: false). Backtracking never changes its result
// here: the key is the longest run of [\w \-/] and must be followed by ':'; the quoted branch
// ends at the first unescaped '"' and needs ',' or the end after it, else the [^,]* branch runs
// to the next comma (or the end, where $ matches).
bool match_param(const std::u32string& s, size_t p, std::u32string& key, std::u32string& value, size_t& end) {
  const size_t n = s.size();
  while (p < n && py_space(s[p])) ++p;
  if (p >= n || !py_word(s[p])) return false;
  size_t k = p + 1;
  while (k < n && (py_word(s[k]) || s[k] == U' ' || s[k] == U'-' || s[k] == U'/')) ++k;
  if (k - p < 2 || k >= n || s[k] != U':') return false;
  key = s.substr(p, k - p);
  size_t v = k + 1;
  while (v < n && py_space(s[v])) ++v;
  if (v < n && s[v] == U'"') {
    size_t q = v + 1;
    bool escapes_ok = true;  // `\\.`: a backslash and any character but a newline
    while (q < n && s[q] != U'"' && escapes_ok) {
      escapes_ok = s[q] != U'\\' || (q + 1 < n && s[q + 1] != U'\n');
      q += s[q] == U'\\' ? 2 : 1;
    }
    const bool closed = escapes_ok && q < n && q > v + 1;
    const bool at_end = q + 1 == n || (q + 2 == n && s[q + 1] == U'\n');
    if (closed && (at_end || s[q + 1] == U',')) {
      value = s.substr(v, q + 1 - v);
      end = at_end ? q + 1 : q + 2;
      return true;
    }
  }
  size_t c = v;
  while (c < n && s[c] != U',') ++c;
  value = s.substr(v, c - v);
  end = c < n ? c + 1 : c;
  return true;
}

std::vector<std::pair<std::u32string, std::u32string>> findall(const std::u32string& s) {
  std::vector<std::pair<std::u32string, std::u32string>> out;
  for (size_t p = 0; p <= s.size();) {
    std::u32string key, value;
    size_t end = 0;
    if (match_param(s, p, key, value, end)) {
      out.emplace_back(key, value);
      p = end;
    } else {
      ++p;
    }
  }
  return out;
}

std::string unquote(const std::string& v) {  // json.loads, the text as it was when that fails
  try {
    const auto j = nlohmann::json::parse(v);
    if (j.is_string()) return j.get<std::string>();
  } catch (const nlohmann::json::exception&) {
  }
  return v;
}

void add_value(Fields& fields, const std::string& key, const std::string& v) {
  const size_t x = v.find('x');
  const auto digits = [](const std::string& d) {
    return !d.empty() && d.find_first_not_of("0123456789") == std::string::npos;
  };
  if (x != std::string::npos && digits(v.substr(0, x)) && digits(v.substr(x + 1))) {
    fields[key + "-1"] = v.substr(0, x);
    fields[key + "-2"] = v.substr(x + 1);
  } else {
    fields[key] = v;
  }
}

// A1111's parse_generation_parameters up to the defaults it adds for missing keys.
Fields a1111_parse(const std::string& text) {
  const std::u32string all = py_strip(u32(text));
  std::vector<std::u32string> lines;
  for (size_t a = 0;;) {
    const size_t nl = all.find(U'\n', a);
    lines.push_back(all.substr(a, nl == std::u32string::npos ? std::u32string::npos : nl - a));
    if (nl == std::u32string::npos) break;
    a = nl + 1;
  }
  std::u32string last = lines.back();
  lines.pop_back();
  if (findall(last).size() < 3) {
    lines.push_back(last);
    last.clear();
  }
  std::u32string prompt, negative;
  bool in_negative = false;
  for (std::u32string line : lines) {
    line = py_strip(line);
    if (line.rfind(U"Negative prompt:", 0) == 0) {
      in_negative = true;
      line = py_strip(line.substr(16));
    }
    std::u32string& into = in_negative ? negative : prompt;
    into += (into.empty() ? U"" : U"\n") + line;
  }
  Fields fields{{"Prompt", utf8(prompt)}, {"Negative prompt", utf8(negative)}};
  for (const auto& [k, v] : findall(last)) {
    if (v.empty()) continue;  // A1111: v[0] raises, the entry is skipped
    const std::string value = utf8(v);
    add_value(fields, utf8(k), v.front() == U'"' && v.back() == U'"' ? unquote(value) : value);
  }
  return fields;
}

// The embedded model's layout: a folder with its own texture UNet, at an absolute path.
pangu_draw::pipeline::ModelBundle tiny_model() {
  pangu_draw::pipeline::ModelBundle model;
  model.path = "/home/someone/pangu-draw/models/tiny";
  model.name = "tiny";
  auto texture = std::make_shared<pangu_draw::pipeline::ModelBundle>();
  texture->path = model.path + "/unet_texture";
  texture->name = "tiny/unet_texture";
  model.texture = texture;
  return model;
}

const std::string kPrompt = "a cat, \"sitting\": on a mat\n\xe4\xb8\x80\xe5\x8f\xaa\xe7\x8c\xab\xef\xbc\x8c"
                            "\xe5\x9d\x90\xe5\x9c\xa8\xe5\x9e\xab\xe5\xad\x90\xe4\xb8\x8a";  // 一只猫，坐在垫子上
const std::string kNegative = "blurry, \xe4\xbd\x8e\xe8\xb4\xa8\xe9\x87\x8f: bad \"hands\"";  // 低质量
const std::string kOriginal = "\xe7\x8c\xab, \"cat\":\nthe original";  // 猫

// A request with every entry the text can hold, each value holding a comma, colon, quote,
// newline or Chinese where it can.
pangu_draw::Request full_request() {
  pangu_draw::Request r;
  r.prompt = kPrompt;
  r.negative_prompt = kNegative;
  r.steps = 20;
  r.sampler = "euler_a";
  r.schedule = "karras";
  r.cfg_scale = 6.5f;
  r.controlnet_path = "/home/someone/models/canny-net/";
  r.control_scale = 0.75f;
  r.styles = {{"aesthetic", 2.0f}, {"\xe6\xb0\xb4\xe5\xa2\xa8\xe7\x94\xbb, ink: \"wash\"", 1.5f}};  // 水墨画
  pangu_draw::Expert structure, texture, other;
  structure.to_t = 500;
  texture.model_path = "/home/someone/pangu-draw/models/tiny/unet_texture/";
  texture.from_t = 500;
  other.model_path = "/data/checkpoints/v1-5-pruned-emaonly.safetensors";
  other.weight = 0.5f;
  r.experts = {structure, texture, other};
  return r;
}

const Fields kExpected = {
    {"Prompt", kPrompt}, {"Negative prompt", kNegative}, {"Steps", "20"},
    {"Sampler", "Euler a Karras"}, {"CFG scale", "6.5"}, {"Seed", "1234567"},
    {"Size-1", "512"}, {"Size-2", "384"}, {"Model", "tiny"}, {"ControlNet", "canny-net"},
    {"Control scale", "0.75"}, {"Style 1", "aesthetic 2"},
    {"Style 2", "\xe6\xb0\xb4\xe5\xa2\xa8\xe7\x94\xbb, ink: \"wash\" 1.5"},
    {"Expert 1", "tiny w1 t[500,-1)"}, {"Expert 2", "tiny/unet_texture w1 t[-1,500)"},
    {"Expert 3", "v1-5-pruned-emaonly w0.5"}, {"Original prompt", kOriginal},
    {"Version", "pangu-draw"}};

std::string full_text() {
  return api::parameters_text(full_request(), kOriginal, 1234567, 512, 384, tiny_model());
}

}  // namespace

TEST(Infotext, QuotesAsA1111Quotes) {
  EXPECT_EQ(api::infotext_quote("Euler a"), "Euler a");
  EXPECT_EQ(api::infotext_quote("\xe7\x8c\xab\xef\xbc\x8c\xe7\x8b\x97"), "\xe7\x8c\xab\xef\xbc\x8c\xe7\x8b\x97");  // 猫，狗
  EXPECT_EQ(api::infotext_quote("a, b"), "\"a, b\"");
  EXPECT_EQ(api::infotext_quote("t: 1"), "\"t: 1\"");
  EXPECT_EQ(api::infotext_quote("say \"hi\",\nbye\\"), "\"say \\\"hi\\\",\\nbye\\\\\"");
  EXPECT_EQ(api::infotext_quote("\xe7\x8c\xab, \xe7\x8b\x97"), "\"\xe7\x8c\xab, \xe7\x8b\x97\"");  // kept as UTF-8
  // Beyond A1111's quote(), so these too come back exactly: empty, a leading quote, edge spaces.
  EXPECT_EQ(api::infotext_quote(""), "\"\"");
  EXPECT_EQ(api::infotext_quote("\"x\""), "\"\\\"x\\\"\"");
  EXPECT_EQ(api::infotext_quote(" x"), "\" x\"");
  EXPECT_EQ(api::infotext_quote("x\xe3\x80\x80"), "\"x\xe3\x80\x80\"");  // ideographic space
}

TEST(Infotext, ModelsAreNamedWithoutLocalPaths) {
  EXPECT_EQ(api::model_label("/home/someone/models/sd15/"), "sd15");
  EXPECT_EQ(api::model_label("/home/someone/sd1/model"), "sd1");
  EXPECT_EQ(api::model_label("models/v1-5-pruned-emaonly.safetensors"), "v1-5-pruned-emaonly");
  EXPECT_EQ(api::model_label("anything-v3.ckpt"), "anything-v3");
  const std::string text = full_text();
  EXPECT_EQ(text.find("/home/"), std::string::npos) << text;
  EXPECT_EQ(text.find("/data/"), std::string::npos) << text;
}

TEST(Infotext, A1111sParserGetsEveryFieldBackExactly) {
  const std::string text = full_text();
  EXPECT_EQ(a1111_parse(text), kExpected) << text;
}

// The same text with neither negative prompt nor any optional entry: Prompt is the whole prompt.
TEST(Infotext, A1111sParserReadsAPlainRequest) {
  pangu_draw::Request r;
  r.prompt = kPrompt;
  const std::string text = api::parameters_text(r, r.prompt, 7, 64, 64, tiny_model());
  const Fields want = {{"Prompt", kPrompt}, {"Negative prompt", ""}, {"Steps", "30"},
                       {"Sampler", "Euler"}, {"CFG scale", "7.5"}, {"Seed", "7"},
                       {"Size-1", "64"}, {"Size-2", "64"}, {"Model", "tiny"},
                       {"Version", "pangu-draw"}};
  EXPECT_EQ(a1111_parse(text), want) << text;
}

// The pattern itself, on A1111's docstring example and on quoted values with escapes.
TEST(Infotext, ParserReimplementationFollowsThePattern) {
  const Fields got = a1111_parse(
      "girl, blue eyes\nNegative prompt: ugly, (extra_limb)\nSteps: 20, Sampler: Euler a, "
      "CFG scale: 7, Seed: 965400086, Size: 512x512, Model hash: 45dee52b, "
      "Lora hashes: \"a: 1, b: 2\", Note: \"x\\\"y\", Empty: , Odd: \"unclosed");
  const Fields want = {{"Prompt", "girl, blue eyes"}, {"Negative prompt", "ugly, (extra_limb)"},
                       {"Steps", "20"}, {"Sampler", "Euler a"}, {"CFG scale", "7"},
                       {"Seed", "965400086"}, {"Size-1", "512"}, {"Size-2", "512"},
                       {"Model hash", "45dee52b"}, {"Lora hashes", "a: 1, b: 2"},
                       {"Note", "x\"y"}, {"Odd", "\"unclosed"}};
  EXPECT_EQ(got, want);
}

// Pillow (what A1111 reads PNG info with) gets the exact UTF-8 text from our PNG, and A1111's
// rules in Python (real `re`, real `json`) the same fields. Skipped where Python has no Pillow
// (tools/install_deps.sh installs it in .venv; PD_PYTHON names another interpreter).
TEST(Infotext, PillowAndA1111ReadThePngWeWrite) {
  const char* env = std::getenv("PD_PYTHON");
  const std::string python = env && *env ? env : PD_PYTHON;
  if (!std::ifstream(python)) GTEST_SKIP() << "no Python at " << python;
  const std::string dir = pangu_draw::testing::temp_dir("infotext");
  const std::string text = full_text();
  io::write_png_file(dir + "/a.png", pangu_draw::Image{8, 8, std::vector<uint8_t>(192, 90)}, text, false);
  nlohmann::json expected = {{"text", text}, {"fields", kExpected}};
  io::write_file_atomic(dir + "/expected.json", expected.dump(), false);
  const auto run = pangu_draw::testing::run_command(
      python + " " + PD_CHECK_SCRIPT + " " + dir + "/a.png " + dir + "/expected.json 2>&1");
  if (run.code == 77) GTEST_SKIP() << run.output;
  EXPECT_EQ(run.code, 0) << run.output;
}
