// batch_items.h: the `batch` prompts file -> items (plain text or JSON Lines), and one item's
// JSON spec -> Request. Split from cli_batch.cpp so the fuzzer and tests reach it without a model.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::cli {

struct BatchItem {
  int line = 0;               // 1-based line in the prompts file: the item's identity
  nlohmann::json spec;        // the request as written (or {"prompt": text})
  std::string error;          // why the line cannot be read, if so
};

// Plain text: one prompt per non-empty line ('#' starts a comment line). JSON Lines: a request
// object per line. The format is JSON Lines when the first non-empty line starts with '{'.
std::vector<BatchItem> parse_items(const std::string& text);
// parse_items of the file's contents; Error{Input} when it cannot be opened.
std::vector<BatchItem> read_items(const std::string& path);

// Files an item names ("control_image", "init_noise", "init_image", "mask_image"): read by the
// CLI, never by the library.
struct ItemFiles {
  std::string control_image;
  std::string init_noise;
  std::string init_image;
  std::string mask_image;
};

// "L,T,R,B" (whole numbers of pixels) -> a Border; Error{Usage} naming `flag` otherwise.
Border parse_border(const std::string& text, const std::string& flag);

// "FILE[:weight]" -> a pending LoRA {FILE, weight (1 when absent), no bytes yet}: read by the
// CLI later (cli_recipe.h). The weight is what follows the last ':' when it is a number.
Lora parse_lora_spec(const std::string& text, const std::string& flag);

// One JSON request on top of the command line's defaults; Error{Usage} on unknown keys, wrong
// types, a missing prompt, or "enhance_cmd" (a command is a command-line flag, never a prompts
// file's). File keys go to `files` when given (else they are refused too).
Request item_request(const nlohmann::json& spec, const Request& defaults, ItemFiles* files = nullptr);

}  // namespace pangu_draw::cli
