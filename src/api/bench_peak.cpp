// bench_peak.cpp: GEMM and convolution micro-benchmarks (the denominators of the bench report).
#include "api/bench_peak.h"

#include <algorithm>
#include <chrono>

namespace pangu_draw::api {

double best_seconds(const std::function<void()>& fn, int reps) {
  fn();  // warm-up: oneDNN primitive creation, page faults
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    best = std::min(best, dt.count());
  }
  return best;
}

double peak_gemm_gflops(torch::ScalarType dtype) {
  torch::InferenceMode guard;
  constexpr int64_t n = 2048;
  auto a = torch::randn({n, n}).to(dtype);
  auto b = torch::randn({n, n}).to(dtype);
  auto c = torch::empty({n, n}, a.options());
  const double s = best_seconds([&] { torch::mm_out(c, a, b); }, 5);
  return 2.0 * n * n * n / s / 1e9;
}

double peak_conv_gflops(torch::ScalarType dtype, bool channels_last) {
  torch::InferenceMode guard;
  constexpr int64_t c = 320, hw = 64;
  auto x = torch::randn({1, c, hw, hw}).to(dtype);
  auto w = torch::randn({c, c, 3, 3}).to(dtype);
  if (channels_last) {
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    w = w.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  const double s = best_seconds([&] { torch::conv2d(x, w, {}, 1, 1); }, 5);
  return 2.0 * c * c * 9 * hw * hw / s / 1e9;
}

}  // namespace pangu_draw::api
