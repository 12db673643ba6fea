// builtin_models_data.h: the table of files embedded in the library by cmake/embed_files.cmake
// (internal to builtin_models.cpp; paths like "sd15/unet/config.json", "clip_tokenizer/vocab.json").
#pragma once

#include <cstddef>
#include <string_view>

namespace pangu_draw::io::builtin_data {

struct EmbeddedFile {
  std::string_view path;
  std::string_view text;
};

extern const EmbeddedFile kFiles[];
extern const size_t kFileCount;

}  // namespace pangu_draw::io::builtin_data
