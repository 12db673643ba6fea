// bench_peak.h: micro-benchmarks of what this CPU can do: a large GEMM (torch::mm, OpenBLAS or
// oneDNN for bf16) and a 3x3 convolution (oneDNN), in GFLOP/s, best of a few runs.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace pangu_draw::api {

// Best-of-`reps` seconds of fn() after one warm-up call.
double best_seconds(const std::function<void()>& fn, int reps);

// [2048 x 2048] x [2048 x 2048] in `dtype`.
double peak_gemm_gflops(torch::ScalarType dtype);

// [1, 320, 64, 64] * [320, 320, 3, 3], padding 1 (SD's first-level conv) in `dtype`.
double peak_conv_gflops(torch::ScalarType dtype, bool channels_last);

}  // namespace pangu_draw::api
