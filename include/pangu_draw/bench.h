// bench.h: the performance benchmark behind `pangu-draw bench` (no LibTorch types).
//
//   pangu_draw::BenchOptions o;  o.arch = "sd15"; o.steps = 3;
//   pangu_draw::BenchReport r = pangu_draw::run_benchmark(o);
//   for (const auto& c : r.components) std::printf("%s %.3f s\n", c.name.c_str(), c.median_s);
//
// Each component runs once under a FLOP-counting pass (also the warm-up), then `steps` timed
// times (warmup = false: the counting run is the first of them, for very slow configurations);
// the report gives medians, the FLOPs of one call and the machine's measured peak.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace pangu_draw {

/// What to benchmark.
struct BenchOptions {
  std::string arch = "sd15";    ///< built-in architecture with random weights: sd15 or sdxl
  std::string model_path;       ///< a model to load instead of `arch` ("" = use arch)
  int width = 0, height = 0;    ///< 0: the architecture's native size
  int batch = 1;                ///< images per UNet call (x2 with CFG)
  int steps = 3;                ///< timed repetitions of each component
  int threads = 0;              ///< 0: $OMP_NUM_THREADS if set, else all cores
  std::string dtype = "fp32";   ///< fp32 or bf16 (weights and compute)
  std::string vae_dtype;        ///< "" = dtype; "fp32" decodes in float32 under bf16
  bool channels_last = false;   ///< run convolutions on channels-last tensors
  int vae_tile = -1;            ///< VAE decode tiling as Request::vae_tile (-1 auto, 0 off)
  bool peak = true;             ///< also measure the machine's peak (GEMM and 3x3 conv)
  bool components = true;       ///< time the model (false: only the peak micro-benchmarks)
  bool warmup = true;           ///< false: the FLOP-counting run is also the first timed run
  bool profile = false;         ///< one more run of each component under a per-operator
                                ///< profile (BenchComponent::ops)
  std::string save_model;       ///< instead of benchmarking: write `arch` with random fp16
                                ///< weights as a diffusers folder here (for `model_path`)
};

/// One operator's share of a profiled component run (BenchOptions::profile).
struct BenchOp {
  std::string name;             ///< e.g. "aten::convolution"
  double self_s = 0.0;          ///< wall time in the op itself, nested ops excluded
  long long calls = 0;
};

/// One timed component.
struct BenchComponent {
  std::string name;             ///< "text_encoder", "unet_step_cfg", "vae_decode"
  std::string shape;            ///< its main input, e.g. "[2, 4, 64, 64]"
  double median_s = 0.0;
  double min_s = 0.0;
  double cpu_s = 0.0;           ///< median process CPU seconds of a call (all threads): on a
                                ///< busy machine cpu_s / threads estimates the idle wall time
  double gflop = 0.0;           ///< FLOPs of one call / 1e9 (convolutions and matrix products)
  double gflops = 0.0;          ///< gflop / median_s
  double gflops_cpu = 0.0;      ///< gflop / (cpu_s / threads): the rate while its threads run
  std::vector<BenchOp> ops;     ///< with profile: operators by self time, largest first
};

/// What the benchmark measured.
struct BenchReport {
  std::string model;            ///< "sd15 (random weights)" or the model path
  std::string dtype;
  int threads = 0;
  int width = 0, height = 0, batch = 0, steps = 0;
  std::string blas_core;        ///< OpenBLAS kernel in use ("" when not OpenBLAS)
  double params_millions = 0.0; ///< parameters of all components
  double peak_gemm_gflops = 0.0;///< large GEMM (torch::mm) in the benchmark's dtype
  double peak_conv_gflops = 0.0;///< 3x3 convolution (oneDNN) in the benchmark's dtype
  double peak_gemm_gflops_cpu = 0.0;  ///< the same from CPU time / threads (busy machines)
  double peak_conv_gflops_cpu = 0.0;
  std::vector<BenchComponent> components;
  double rss_after_load_mb = 0.0;
  double peak_rss_mb = 0.0;     ///< the process's peak resident memory (VmHWM)
};

/// Runs the benchmark (or, with save_model, only writes that folder and returns a report naming
/// it). Error{Usage} for bad options, Error{Input} for a model that fails to load.
BenchReport run_benchmark(const BenchOptions& options);

/// The report as one JSON object (the fields above; components as an array).
std::string bench_report_json(const BenchReport& report);

}  // namespace pangu_draw
