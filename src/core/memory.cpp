// memory.cpp: resident memory read from /proc/self/status (VmRSS, VmHWM).
#include "core/memory.h"

#include <fstream>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace pangu_draw::core {

namespace {

// The value of a "Key:   1234 kB" line of /proc/self/status, in bytes.
int64_t status_kb_field(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    try {
      return std::stoll(line.substr(key.size() + 1)) * 1024;
    } catch (const std::exception&) {
      return 0;
    }
  }
  return 0;
}

}  // namespace

int64_t current_rss_bytes() { return status_kb_field("VmRSS"); }

int64_t peak_rss_bytes() { return status_kb_field("VmHWM"); }

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

void release_free_memory() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace pangu_draw::core
