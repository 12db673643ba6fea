// cli_generate.h: the `generate` subcommand — the only place that knows its flag names.
#pragma once

#include <CLI/CLI.hpp>

#include "cli_experts.h"
#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::cli {

struct GenerateArgs {
  std::string model_path;
  std::string output = "output.png";
  bool overwrite = false;
  LoadOptions load;
  Request request;
  ExpertArgs experts;
};

// Registers the subcommand and its flags, bound to `args`.
CLI::App* add_generate(CLI::App& app, GenerateArgs& args);

// The request flags shared by `generate` and `batch` (where prompts come from a file).
void add_request_flags(CLI::App& cmd, GenerateArgs& args, bool prompt_required);

// Progress lines on stderr ("step 3/20  0.52 s/step").
ProgressFn progress_printer(bool show);

// Runs it: load, generate, write PNGs. Throws pangu_draw::Error.
void run_generate(const GenerateArgs& args, bool show_progress);

}  // namespace pangu_draw::cli
