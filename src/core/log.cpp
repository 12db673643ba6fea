// log.cpp: the shared Logger, its sink dispatch and level names.
#include "core/log.h"

namespace pangu_draw {

void Logger::write(LogLevel level, const std::string& message) const {
  if (sink_) {
    sink_(level, message);
  } else {
    core::stderr_log(level, message);
  }
}

Logger& logger() {
  static Logger instance;
  return instance;
}

bool parse_log_level(const std::string& name, LogLevel* level) {
  static const std::pair<const char*, LogLevel> kNames[] = {
      {"debug", LogLevel::debug}, {"info", LogLevel::info}, {"warn", LogLevel::warn},
      {"warning", LogLevel::warn}, {"error", LogLevel::error}, {"off", LogLevel::off}};
  for (const auto& [n, l] : kNames) {
    if (name == n) {
      *level = l;
      return true;
    }
  }
  return false;
}

}  // namespace pangu_draw
