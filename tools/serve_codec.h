// serve_codec.h: the byte formats of `pangu-draw serve`: base64 (A1111's image fields) and PNG
// in memory through libspng (the public API only writes PNG files; a request must not write any).
#pragma once

#include <cstdint>
#include <string>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::serve {

// Standard base64 with padding.
std::string base64_encode(const std::string& bytes);

// Decodes standard base64 (padding optional; an A1111 data-URL prefix "data:image/png;base64,"
// and whitespace are skipped). Error{Input} naming `field` on any other character or a bad length.
std::string base64_decode(const std::string& text, const std::string& field);

// RGB8 pixels as PNG bytes with a "parameters" text chunk (tEXt when the text is printable ASCII,
// else iTXt UTF-8, as A1111 / Pillow write it).
std::string encode_png(const Image& image, const std::string& parameters);

// PNG bytes as RGB8 (alpha dropped, grey expanded, 16-bit truncated); Error{Input} naming `field`
// when they are not a valid PNG or the image has more than `max_pixels` pixels.
Image decode_png(const std::string& bytes, std::int64_t max_pixels, const std::string& field);

}  // namespace pangu_draw::serve
