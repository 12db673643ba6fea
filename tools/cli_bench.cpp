// cli_bench.cpp: `pangu-draw bench` flags -> pangu_draw::BenchOptions, and the report printer.
#include "cli_bench.h"

#include <algorithm>
#include <cstdio>

namespace pangu_draw::cli {

BenchArgs& add_bench(CLI::App& app) {
  static BenchArgs a;
  BenchOptions& o = a.options;
  a.cmd = app.add_subcommand("bench", "Benchmark text encoder, UNet step (CFG) and VAE decode "
                                      "against the machine's peak GFLOP/s");
  auto* cmd = a.cmd;
  cmd->add_option("--arch", o.arch, "Built-in architecture with random weights: sd15 or sdxl")
      ->capture_default_str();
  cmd->add_option("-m,--model", o.model_path, "Benchmark this model instead of --arch");
  cmd->add_option("-W,--width", o.width, "Image width (0 = native size)")->capture_default_str();
  cmd->add_option("-H,--height", o.height, "Image height (0 = native size)")->capture_default_str();
  cmd->add_option("--batch", o.batch, "Images per UNet call (doubled by CFG)")
      ->capture_default_str();
  cmd->add_option("--steps", o.steps, "Timed runs of each component (after one counting run)")
      ->capture_default_str();
  cmd->add_option("--threads", o.threads, "CPU threads (0 = $OMP_NUM_THREADS if set, else all cores)")->capture_default_str();
  cmd->add_option("--dtype", o.dtype, "Weights and compute dtype: fp32 or bf16")
      ->capture_default_str();
  cmd->add_option("--vae-dtype", o.vae_dtype, "VAE dtype when it differs from --dtype (fp32)");
  cmd->add_flag("--channels-last", o.channels_last, "Channels-last tensors for convolutions");
  cmd->add_option("--vae-tile", o.vae_tile,
                  "VAE decode tiles in latent cells (-1 = auto as in generate, 0 = untiled)")
      ->capture_default_str();
  cmd->add_flag("!--no-peak", o.peak, "Skip the GEMM / conv peak micro-benchmarks");
  cmd->add_flag("--peak-only", [&o](int64_t) { o.components = false; },
                "Only the GEMM / conv peak micro-benchmarks");
  cmd->add_flag("!--no-warmup", o.warmup, "Time the FLOP-counting run too (for slow sizes)");
  cmd->add_flag("--json", a.json, "Print the report as JSON on stdout");
  cmd->add_flag("--profile", o.profile,
                "One more run of each component timing every operator (self time, top 12 shown)");
  cmd->add_option("--save-model", o.save_model,
                  "Instead of benchmarking, write --arch with random fp16 weights as a diffusers "
                  "model folder here (then: bench --model DIR, generate --model DIR)");
  return a;
}

namespace {

// The profiled run's operators by self time (--profile), the top 12 and the rest.
void print_profile(const BenchComponent& c) {
  if (c.ops.empty()) return;
  double total = 0.0;
  for (const auto& op : c.ops) total += op.self_s;
  std::printf("\n%s profile (one run, %.3f s in operators):\n", c.name.c_str(), total);
  double rest = 0.0;
  for (size_t i = 0; i < c.ops.size(); ++i) {
    const auto& op = c.ops[i];
    if (i >= 12) {
      rest += op.self_s;
      continue;
    }
    std::printf("  %-48s %8.3f s %5.1f%% %6lld calls\n", op.name.c_str(), op.self_s,
                total > 0 ? 100.0 * op.self_s / total : 0.0, op.calls);
  }
  if (rest > 0) std::printf("  %-48s %8.3f s %5.1f%%\n", "(other operators)", rest, 100.0 * rest / total);
}

void print_table(const BenchReport& r) {
  std::printf("model %s, %s, %d threads, %dx%d, batch %d, %d timed steps, BLAS core '%s'\n",
              r.model.c_str(), r.dtype.c_str(), r.threads, r.width, r.height, r.batch, r.steps,
              r.blas_core.c_str());
  std::printf("parameters %.1f M\n", r.params_millions);
  // Shares of peak from CPU time / threads: stable on a busy machine, equal to the wall-time
  // figures on an idle one.
  const double peak = std::max(r.peak_gemm_gflops_cpu, r.peak_conv_gflops_cpu);
  std::printf("machine peak: GEMM %.1f GFLOP/s, 3x3 conv %.1f GFLOP/s "
              "(from CPU time: %.1f, %.1f)\n", r.peak_gemm_gflops, r.peak_conv_gflops, r.peak_gemm_gflops_cpu,
              r.peak_conv_gflops_cpu);
  std::printf("%-14s %-22s %9s %9s %9s %9s %9s %8s\n", "component", "input", "median s", "cpu s",
              "GFLOP", "GFLOP/s", "(cpu)", "of peak");
  for (const auto& c : r.components) {
    std::printf("%-14s %-22s %9.3f %9.3f %9.1f %9.1f %9.1f %7.0f%%\n", c.name.c_str(),
                c.shape.c_str(), c.median_s, c.cpu_s, c.gflop, c.gflops, c.gflops_cpu,
                peak > 0 ? 100.0 * c.gflops_cpu / peak : 0.0);
  }
  std::printf("RSS after load %.0f MB, peak RSS %.0f MB\n", r.rss_after_load_mb, r.peak_rss_mb);
  for (const auto& c : r.components) print_profile(c);
}

}  // namespace

int run_bench(const BenchArgs& a) {
  const BenchReport r = run_benchmark(a.options);
  if (!a.options.save_model.empty()) return 0;  // each component written was logged
  if (a.json) {
    std::printf("%s\n", bench_report_json(r).c_str());
  } else {
    print_table(r);
  }
  return 0;
}

}  // namespace pangu_draw::cli
