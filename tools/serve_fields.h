// serve_fields.h: typed, bounded reads of JSON request fields for `pangu-draw serve`, the
// HTTP error they raise, and the rules for fields the engine does not support.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace pangu_draw::serve {

using nlohmann::json;

// An HTTP error answer: status (400, 401, 404, 413, 422, 429, 503, 500) and what to do.
struct HttpError : std::runtime_error {
  HttpError(int s, const std::string& message) : std::runtime_error(message), status(s) {}
  int status;
};

// Field readers: absent or null -> `fallback`; a wrong type or a value outside [lo, hi] -> 422
// naming the field. Integers may come as integral floats (512.0), as pydantic accepts them.
std::int64_t get_int(const json& body, const char* key, std::int64_t fallback, std::int64_t lo,
                     std::int64_t hi);
double get_number(const json& body, const char* key, double fallback, double lo, double hi);
std::string get_string(const json& body, const char* key, const std::string& fallback,
                       std::size_t max_bytes = 64 * 1024);
bool get_bool(const json& body, const char* key, bool fallback);

// 400 when arrays / objects nest deeper than `max_depth` (checked first: the other walks recurse).
void refuse_deep(const json& value, int max_depth = 32);

// 400 when any key at any depth names a path (ends in "path", e.g. model_path, controlnet_path):
// a request is data only; models are what the server was started with.
void refuse_paths(const json& value, const std::string& where = "");

// A1111 fields this engine does not implement: each is accepted when absent, null or at its
// neutral value (where it changes nothing), else 422 naming it (docs/server.md lists them).
void refuse_unsupported(const json& body, bool img2img);

}  // namespace pangu_draw::serve
