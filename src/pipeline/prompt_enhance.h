// prompt_enhance.h: the paper's prompt-enhancement step as a hook: an external command (an LLM
// wrapper, a script) gets the prompt on stdin and prints the enhanced prompt on stdout.
#pragma once

#include <string>

namespace pangu_draw::pipeline {

struct Enhanced {
  std::string prompt;     // the enhanced prompt, or the original one on failure
  bool used = false;      // true when the command succeeded
  std::string problem;    // why it fell back (timeout, exit status, empty output)
};

// Runs `command` with /bin/sh -c; falls back to the original prompt (with a warning) on a
// non-zero exit, a timeout (the process group is killed) or empty output.
Enhanced enhance_prompt(const std::string& prompt, const std::string& command, int timeout_ms);

}  // namespace pangu_draw::pipeline
