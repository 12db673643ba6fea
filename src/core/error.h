// error.h: PD_CHECK and helpers that throw pangu_draw::Error with a message built from a stream.
#pragma once

#include <sstream>
#include <string>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw {

[[noreturn]] inline void throw_error(ErrorKind kind, const std::string& message) {
  throw Error(kind, message);
}

}  // namespace pangu_draw

// PD_CHECK(cond, Input, "file.json: 'x' must be > 0, got " << x);
#define PD_CHECK(cond, kind, msg)                                           \
  do {                                                                      \
    if (!(cond)) {                                                          \
      std::ostringstream pd_check_os_;                                      \
      pd_check_os_ << msg;                                                  \
      ::pangu_draw::throw_error(::pangu_draw::ErrorKind::kind, pd_check_os_.str()); \
    }                                                                       \
  } while (0)

// PD_FAIL(Input, "message " << value);
#define PD_FAIL(kind, msg) PD_CHECK(false, kind, msg)
