// cli_runner.h: run the pangu-draw binary as a process, as users and batch scripts do.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "support/process.h"

namespace pangu_draw::testing {

using CliOutcome = CommandOutcome;  // output: stdout + stderr

// Runs the CLI (path given at build time) with `args` and waits for it; `env_prefix` is put
// before the command line (e.g. "env -u OPENBLAS_CORETYPE").
CliOutcome run_cli(const std::vector<std::string>& args, const std::string& env_prefix = "");

// Starts the CLI in the background (output to /dev/null); returns its pid.
pid_t start_cli(const std::vector<std::string>& args);

}  // namespace pangu_draw::testing
