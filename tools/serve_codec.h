// serve_codec.h: base64, the byte format of A1111's image fields (the PNG inside goes through
// the library's pangu_draw::encode_png / decode_png: a request writes no file).
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

}  // namespace pangu_draw::serve
