// prompt_enhance.cpp: fork/exec with both pipes, a poll loop bounded by the timeout.
#include "prompt_enhance.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include <cstdio>

namespace pangu_draw::cli {

namespace {

constexpr size_t kMaxOutput = 64 * 1024;

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

pid_t spawn(const std::string& command, int& in_fd, int& out_fd) {
  int to_child[2], from_child[2];
  if (pipe(to_child) != 0) return -1;
  if (pipe(from_child) != 0) {
    close(to_child[0]);
    close(to_child[1]);
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    setpgid(0, 0);  // its own process group, so a timeout kills what it started too
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    close(to_child[0]); close(to_child[1]); close(from_child[0]); close(from_child[1]);
    execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(to_child[0]);
  close(from_child[1]);
  in_fd = to_child[1];
  out_fd = from_child[0];
  return pid;
}

// Reads until EOF or the deadline; false on timeout.
bool read_until(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
  char buf[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return true;
    if (out.size() < kMaxOutput) out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Enhanced enhance_prompt(const std::string& prompt, const std::string& command, int timeout_ms,
                        bool show) {
  Enhanced result{prompt, false, ""};
  int in_fd = -1, out_fd = -1;
  signal(SIGPIPE, SIG_IGN);
  const pid_t pid = spawn(command, in_fd, out_fd);
  if (pid < 0) {
    result.problem = std::string("cannot start it: ") + std::strerror(errno);
  } else {
    (void)!write(in_fd, prompt.data(), prompt.size());
    close(in_fd);
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    const bool finished = read_until(out_fd, out, deadline);
    close(out_fd);
    if (!finished) kill(-pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    out = trim(out);
    if (!finished) result.problem = "timed out after " + std::to_string(timeout_ms) + " ms";
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) result.problem = "exited with status " + std::to_string(WEXITSTATUS(status));
    else if (out.empty()) result.problem = "printed nothing";
    else result = Enhanced{out, true, ""};
  }
  if (result.used) {
    if (show) std::fprintf(stderr, "[info] enhanced prompt: %s\n", result.prompt.c_str());
  } else {
    std::fprintf(stderr, "[warning] prompt enhancer '%s' %s; using the original prompt\n",
                 command.c_str(), result.problem.c_str());
  }
  return result;
}

}  // namespace pangu_draw::cli
