// scratch.cpp: the harness's helpers: scratch files for the parsers that take paths, '\0' split.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <utility>

#include "fuzz/harness.h"

namespace pangu_draw::fuzz {

std::string scratch_file(const std::string& name, const std::string& bytes) {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / ("pd_fuzz_" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  const std::string path = (dir / name).string();
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
  return path;
}

std::pair<std::string, std::string> split_nul(const std::string& bytes) {
  const size_t nul = bytes.find('\0');
  if (nul == std::string::npos) return {bytes, ""};
  return {bytes.substr(0, nul), bytes.substr(nul + 1)};
}

}  // namespace pangu_draw::fuzz
