// png.cpp: PNG codec on libspng — RGB8 pixels in and out, the "parameters" text chunk (tEXt for
// Latin-1 text, iTXt for the rest) — plus the chunk CRC used to name a damaged chunk.
//
// Why libspng and not stb_image (used before): stb never checks chunk CRCs, so a damaged control
// image (PngSuite xhdn0g08: bad IHDR CRC; xcsn0g01: bad IDAT CRC) was accepted, and a damaged
// header only got stb's vague "unknown image type". fuzz_png also found stb allocating from a
// chunk's claimed length and memcpy'ing into a NULL buffer on an empty IDAT, which needed a chunk
// pre-pass of our own. libspng is a maintained, fuzzed PNG library (Debian's libspng-dev) that
// checks every chunk's CRC and the zlib stream's Adler-32, validates the header and chunk order,
// bounds its allocations (spng_set_chunk_limits), reads and writes tEXt / zTXt / iTXt, and
// streams IDAT from the buffer without trusting declared lengths.
#include "io/png.h"

#include <spng.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"

namespace pangu_draw::io {

uint32_t crc32(const std::string& bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t n = 0; n < 256; ++n) {
      uint32_t c = n;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
      t[n] = c;
    }
    return t;
  }();
  uint32_t c = 0xffffffffu;
  for (unsigned char b : bytes) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

namespace {

const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
// Bounds what libspng inflates or keeps for ancillary chunks (text, ICC profiles): a zip bomb
// in a zTXt chunk stops here. The longest "parameters" text is a few hundred KB.
constexpr size_t kMaxChunkBytes = size_t(64) << 20;
constexpr size_t kMaxCacheBytes = size_t(256) << 20;

using SpngCtx = std::unique_ptr<spng_ctx, void (*)(spng_ctx*)>;

SpngCtx new_ctx(int flags) {
  SpngCtx ctx(spng_ctx_new(flags), spng_ctx_free);
  PD_CHECK(ctx, Runtime, "libspng: cannot create a context (out of memory)");
  return ctx;
}

// A decoder over `bytes` (which must outlive it). Any chunk whose CRC does not match is an error,
// ancillary ones included (libspng's default drops those silently: a damaged "parameters" chunk
// would read as absent).
SpngCtx decoder(const std::string& bytes) {
  SpngCtx ctx = new_ctx(0);
  PD_CHECK(spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size()) == 0 &&
               spng_set_chunk_limits(ctx.get(), kMaxChunkBytes, kMaxCacheBytes) == 0 &&
               spng_set_crc_action(ctx.get(), SPNG_CRC_ERROR, SPNG_CRC_ERROR) == 0,
           Runtime, "libspng: cannot set up the decoder");
  return ctx;
}

uint32_t read_be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

// What libspng's error `rc` means for these bytes; a CRC error names the damaged chunk.
std::string describe(int rc, const std::string& bytes) {
  if (rc == SPNG_ECHUNK_CRC) {
    for (size_t at = kSignature.size(); at + 12 <= bytes.size();) {
      const uint32_t len = read_be32(bytes, at);
      if (len > bytes.size() - at - 12) break;
      if (crc32(bytes.substr(at + 4, 4 + len)) != read_be32(bytes, at + 8 + len)) {
        return "the CRC of its " + bytes.substr(at + 4, 4) + " chunk (at byte " +
               std::to_string(at) + ") does not match the chunk's data";
      }
      at += 12 + len;
    }
  }
  return std::string(spng_strerror(rc));
}

// UTF-8 -> code points; each byte of an invalid sequence (overlong, surrogate, truncated, above
// U+10FFFF) becomes U+FFFD.
std::u32string decode_utf8(const std::string& s) {
  static constexpr char32_t kLeadMask[] = {0x7f, 0x1f, 0x0f, 0x07};
  static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};  // shorter forms are overlong
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto b = uint8_t(s[i]);
    const int n = b < 0x80 ? 0 : (b >> 5) == 6 ? 1 : (b >> 4) == 14 ? 2 : (b >> 3) == 30 ? 3 : -1;
    bool ok = n >= 0 && size_t(n) < s.size() - i;  // its continuation bytes are there
    char32_t cp = ok ? b & kLeadMask[n] : 0;
    for (int k = 1; ok && k <= n; ++k) {
      ok = (uint8_t(s[i + k]) >> 6) == 2;
      cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3f);
    }
    ok = ok && cp >= kMin[n] && cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
    out.push_back(ok ? cp : U'\ufffd');
    i += ok ? n + 1 : 1;
  }
  return out;
}

void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xc0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += char(0xe0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  } else {
    out += char(0xf0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3f));
    out += char(0x80 | ((cp >> 6) & 0x3f));
    out += char(0x80 | (cp & 0x3f));
  }
}

// tEXt holds Latin-1 without control characters other than newline (PNG spec 11.3.4.3; libspng
// checks the same set).
bool tEXt_character(char32_t cp) {
  return cp == U'\n' || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa1 && cp <= 0xff);
}

std::string latin1_to_utf8(const char* text, size_t length) {
  std::string out;
  for (size_t i = 0; i < length; ++i) append_utf8(out, uint8_t(text[i]));
  return out;
}

// The chunk for `text`: tEXt with Latin-1 bytes when it can be, else iTXt with (valid) UTF-8.
// `storage` keeps the bytes the returned spng_text points to.
spng_text text_chunk(const std::string& key, const std::string& text, std::string& storage) {
  PD_CHECK(!key.empty() && key.size() < 80, Runtime,
           "PNG text keyword '" << key << "' must be 1 to 79 characters");
  spng_text chunk{};
  key.copy(chunk.keyword, key.size());
  const std::u32string cps = decode_utf8(text);
  bool latin1 = true;
  for (char32_t cp : cps) latin1 = latin1 && tEXt_character(cp);
  storage.clear();
  for (char32_t cp : cps) latin1 ? storage.push_back(char(uint8_t(cp))) : append_utf8(storage, cp);
  chunk.type = latin1 ? SPNG_TEXT : SPNG_ITXT;
  chunk.text = storage.data();
  chunk.length = storage.size();
  static char kEmpty[] = "";
  chunk.language_tag = kEmpty;  // iTXt: no language, no translated keyword, not compressed
  chunk.translated_keyword = kEmpty;
  return chunk;
}

}  // namespace

std::string encode_png(const Image& image, const std::string& key, const std::string& text) {
  PD_CHECK(image.width > 0 && image.height > 0 &&
               image.rgb.size() == size_t(image.width) * size_t(image.height) * 3,
           Runtime, "encode_png: image buffer does not match its size");
  SpngCtx ctx = new_ctx(SPNG_CTX_ENCODER);
  spng_ihdr ihdr{};
  ihdr.width = static_cast<uint32_t>(image.width);
  ihdr.height = static_cast<uint32_t>(image.height);
  ihdr.bit_depth = 8;
  ihdr.color_type = SPNG_COLOR_TYPE_TRUECOLOR;
  int rc = spng_set_option(ctx.get(), SPNG_ENCODE_TO_BUFFER, 1);
  if (rc == 0) rc = spng_set_ihdr(ctx.get(), &ihdr);
  std::string storage;
  spng_text chunk{};
  if (rc == 0 && !text.empty()) {
    chunk = text_chunk(key, text, storage);
    rc = spng_set_text(ctx.get(), &chunk, 1);
  }
  if (rc == 0) {
    rc = spng_encode_image(ctx.get(), image.rgb.data(), image.rgb.size(), SPNG_FMT_PNG,
                           SPNG_ENCODE_FINALIZE);
  }
  PD_CHECK(rc == 0, Runtime, "PNG encoding failed: " << spng_strerror(rc));
  size_t length = 0;
  std::unique_ptr<void, void (*)(void*)> buffer(spng_get_png_buffer(ctx.get(), &length, &rc), std::free);
  PD_CHECK(buffer && rc == 0, Runtime, "PNG encoding failed: " << spng_strerror(rc));
  return std::string(static_cast<const char*>(buffer.get()), length);
}

void write_png_file(const std::string& path, const Image& image, const std::string& parameters,
                    bool overwrite) {
  write_file_atomic(path, encode_png(image, "parameters", parameters), overwrite);
}

Image read_image(const std::string& path, int64_t max_pixels) {
  return decode_png(read_file(path), path, max_pixels);
}

Image decode_png(const std::string& bytes, const std::string& origin, int64_t max_pixels) {
  PD_CHECK(bytes.compare(0, kSignature.size(), kSignature) == 0, Input,
           origin << ": not a PNG file; images must be PNG (convert it, e.g. "
                  << "`convert in.jpg out.png`)");
  auto corrupt = [&](int rc) {
    return origin + ": not a valid PNG image: " + describe(rc, bytes) +
           "; the file is damaged or truncated (export or download it again)";
  };
  SpngCtx ctx = decoder(bytes);
  spng_ihdr ihdr{};
  int rc = spng_get_ihdr(ctx.get(), &ihdr);
  PD_CHECK(rc == 0, Input, corrupt(rc));
  PD_CHECK(int64_t(ihdr.width) * int64_t(ihdr.height) <= max_pixels, Input,
           origin << ": image is " << ihdr.width << "x" << ihdr.height << ", larger than the "
                << max_pixels << " pixels allowed");
  size_t size = 0;
  rc = spng_decoded_image_size(ctx.get(), SPNG_FMT_RGB8, &size);
  PD_CHECK(rc == 0, Input, corrupt(rc));
  Image image;
  image.width = static_cast<int>(ihdr.width);
  image.height = static_cast<int>(ihdr.height);
  image.rgb.resize(size);
  rc = spng_decode_image(ctx.get(), image.rgb.data(), size, SPNG_FMT_RGB8, 0);
  // The chunks after the pixels through IEND: the last IDAT's CRC is only read here.
  if (rc == 0) rc = spng_decode_chunks(ctx.get());
  PD_CHECK(rc == 0, Input, corrupt(rc));
  return image;
}

std::string png_text(const std::string& png, const std::string& key) {
  PD_CHECK(png.compare(0, kSignature.size(), kSignature) == 0, Input, "not a PNG file");
  SpngCtx ctx = decoder(png);
  int rc = spng_decode_chunks(ctx.get());
  PD_CHECK(rc == 0, Input, "not a valid PNG file: " << describe(rc, png));
  uint32_t count = 0;
  rc = spng_get_text(ctx.get(), nullptr, &count);
  if (rc == SPNG_ECHUNKAVAIL) return "";
  std::vector<spng_text> chunks(count);
  if (rc == 0) rc = spng_get_text(ctx.get(), chunks.data(), &count);
  PD_CHECK(rc == 0, Input, "PNG text chunks: " << spng_strerror(rc));
  for (const spng_text& chunk : chunks) {
    if (key != chunk.keyword) continue;
    if (chunk.type == SPNG_ITXT) return std::string(chunk.text, chunk.length);
    return latin1_to_utf8(chunk.text, chunk.length);  // tEXt, zTXt
  }
  return "";
}

}  // namespace pangu_draw::io
