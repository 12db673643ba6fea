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
  std::string shard;          // "K/N" (0-based); empty: from Slurm / Kubernetes variables, else 0/1
  std::string merge_dir;      // --merge: join this folder's shard manifests instead of drawing
  bool no_lock = false;       // --no-lock: for file systems without flock(2)
};

CLI::App* add_batch(CLI::App& app, BatchArgs& args);

// Returns the process exit code: 0 all done, 2 when some items failed (--merge: failed, missing
// or duplicated), 130 when interrupted; throws Error{Runtime} (exit 3) when another batch holds
// the folder and shard.
int run_batch(const BatchArgs& args, bool show_progress);

}  // namespace pangu_draw::cli
