// fuzz_entry.cpp: the libFuzzer entry point; PD_FUZZ_PARSER names the harness function. A
// pangu_draw::Error with a message is a clean rejection; anything else escapes and is a finding.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fuzz/harness.h"
#include "pangu_draw/pangu_draw.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    pangu_draw::fuzz::PD_FUZZ_PARSER(std::string(reinterpret_cast<const char*>(data), size));
  } catch (const pangu_draw::Error& e) {
    if (std::string(e.what()).empty()) std::abort();  // rejections must say what was wrong
  }
  return 0;
}
