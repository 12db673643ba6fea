// png.h: PNG in (control images, via stb_image) and out (stb_image_write + a tEXt chunk with
// A1111-style "parameters", written atomically).
#pragma once

#include <cstdint>
#include <string>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::io {

// Encodes RGB8 pixels as PNG bytes, with tEXt chunks for each non-empty (key, text).
std::string encode_png(const Image& image, const std::string& key, const std::string& text);

// Writes a PNG atomically; Error{Input} when it exists and !overwrite.
void write_png_file(const std::string& path, const Image& image, const std::string& parameters,
                    bool overwrite);

// Reads a PNG image as RGB8; Error{Input} naming the file when unreadable.
// Images larger than `max_pixels` are rejected before decoding.
Image read_image(const std::string& path, int64_t max_pixels = int64_t(1) << 26);

// The text of the first tEXt chunk named `key` in PNG bytes ("" when absent); Error{Input} when
// the bytes are not a well-formed PNG chunk stream.
std::string png_text(const std::string& png_bytes, const std::string& key);

// CRC-32 (ISO-HDLC, as PNG chunks use).
uint32_t crc32(const std::string& bytes);

}  // namespace pangu_draw::io
