// serve_codec.cpp: base64 for the server's image fields (PNG itself: pangu_draw::encode_png /
// decode_png, the library's codec).
#include "serve_codec.h"

#include <array>

namespace pangu_draw::serve {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

}  // namespace

std::string base64_encode(const std::string& bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) |
                       uint8_t(bytes[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out += kAlphabet[(v >> s) & 63];
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) v |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string base64_decode(const std::string& text, const std::string& field) {
  static const std::array<int, 256> value = [] {
    std::array<int, 256> v{};
    v.fill(-1);
    for (int k = 0; k < 64; ++k) v[uint8_t(kAlphabet[k])] = k;
    return v;
  }();
  size_t start = 0;
  if (text.compare(0, 5, "data:") == 0) {  // data URL: "data:image/png;base64,...."
    const size_t comma = text.find(',');
    if (comma == std::string::npos) throw Error(ErrorKind::Input, field + ": a data URL without a comma");
    start = comma + 1;
  }
  std::string out;
  out.reserve((text.size() - start) / 4 * 3);
  uint32_t acc = 0;
  int bits = 0, pad = 0;
  for (size_t i = start; i < text.size(); ++i) {
    const auto c = uint8_t(text[i]);
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') { ++pad; continue; }
    if (value[c] < 0 || pad > 0) {
      throw Error(ErrorKind::Input, field + ": not base64 (character " + std::to_string(int(c)) +
                                        " at offset " + std::to_string(i) + ")");
    }
    acc = (acc << 6) | uint32_t(value[c]);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += char((acc >> bits) & 0xff);
    }
  }
  if (bits >= 6 || pad > 2) throw Error(ErrorKind::Input, field + ": base64 of a bad length");
  return out;
}

}  // namespace pangu_draw::serve
