// log.h: the library's spdlog logger "pangu_draw" (stderr by default; never stdout).
#pragma once

#include <spdlog/spdlog.h>

namespace pangu_draw {

// The shared logger; created on first use with a stderr sink at level info.
spdlog::logger& logger();

}  // namespace pangu_draw
