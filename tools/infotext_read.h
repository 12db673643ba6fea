// infotext_read.h: reading A1111's "parameters" text (the PNG info of an A1111, Forge, Civitai
// or pangu-draw image) as modules/infotext_utils.py parse_generation_parameters reads it:
//   <prompt lines>
//   Negative prompt: <negative prompt lines>
//   Steps: 20, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1, Size: 512x768, ...
// The last line holds the settings when its pattern `\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)
// (?:,|$)` finds at least 3 of them (else it is part of the prompt); quoted values are JSON strings.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pangu_draw::cli {

struct Infotext {
  std::string prompt;
  std::string negative_prompt;
  // "Key: value" pairs of the settings line in order, values unquoted (a repeated key: its last
  // value wins in `get`, as in A1111's dict); empty when there is no settings line.
  std::vector<std::pair<std::string, std::string>> settings;
  bool has(const std::string& key) const;
  std::string get(const std::string& key) const;  // "" when absent
};

Infotext parse_infotext(const std::string& text);

// The "Key: value" matches of A1111's pattern in one line (values as written, quotes kept).
std::vector<std::pair<std::string, std::string>> find_settings(const std::string& line);

}  // namespace pangu_draw::cli
