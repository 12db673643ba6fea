// cli_batch.h: the `batch` subcommand — many prompts, one model load, a JSONL manifest, and
// resumption: re-running the same command after Ctrl-C or kill -9 skips finished items and
// redoes only the unfinished ones.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

#include "cli_generate.h"

namespace pangu_draw::cli {

struct BatchArgs {
  GenerateArgs defaults;      // generate flags give every item's defaults
  std::string prompts_file;   // JSON Lines (a request per line) or plain text (a prompt per line)
  std::string output_dir = "batch_out";
  bool retry_failed = false;
};

CLI::App* add_batch(CLI::App& app, BatchArgs& args);

// Returns the process exit code: 0 all done, 2 when some items failed, 130 when interrupted.
int run_batch(const BatchArgs& args, bool show_progress);

}  // namespace pangu_draw::cli
