// log.h: the library's logger. Messages are formatted here (fmt, header-only) and handed to one
// sink: the host's callback when it set one (pangu_draw::set_log_callback), else stderr through
// spdlog (core/log_sink.cpp, the only file that sees spdlog). Never stdout.
#pragma once

#include <fmt/format.h>

#include <functional>
#include <string>
#include <utility>

namespace pangu_draw {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

// Where formatted messages go: a host callback, or stderr by default.
using LogSink = std::function<void(LogLevel, const std::string&)>;

class Logger {
 public:
  void set_level(LogLevel level) { level_ = level; }
  LogLevel level() const { return level_; }
  bool enabled(LogLevel level) const { return level >= level_ && level != LogLevel::off; }
  // Replaces the sink; an empty one restores stderr.
  void set_sink(LogSink sink) { sink_ = std::move(sink); }
  void write(LogLevel level, const std::string& message) const;

  template <typename... A>
  void debug(fmt::format_string<A...> f, A&&... a) { emit(LogLevel::debug, f, std::forward<A>(a)...); }
  template <typename... A>
  void info(fmt::format_string<A...> f, A&&... a) { emit(LogLevel::info, f, std::forward<A>(a)...); }
  template <typename... A>
  void warn(fmt::format_string<A...> f, A&&... a) { emit(LogLevel::warn, f, std::forward<A>(a)...); }
  template <typename... A>
  void error(fmt::format_string<A...> f, A&&... a) { emit(LogLevel::error, f, std::forward<A>(a)...); }

 private:
  template <typename... A>
  void emit(LogLevel level, fmt::format_string<A...> f, A&&... a) {
    if (enabled(level)) write(level, fmt::format(f, std::forward<A>(a)...));
  }
  LogLevel level_ = LogLevel::info;
  LogSink sink_;
};

// The shared logger (level info, stderr until a host sets a sink).
Logger& logger();

// Parses "debug", "info", "warn", "error" or "off"; false for anything else.
bool parse_log_level(const std::string& name, LogLevel* level);

namespace core {
// The default sink: one "[level] message" line on stderr (spdlog; core/log_sink.cpp).
void stderr_log(LogLevel level, const std::string& message);
}  // namespace core

}  // namespace pangu_draw
