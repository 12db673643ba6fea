// builtin_models.h: the diffusers configs of the recognised single-file families and the CLIP
// tokenizer vocabulary, built into the library (configs/builtin/<set>/..., models/clip_tokenizer/,
// embedded by cmake/embed_files.cmake), read as virtual folders: "sd15/unet/config.json".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pangu_draw::io {

// The built-in config sets: "sd15", "sd21", "sd21-base", "sdxl-base".
std::vector<std::string> builtin_sets();

// The text of a built-in file ("sdxl-base/tokenizer_2/tokenizer_config.json"), nullopt when there
// is none. A tokenizer folder's vocab.json and merges.txt are the shared CLIP vocabulary.
std::optional<std::string_view> builtin_file(const std::string& path);

// True when some built-in file lies under `folder` ("sd15", "sdxl-base/text_encoder_2").
bool builtin_has_folder(const std::string& folder);

}  // namespace pangu_draw::io
