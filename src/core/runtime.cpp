// runtime.cpp: thread and dtype settings.
#include "core/runtime.h"

#include <cstdlib>
#include <thread>

#include "core/error.h"
#include "core/log.h"

namespace pangu_draw::core {

namespace {

// The count behind --threads 0: $OMP_NUM_THREADS when it holds a positive number (what a batch
// script sets for processes it runs side by side), else every core. Two processes that each take
// every core make their OpenMP threads wait on threads the other process holds descheduled: on 2
// cores two tiny-model benchmarks took 200 s side by side with 2 threads each, 33 s with 1
// (docs/performance.md).
int default_threads() {
  if (const char* env = std::getenv("OMP_NUM_THREADS"); env && *env) {
    char* end = nullptr;
    const long n = std::strtol(env, &end, 10);
    if (*end == '\0' && n > 0 && n <= 4096) return static_cast<int>(n);
    logger().warn("OMP_NUM_THREADS='{}' is not a positive number; using all cores", env);
  }
  const int cores = static_cast<int>(std::thread::hardware_concurrency());
  return cores > 0 ? cores : 1;
}

}  // namespace

int configure_threads(int threads) {
  PD_CHECK(threads >= 0, Usage,
           "--threads must be >= 0 (0 = all cores, or $OMP_NUM_THREADS when set), got " << threads);
  const int wanted = threads == 0 ? default_threads() : threads;
  // LibTorch starts with 1 thread here; set it explicitly every time so callers get what they ask.
  if (at::get_num_threads() != wanted) at::set_num_threads(wanted);
  logger().debug("compute threads: {}", wanted);
  return wanted;
}

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32") return torch::kFloat;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  if (name == "fp16" || name == "float16") return torch::kHalf;
  PD_FAIL(Usage, "unknown compute dtype '" << name << "': use fp32, bf16, fp16 or auto");
}

}  // namespace pangu_draw::core
