// png.h: PNG in (control images) and out (generated images with their A1111-style "parameters"
// text, written atomically), both through libspng, which checks every chunk's CRC.
#pragma once

#include <cstdint>
#include <string>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::io {

// Encodes RGB8 pixels as PNG bytes with one text chunk (key, text) when text is non-empty. The
// UTF-8 text goes in a tEXt chunk when every character is printable Latin-1 (or a newline), as
// the PNG spec defines tEXt, else in an uncompressed iTXt chunk (UTF-8), as A1111 / Pillow write
// it. Invalid UTF-8 bytes are stored as U+FFFD.
std::string encode_png(const Image& image, const std::string& key, const std::string& text);

// Writes a PNG atomically; Error{Input} when it exists and !overwrite.
void write_png_file(const std::string& path, const Image& image, const std::string& parameters,
                    bool overwrite);

// Decodes PNG bytes as RGB8 (alpha dropped, 16-bit samples truncated to 8). Error{Input} naming
// `origin` (a file, a request field) when they are not a PNG or are corrupt (bad chunk CRC, bad
// header, truncated data). Images larger than `max_pixels` are rejected before decoding.
Image decode_png(const std::string& bytes, const std::string& origin,
                 int64_t max_pixels = int64_t(1) << 26);

// decode_png of a file's bytes, naming the file.
Image read_image(const std::string& path, int64_t max_pixels = int64_t(1) << 26);

// The text of the first tEXt, zTXt or iTXt chunk named `key` ahead of the image data, as UTF-8
// (tEXt / zTXt are Latin-1 and converted; compressed chunks inflated); "" when absent. Error{Input}
// when the bytes are not a well-formed PNG up to the image data.
std::string png_text(const std::string& png_bytes, const std::string& key);

// CRC-32 (ISO-HDLC, as PNG chunks use).
uint32_t crc32(const std::string& bytes);

}  // namespace pangu_draw::io
