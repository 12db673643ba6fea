// cli_recipe.h: the A1111-recipe flags of `generate` and `batch` (--prompt-syntax, --clip-skip,
// --lora, --lora-dir, --embedding-dir) and the reading of the files they name into the
// data-only Request: LoRA and embedding .safetensors as bytes; pickles are never loaded.
//
// A LoRA the command line (or a prompts file) names by its file travels in Request::loras as a
// "pending" entry until resolve_recipe_files reads it: its `name` holds the path and its
// `safetensors` is null. Prompt tags (<lora:name:w>) are resolved in --lora-dir.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli_generate.h"

namespace pangu_draw::cli {

// Registers the flags, bound to `args` (called by add_request_flags).
void add_recipe_flags(CLI::App& cmd, GenerateArgs& args);

// True for the pickled formats no file of which is ever loaded (.pt, .pth, .bin, .ckpt, .pkl).
bool is_pickle_path(const std::string& path);

// Error{Input} saying why `path` (a pickle) is refused, naming `what` ("--lora", ...).
[[noreturn]] void refuse_pickle(const std::string& path, const std::string& what);

// Reads what the request needs from disk: its pending LoRA files (name = file stem), a LoRA for
// each tag of the prompt not already given (pangu_draw::lora_tag_names; DIR/name.safetensors of
// --lora-dir, weight 0: the tag adds its own), and every embedding of --embedding-dir. Files are
// read once per process. Error{Input} for missing or pickled files, Error{Usage} for tags
// without --lora-dir.
void resolve_recipe_files(const GenerateArgs& args, Request& request);

// A warning line on stderr ("[warning] ...").
void warn(const std::string& message);

}  // namespace pangu_draw::cli
