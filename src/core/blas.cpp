// blas.cpp: looks OpenBLAS up at run time (dlsym), so nothing links against it directly.
#include "core/blas.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>

namespace pangu_draw::core {

std::string blas_core() {
  using CoreName = char* (*)();
  auto fn = reinterpret_cast<CoreName>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!fn) return "";
  const char* name = fn();
  return name ? name : "";
}

bool set_blas_threads(int threads) {
  using SetThreads = void (*)(int);
  auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  if (!fn) return false;
  fn(threads);
  return true;
}

int blas_threads() {
  using GetThreads = int (*)();
  auto fn = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn ? fn() : 0;
}

std::string best_blas_core_for_cpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

bool blas_core_is_generic() {
  const std::string core = blas_core();
  const bool generic = core == "Prescott" || core == "Core2" || core == "Katmai" ||
                       core == "Penryn" || core == "Nehalem" || core == "Atom" || core == "generic";
  return generic && !best_blas_core_for_cpu().empty();
}

void restart_with_fast_blas(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") || std::getenv("PANGU_DRAW_NO_REEXEC")) return;
  if (!blas_core_is_generic()) return;
  const std::string core = best_blas_core_for_cpu();
  setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  setenv("PANGU_DRAW_NO_REEXEC", "1", 1);  // one restart at most, whatever OpenBLAS does then
  execv("/proc/self/exe", argv);           // returns only on failure
}

}  // namespace pangu_draw::core
