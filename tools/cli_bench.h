// cli_bench.h: the `bench` subcommand — times text encoder, CFG UNet step and VAE decode of a
// built-in architecture (random weights) or a model, against the machine's measured peak.
#pragma once

#include <CLI/CLI.hpp>

#include "pangu_draw/bench.h"

namespace pangu_draw::cli {

struct BenchArgs {
  BenchOptions options;
  bool json = false;
  CLI::App* cmd = nullptr;
};

BenchArgs& add_bench(CLI::App& app);

// Prints the report (a table, or JSON on stdout with --json); returns the exit code.
int run_bench(const BenchArgs& args);

}  // namespace pangu_draw::cli
