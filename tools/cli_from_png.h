// cli_from_png.h: `generate --from-png FILE`: rerun the recipe in a PNG's A1111 "parameters"
// text (an A1111 / Forge / Civitai image, or one of ours: those reproduce themselves bit for
// bit). Flags given on the command line override the recipe's values; --model decides the model
// (the recipe's Model / Model hash are only reported). docs/recipes.md lists the keys read.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli_generate.h"
#include "infotext_read.h"

namespace pangu_draw::cli {

// Registers --from-png on `generate` and records the flags its command line gives (in
// args.given); --prompt is required unless --from-png is given.
void add_from_png_flag(CLI::App& cmd, GenerateArgs& args);

// Sets every field of `args` the recipe holds and no given flag sets. Error{Input} when the PNG
// has no parameters text, no settings line, or a value that is not a number where one is
// needed; a warning lists the keys that are not used, `show` adds a line naming the model.
void apply_recipe(const Infotext& recipe, const std::string& source, GenerateArgs& args, bool show);

// apply_recipe of args.from_png's parameters text (nothing when args.from_png is empty).
void apply_from_png(GenerateArgs& args, bool show);

}  // namespace pangu_draw::cli
