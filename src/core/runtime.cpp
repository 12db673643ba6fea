// runtime.cpp: thread and dtype settings.
#include "core/runtime.h"

#include <cstdlib>
#include <thread>

#include "core/blas.h"
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
  // OpenBLAS (the fp32 linear layers) has a pool of its own, all cores by default whatever
  // LibTorch is told, and its threads and LibTorch's OpenMP threads busy-wait for work in turn,
  // each holding a core the other needs. Measured on 2 cores (docs/performance.md): the tiny model
  // draws 9 images in 10-12 s with one BLAS thread, 26-27 s with two; training steps run 1.5-2.5x
  // faster; SD 1.5 512² stays within run-to-run noise. So OpenBLAS gets one thread, OpenMP the
  // cores, unless the user sets OPENBLAS_NUM_THREADS.
  if (!std::getenv("OPENBLAS_NUM_THREADS")) set_blas_threads(1);
  logger().debug("compute threads: {} (BLAS {}), BLAS core: {}", wanted, blas_threads(),
                 blas_core());
  static bool warned = false;
  if (blas_core_is_generic() && !warned) {
    warned = true;
    logger().warn("OpenBLAS runs its generic '{}' kernel on this CPU (several times slower); set "
                  "OPENBLAS_CORETYPE={} before starting the program, or call "
                  "pangu_draw::restart_with_fast_blas(argv) first in main()", blas_core(),
                  best_blas_core_for_cpu());
  }
  return wanted;
}

torch::ScalarType parse_dtype(const std::string& name) {
  if (name == "fp32" || name == "float32") return torch::kFloat;
  if (name == "bf16" || name == "bfloat16") return torch::kBFloat16;
  PD_FAIL(Usage, "unknown compute dtype '" << name << "': use fp32 or bf16");
}

}  // namespace pangu_draw::core
