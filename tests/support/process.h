// process.h: run a shell command as a test's subprocess and collect what it printed.
#pragma once

#include <string>

namespace pangu_draw::testing {

struct CommandOutcome {
  int code = -1;        // exit status; -1 when it could not start or was killed by a signal
  std::string output;   // its standard output (append "2>&1" to the command for stderr too)
};

// Runs `command` through /bin/sh and waits for it.
CommandOutcome run_command(const std::string& command);

}  // namespace pangu_draw::testing
