// prompt_enhance.h: the paper's prompt-enhancement step as a CLI hook (never the library's: a
// request is data): an external command (an LLM wrapper, a script) gets the prompt on stdin and
// prints the enhanced prompt on stdout.
#pragma once

#include <string>

namespace pangu_draw::cli {

struct Enhanced {
  std::string prompt;     // the enhanced prompt, or the original one on failure
  bool used = false;      // true when the command succeeded
  std::string problem;    // why it fell back (timeout, exit status, empty output)
};

// Runs `command` with /bin/sh -c; falls back to the original prompt (with a warning on stderr)
// on a non-zero exit, a timeout (the process group is killed) or empty output. A child that
// exits before reading its input does not kill this process (SIGPIPE is ignored: the CLI's own
// process, never a library host's).
Enhanced enhance_prompt(const std::string& prompt, const std::string& command, int timeout_ms,
                        bool show = true);

}  // namespace pangu_draw::cli
