// blas.h: which OpenBLAS kernel LibTorch's linear layers run on. OpenBLAS picks it from the CPU
// at load time and falls back to a generic one ("Prescott") on CPUs it does not know, which is
// about 5x slower on these machines; OPENBLAS_CORETYPE, read when the library loads, overrides it.
#pragma once

#include <string>

namespace pangu_draw::core {

// The OpenBLAS core name in use ("SkylakeX", "Haswell", "Prescott", ...), "" if OpenBLAS is
// not the BLAS in this process.
std::string blas_core();

// True when that core is a generic fallback although the CPU could do better.
bool blas_core_is_generic();

// The core type to ask for on this CPU: "SkylakeX" (AVX-512), "Haswell" (AVX2) or "".
std::string best_blas_core_for_cpu();

// OpenBLAS keeps a thread pool of its own, apart from LibTorch's OpenMP threads; when OpenMP
// regions (convolutions, element-wise ops) and BLAS calls (linear layers) alternate, the two
// pools fight over the cores (configure_threads keeps OpenBLAS to one thread). Sets OpenBLAS's
// thread count (openblas_set_num_threads); false when OpenBLAS is not the BLAS in this process.
bool set_blas_threads(int threads);
// OpenBLAS's current thread count, 0 if OpenBLAS is not the BLAS in this process.
int blas_threads();

// For a program's main(): when OpenBLAS runs a generic kernel although the CPU could do better,
// restart the program once (execv of /proc/self/exe with the same argv) with OPENBLAS_CORETYPE
// set to best_blas_core_for_cpu(). Does nothing when the user set OPENBLAS_CORETYPE or
// PANGU_DRAW_NO_REEXEC, or when the kernel is fine; returns (and the program carries on as it
// is) only if the restart is not needed or fails.
void restart_with_fast_blas(char** argv);

}  // namespace pangu_draw::core
