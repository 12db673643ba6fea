// bench_peak.cpp: GEMM and convolution micro-benchmarks (the denominators of the bench report).
#include "api/bench_peak.h"

#include <algorithm>
#include <chrono>
#include <ctime>

namespace pangu_draw::api {

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Best wall and best CPU seconds of fn() over `reps` calls after one warm-up call, as GFLOP/s.
PeakRate best_rate(const std::function<void()>& fn, double flops, int reps) {
  fn();  // warm-up: oneDNN primitive creation, page faults
  double wall = 1e30, cpu = 1e30;
  for (int i = 0; i < reps; ++i) {
    const double c0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    wall = std::min(wall, dt.count());
    cpu = std::min(cpu, cpu_seconds() - c0);
  }
  const double threads = static_cast<double>(at::get_num_threads());
  return {flops / wall / 1e9, flops / (cpu / threads) / 1e9};
}

}  // namespace

PeakRate peak_gemm(torch::ScalarType dtype) {
  torch::InferenceMode guard;
  constexpr int64_t n = 2048;
  auto a = torch::randn({n, n}).to(dtype);
  auto b = torch::randn({n, n}).to(dtype);
  auto c = torch::empty({n, n}, a.options());
  return best_rate([&] { torch::mm_out(c, a, b); }, 2.0 * n * n * n, 5);
}

PeakRate peak_conv(torch::ScalarType dtype, bool channels_last) {
  torch::InferenceMode guard;
  constexpr int64_t c = 320, hw = 64;
  auto x = torch::randn({1, c, hw, hw}).to(dtype);
  auto w = torch::randn({c, c, 3, 3}).to(dtype);
  if (channels_last) {
    x = x.contiguous(torch::MemoryFormat::ChannelsLast);
    w = w.contiguous(torch::MemoryFormat::ChannelsLast);
  }
  return best_rate([&] { torch::conv2d(x, w, {}, 1, 1); }, 2.0 * c * c * 9 * hw * hw, 5);
}

}  // namespace pangu_draw::api
