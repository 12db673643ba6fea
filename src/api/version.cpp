// version.cpp: pangu_draw::version(): the engine version and what LibTorch offers here.
#include "core/device.h"
#include "pangu_draw/pangu_draw.h"
#include "pd_version.h"

namespace pangu_draw {

std::string version() { return std::string("pangu-draw ") + PD_VERSION + " (" + core::runtime_description() + ")"; }

}  // namespace pangu_draw
