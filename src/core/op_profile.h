// op_profile.h: a per-operator time profile of the LibTorch calls made on one thread while an
// OpProfile is alive (`pangu-draw bench --profile`: where a UNet step's time goes).
#pragma once

#include <ATen/record_function.h>

#include <cstdint>
#include <string>
#include <vector>

namespace pangu_draw::core {

// One operator's share of a profiled pass.
struct OpTime {
  std::string name;      // e.g. "aten::convolution"
  double self_s = 0.0;   // wall time inside the op minus the ops it called
  int64_t calls = 0;
};

// While alive, times every operator call (RecordFunction FUNCTION scope) made by the thread that
// created it; ops run by LibTorch's intra-op worker threads are inside their caller's time.
// Self time = an op's own wall time minus that of the ops nested in it, so the self times add
// up to the profiled calls' total. Not reentrant: one profile at a time per thread.
class OpProfile {
 public:
  OpProfile();
  ~OpProfile();
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  // Operators by self time, largest first (stops counting: call once, at the end).
  std::vector<OpTime> result();

 private:
  at::CallbackHandle handle_ = 0;  // 0 once result() has stopped the profile
};

}  // namespace pangu_draw::core
