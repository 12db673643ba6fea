// cli_runner.cpp: running the built CLI from tests and capturing its exit code and output.
#include "support/cli_runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>


namespace pangu_draw::testing {

namespace {

std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

CliOutcome run_cli(const std::vector<std::string>& args, const std::string& env_prefix) {
  std::string cmd = env_prefix + " " + quote(PD_CLI_PATH);
  for (const auto& a : args) cmd += " " + quote(a);
  return run_command(cmd + " 2>&1");
}

pid_t start_cli(const std::vector<std::string>& args) {
  std::vector<std::string> all = {PD_CLI_PATH};
  all.insert(all.end(), args.begin(), args.end());
  const pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    dup2(null, STDOUT_FILENO);
    dup2(null, STDERR_FILENO);
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace pangu_draw::testing
