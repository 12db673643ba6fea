// log_sink.cpp: the default stderr sink through spdlog. Compiled apart from LibTorch's include
// paths (see src/core/CMakeLists.txt): LibTorch ships fmt 12 headers, Debian's spdlog is built
// against fmt 9, and only this file may see the latter.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace pangu_draw {
enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };
namespace core {

void stderr_log(LogLevel level, const std::string& message) {
  static std::shared_ptr<spdlog::logger> sink = [] {
    auto existing = spdlog::get("pangu_draw");
    if (existing) return existing;
    auto created = spdlog::stderr_color_mt("pangu_draw");
    created->set_pattern("[%l] %v");
    created->set_level(spdlog::level::trace);  // filtering is the Logger's job
    return created;
  }();
  static const spdlog::level::level_enum kLevels[] = {spdlog::level::debug, spdlog::level::info,
                                                       spdlog::level::warn, spdlog::level::err,
                                                       spdlog::level::off};
  sink->log(kLevels[static_cast<int>(level)], "{}", message);
}

}  // namespace core
}  // namespace pangu_draw
