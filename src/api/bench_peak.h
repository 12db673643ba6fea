// bench_peak.h: micro-benchmarks of what this CPU can do: a large GEMM (torch::mm, OpenBLAS or
// oneDNN for bf16) and a 3x3 convolution (oneDNN), in GFLOP/s, best of a few runs.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace pangu_draw::api {

// GFLOP/s from the best wall time, and from the best process CPU time divided by the thread
// count (what the threads achieve while they run: the machine's peak on a busy machine too).
struct PeakRate {
  double wall_gflops = 0.0;
  double cpu_gflops = 0.0;
};

// [2048 x 2048] x [2048 x 2048] in `dtype`, best of 5 after a warm-up.
PeakRate peak_gemm(torch::ScalarType dtype);

// [1, 320, 64, 64] * [320, 320, 3, 3], padding 1 (SD's first-level conv) in `dtype`.
PeakRate peak_conv(torch::ScalarType dtype, bool channels_last);

}  // namespace pangu_draw::api
