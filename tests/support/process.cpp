// process.cpp: run_command: a shell command's exit code and combined output, for CLI and tool
// tests.
#include "support/process.h"

#include <sys/wait.h>

#include <cstdio>

namespace pangu_draw::testing {

CommandOutcome run_command(const std::string& command) {
  CommandOutcome o;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return o;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.output.append(buf, n);
  const int status = pclose(p);
  o.code = status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return o;
}

}  // namespace pangu_draw::testing
