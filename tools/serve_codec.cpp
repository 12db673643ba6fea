// serve_codec.cpp: base64 and in-memory PNG (libspng, the library's PNG codec too) for the server.
#include "serve_codec.h"

#include <spng.h>

#include <array>
#include <cstdlib>
#include <memory>

namespace pangu_draw::serve {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const std::string kSignature("\x89PNG\r\n\x1a\n", 8);

using SpngCtx = std::unique_ptr<spng_ctx, void (*)(spng_ctx*)>;

SpngCtx new_ctx(int flags) {
  SpngCtx ctx(spng_ctx_new(flags), spng_ctx_free);
  if (!ctx) throw Error(ErrorKind::Runtime, "libspng: cannot create a context (out of memory)");
  return ctx;
}

// Every byte printable ASCII or a newline: a tEXt chunk holds it as it is.
bool plain_ascii(const std::string& text) {
  for (unsigned char c : text) {
    if (c != '\n' && (c < 0x20 || c > 0x7e)) return false;
  }
  return true;
}

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

std::string encode_png(const Image& image, const std::string& parameters) {
  SpngCtx ctx = new_ctx(SPNG_CTX_ENCODER);
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(image.width);
  ihdr.height = static_cast<uint32_t>(image.height);
  ihdr.bit_depth = 8;
  ihdr.color_type = SPNG_COLOR_TYPE_TRUECOLOR;
  int rc = spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  if (rc == 0) rc = spng_set_ihdr(ctx.get(), &ihdr);
  std::string text = parameters;  // spng_text points into it
  static char kEmpty[] = "";
  spng_text chunk{};
  std::string("parameters").copy(chunk.keyword, 10);
  chunk.type = plain_ascii(text) ? SPNG_TEXT : SPNG_ITXT;
  chunk.text = text.data();
  chunk.length = text.size();
  chunk.language_tag = kEmpty;
  chunk.translated_keyword = kEmpty;
  if (rc == 0 && !text.empty()) rc = spng_set_text(ctx.get(), &chunk, 1);
  if (rc == 0) {
    rc = spng_encode_image(ctx.get(), image.rgb.data(), image.rgb.size(), SPNG_FMT_PNG,
                           SPNG_ENCODE_FINALIZE);
  }
  size_t length = 0;
  std::unique_ptr<void, void (*)(void*)> buffer(rc == 0 ? spng_get_png_buffer(ctx.get(), &length, &rc) : nullptr,
                                                std::free);
  if (rc != 0 || !buffer) throw Error(ErrorKind::Runtime, std::string("PNG encoding failed: ") + spng_strerror(rc));
  return std::string(static_cast<const char*>(buffer.get()), length);
}

Image decode_png(const std::string& bytes, std::int64_t max_pixels, const std::string& field) {
  if (bytes.compare(0, kSignature.size(), kSignature) != 0) {
    throw Error(ErrorKind::Input, field + ": not a PNG image (send base64 PNG)");
  }
  SpngCtx ctx = new_ctx(0);
  int rc = spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size());
  if (rc == 0) rc = spng_set_chunk_limits(ctx.get(), size_t(8) << 20, size_t(64) << 20);
  if (rc == 0) rc = spng_set_crc_action(ctx.get(), SPNG_CRC_ERROR, SPNG_CRC_ERROR);
  spng_ihdr ihdr{};
  if (rc == 0) rc = spng_get_ihdr(ctx.get(), &ihdr);
  auto bad = [&](int code) {
    return Error(ErrorKind::Input, field + ": not a valid PNG image: " + spng_strerror(code));
  };
  if (rc != 0) throw bad(rc);
  if (int64_t(ihdr.width) * int64_t(ihdr.height) > max_pixels) {
    throw Error(ErrorKind::Input, field + ": image is " + std::to_string(ihdr.width) + "x" +
                                      std::to_string(ihdr.height) + ", more than the " +
                                      std::to_string(max_pixels) + " pixels allowed");
  }
  size_t size = 0;
  rc = spng_decoded_image_size(ctx.get(), SPNG_FMT_RGB8, &size);
  if (rc != 0) throw bad(rc);
  Image image;
  image.width = static_cast<int>(ihdr.width);
  image.height = static_cast<int>(ihdr.height);
  image.rgb.resize(size);
  rc = spng_decode_image(ctx.get(), image.rgb.data(), size, SPNG_FMT_RGB8, 0);
  if (rc == 0) rc = spng_decode_chunks(ctx.get());
  if (rc != 0) throw bad(rc);
  return image;
}

}  // namespace pangu_draw::serve
