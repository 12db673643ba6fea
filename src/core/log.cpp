// log.cpp: creates the "pangu_draw" logger once.
#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace pangu_draw {

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto existing = spdlog::get("pangu_draw");
    if (existing) return existing;
    auto created = spdlog::stderr_color_mt("pangu_draw");
    created->set_pattern("[%l] %v");
    return created;
  }();
  return *instance;
}

}  // namespace pangu_draw
