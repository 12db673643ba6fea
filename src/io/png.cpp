// png.cpp: stb-based PNG codec plus a hand-written tEXt chunk (stb writes none).
#include "io/png.h"

#include <array>
#include <limits>
#include <vector>

#include "core/error.h"
#include "io/atomic_file.h"

#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STB_IMAGE_STATIC
// Control images are PNG only: fuzz_png found memory errors in Debian's stb JPEG decoder
// (Huffman table overrun) and PNM parser (int overflow), so the other decoders are left out.
#define STBI_ONLY_PNG
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <stb/stb_image.h>
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace pangu_draw::io {

namespace {

constexpr size_t kSignatureBytes = 8;

}  // namespace

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

std::string be32(uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

uint32_t read_be32(const std::string& s, size_t at) {
  return (uint32_t(uint8_t(s[at])) << 24) | (uint32_t(uint8_t(s[at + 1])) << 16) |
         (uint32_t(uint8_t(s[at + 2])) << 8) | uint32_t(uint8_t(s[at + 3]));
}

std::string text_chunk(const std::string& key, const std::string& text) {
  const std::string body = "tEXt" + key + std::string(1, '\0') + text;
  return be32(static_cast<uint32_t>(body.size() - 4)) + body + be32(crc32(body));
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<char>*>(context);
  const char* bytes = static_cast<const char*>(data);
  out->insert(out->end(), bytes, bytes + size);
}

}  // namespace

std::string encode_png(const Image& image, const std::string& key, const std::string& text) {
  PD_CHECK(image.width > 0 && image.height > 0 &&
               image.rgb.size() == size_t(image.width) * size_t(image.height) * 3,
           Runtime, "encode_png: image buffer does not match its size");
  std::vector<char> buffer;
  int ok = stbi_write_png_to_func(append_bytes, &buffer, image.width, image.height, 3,
                                  image.rgb.data(), image.width * 3);
  const std::string png(buffer.begin(), buffer.end());
  PD_CHECK(ok && png.size() > kSignatureBytes + 25, Runtime, "PNG encoding failed");
  if (text.empty()) return png;
  // IHDR is always first: signature (8) + length/type/data(13)/crc = 33 bytes.
  const size_t after_ihdr = kSignatureBytes + 12 + read_be32(png, kSignatureBytes);
  return png.substr(0, after_ihdr) + text_chunk(key, text) + png.substr(after_ihdr);
}

void write_png_file(const std::string& path, const Image& image, const std::string& parameters,
                    bool overwrite) {
  write_file_atomic(path, encode_png(image, "parameters", parameters), overwrite);
}

namespace {

// Walks the chunks before stb sees them. stb sizes its IDAT buffer from each chunk's claimed
// length before reading it: a PNG whose chunk claims more bytes than the file holds made it
// allocate ~2 GB (found by fuzz_png). A zero-length IDAT ahead of the first real one made stb
// memcpy into its still-NULL buffer (UB, also found by fuzz_png); an empty IDAT adds nothing to
// the image, so those chunks are dropped from the bytes handed to stb.
std::string checked_png_chunks(const std::string& bytes, const std::string& path) {
  std::string out = bytes.substr(0, kSignatureBytes);
  size_t at = kSignatureBytes;
  for (; at + 8 <= bytes.size();) {  // stb reads from 8 bytes on
    const uint32_t len = read_be32(bytes, at);
    PD_CHECK(bytes.size() - at >= 12 && len <= bytes.size() - at - 12, Input,
             path << ": PNG chunk at byte " << at << " claims " << len
                  << " bytes, past the end of the file: the image is truncated or corrupted");
    const bool empty_idat = len == 0 && bytes.compare(at + 4, 4, "IDAT") == 0;
    if (!empty_idat) out.append(bytes, at, 12 + len);
    if (bytes.compare(at + 4, 4, "IEND") == 0) return out;
    at += 12 + len;
  }
  out.append(bytes, at, std::string::npos);  // a truncated tail: stb reports it
  return out;
}

}  // namespace

Image read_image(const std::string& path, int64_t max_pixels) {
  const std::string bytes = read_file(path);
  PD_CHECK(bytes.size() <= size_t(std::numeric_limits<int>::max()), Input,
           path << ": " << bytes.size() << " bytes is too large for an image file");
  PD_CHECK(bytes.compare(0, kSignatureBytes, std::string("\x89PNG\r\n\x1a\n", 8)) == 0, Input,
           path << ": not a PNG file; control images must be PNG (convert it, e.g. "
                << "`convert in.jpg out.png`)");
  const std::string chunks = checked_png_chunks(bytes, path);
  const auto* buf = reinterpret_cast<const stbi_uc*>(chunks.data());
  const int n = static_cast<int>(chunks.size());
  int w = 0, h = 0, c = 0;
  PD_CHECK(stbi_info_from_memory(buf, n, &w, &h, &c), Input,
           path << ": cannot read image (" << stbi_failure_reason() << ")");
  PD_CHECK(int64_t(w) * int64_t(h) <= max_pixels, Input,
           path << ": image is " << w << "x" << h << ", larger than the " << max_pixels
                << " pixels allowed");
  unsigned char* data = stbi_load_from_memory(buf, n, &w, &h, &c, 3);
  PD_CHECK(data, Input, path << ": cannot decode image (" << stbi_failure_reason() << ")");
  Image image;
  image.width = w;
  image.height = h;
  image.rgb.assign(data, data + size_t(w) * size_t(h) * 3);
  stbi_image_free(data);
  return image;
}

std::string png_text(const std::string& png, const std::string& key) {
  static const std::string kSignature("\x89PNG\r\n\x1a\n", 8);
  PD_CHECK(png.compare(0, kSignatureBytes, kSignature) == 0, Input, "not a PNG file");
  size_t at = kSignatureBytes;
  while (at + 12 <= png.size()) {
    const uint32_t len = read_be32(png, at);
    PD_CHECK(len <= png.size() - at - 12, Input, "PNG chunk runs past the end of the file");
    const std::string type = png.substr(at + 4, 4);
    if (type == "tEXt") {
      const std::string body = png.substr(at + 8, len);
      const size_t nul = body.find('\0');
      if (nul != std::string::npos && body.compare(0, nul, key) == 0 && nul == key.size()) {
        return body.substr(nul + 1);
      }
    }
    if (type == "IEND") break;
    at += 12 + len;
  }
  return "";
}

}  // namespace pangu_draw::io
