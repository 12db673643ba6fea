// bench.cpp: pangu_draw::run_benchmark: times the text encoders, one CFG UNet step and the VAE
// decode of a model, counts their FLOPs in a counting pass and compares with the machine's peak.
#include "pangu_draw/bench.h"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/bench_models.h"
#include "api/bench_peak.h"
#include "api/bench_save.h"
#include "core/error.h"
#include "core/flop_counter.h"
#include "core/log.h"
#include "core/memory.h"
#include "core/op_profile.h"
#include "core/runtime.h"
#include "vae/tiled_decode.h"

namespace pangu_draw {

namespace {

constexpr double kMB = 1024.0 * 1024.0;

std::string shape_text(const torch::Tensor& t) {
  std::ostringstream s;
  s << t.sizes();
  return s.str();
}

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double wall = 0.0, cpu = 0.0;
};

Timing seconds_of(const std::function<void()>& fn) {
  const double cpu0 = process_cpu_seconds();
  const auto t0 = std::chrono::steady_clock::now();
  fn();
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  return {dt.count(), process_cpu_seconds() - cpu0};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// One more run under the per-operator profile (kept out of the timed runs: it adds a little
// bookkeeping per call).
std::vector<BenchOp> profile_of(const std::function<void()>& fn) {
  core::OpProfile profile;
  fn();
  std::vector<BenchOp> ops;
  for (const auto& op : profile.result()) ops.push_back({op.name, op.self_s, op.calls});
  return ops;
}

// One counted call (a warm-up, or with warmup false the first of the `steps` timed calls), then
// the remaining timed calls; with `profile`, one more call under the per-operator profile.
BenchComponent time_component(const std::string& name, const std::string& shape,
                              const std::function<void()>& fn, int steps, bool warmup,
                              bool profile) {
  BenchComponent c;
  c.name = name;
  c.shape = shape;
  std::vector<double> times, cpu;
  {
    core::FlopCounter counter;
    const Timing t = seconds_of(fn);
    if (!warmup) {
      times.push_back(t.wall);
      cpu.push_back(t.cpu);
    }
    c.gflop = static_cast<double>(counter.flops()) / 1e9;
  }
  while (static_cast<int>(times.size()) < steps) {
    const Timing t = seconds_of(fn);
    times.push_back(t.wall);
    cpu.push_back(t.cpu);
  }
  c.median_s = median(times);
  c.min_s = *std::min_element(times.begin(), times.end());
  c.cpu_s = median(cpu);
  const double threads = static_cast<double>(at::get_num_threads());
  c.gflops_cpu = c.cpu_s > 0 ? c.gflop / (c.cpu_s / threads) : 0.0;
  c.gflops = c.median_s > 0 ? c.gflop / c.median_s : 0.0;
  if (profile) c.ops = profile_of(fn);
  logger().info("bench {}: median {:.3f} s, {:.1f} GFLOP, {:.1f} GFLOP/s", name, c.median_s,
                c.gflop, c.gflops);
  return c;
}

void validate(const BenchOptions& o) {
  PD_CHECK(o.steps >= 1, Usage, "--steps must be >= 1, got " << o.steps);
  PD_CHECK(o.batch >= 1, Usage, "--batch must be >= 1, got " << o.batch);
  PD_CHECK(o.width >= 0 && o.width % 8 == 0 && o.height >= 0 && o.height % 8 == 0, Usage,
           "--width/--height must be multiples of 8 (0 = native size), got " << o.width << "x"
                                                                             << o.height);
}

void to_channels_last(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) {
    if (p.dim() == 4) p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

api::BenchModels make_models(const BenchOptions& o, torch::ScalarType dtype) {
  if (!o.model_path.empty()) return api::load_bench_models(o.model_path, dtype, o.width, o.height);
  return api::build_random_models(pipeline::builtin_arch(o.arch), dtype);
}

// UNet input x [2B, 4, h, w] and the conditioning repeated to 2B (uncond + cond branches).
std::function<void()> unet_step(api::BenchModels& m, int64_t batch, int64_t h, int64_t w,
                                torch::ScalarType dtype, bool channels_last, std::string& shape) {
  auto x = torch::randn({2 * batch, m.unet->config().in_channels, h, w}).to(dtype);
  if (channels_last) x = x.contiguous(torch::MemoryFormat::ChannelsLast);
  shape = shape_text(x);
  auto t = torch::full({2 * batch}, 500.0f);
  auto context = m.context.to(dtype).repeat({2 * batch, 1, 1});
  unet::UNetExtra extra;
  if (m.pooled.defined()) extra.text_embeds = m.pooled.to(dtype).repeat({2 * batch, 1});
  if (m.time_ids.defined()) extra.time_ids = m.time_ids.repeat({2 * batch, 1});
  return [unet = m.unet, x, t, context, extra]() mutable {
    torch::InferenceMode guard;
    auto out = unet->forward(x, t, context, extra).to(torch::kFloat).chunk(2);
    auto guided = out[0] + 7.5 * (out[1] - out[0]);  // CFG, as guidance::combine does
    (void)guided;
  };
}

}  // namespace

BenchReport run_benchmark(const BenchOptions& o) {
  validate(o);
  BenchReport r;
  r.threads = core::configure_threads(o.threads);
  if (!o.save_model.empty()) {
    PD_CHECK(o.model_path.empty(), Usage, "--save-model writes --arch's model; drop --model");
    api::save_random_model(pipeline::builtin_arch(o.arch), o.save_model);
    r.model = o.save_model;
    return r;
  }
  const torch::ScalarType dtype = core::parse_dtype(o.dtype);
  const torch::ScalarType vae_dtype =
      core::parse_dtype(o.vae_dtype.empty() ? o.dtype : o.vae_dtype);
  r.dtype = o.dtype;
  r.batch = o.batch;
  r.steps = o.steps;
  r.blas_core = "mkl";  // LibTorch 2.x wheels: MKL behind linear layers
  try {
    if (o.peak) {
      const api::PeakRate gemm = api::peak_gemm(dtype);
      const api::PeakRate conv = api::peak_conv(dtype, o.channels_last);
      r.peak_gemm_gflops = gemm.wall_gflops;
      r.peak_conv_gflops = conv.wall_gflops;
      r.peak_gemm_gflops_cpu = gemm.cpu_gflops;
      r.peak_conv_gflops_cpu = conv.cpu_gflops;
    }
    if (!o.components) {
      r.peak_rss_mb = static_cast<double>(core::peak_rss_bytes()) / kMB;
      return r;
    }
    api::BenchModels m = make_models(o, dtype);
    r.model = m.description;
    r.params_millions = m.params_millions;
    r.width = o.width > 0 ? o.width : static_cast<int>(m.native_width);
    r.height = o.height > 0 ? o.height : static_cast<int>(m.native_height);
    if (vae_dtype != dtype) m.vae->to(vae_dtype);
    if (o.channels_last) {
      to_channels_last(*m.unet);
      to_channels_last(*m.vae);
    }
    r.rss_after_load_mb = static_cast<double>(core::current_rss_bytes()) / kMB;
    const int64_t f = m.vae->downscale(), h = r.height / f, w = r.width / f;
    r.components.push_back(
        time_component("text_encoder", "[2, 77] ids", m.encode_text, o.steps, o.warmup, o.profile));
    std::string shape;
    auto step = unet_step(m, o.batch, h, w, dtype, o.channels_last, shape);
    r.components.push_back(time_component("unet_step_cfg", shape, step, o.steps, o.warmup, o.profile));
    auto z = torch::randn({o.batch, m.vae->config().latent_channels, h, w}).to(vae_dtype);
    if (o.channels_last) z = z.contiguous(torch::MemoryFormat::ChannelsLast);
    auto decode = [vae = m.vae, z, tile = o.vae_tile]() mutable {
      torch::InferenceMode guard;
      vae::decode_tiled(vae, z, tile);
    };
    bool tiled = false;
    const auto tiles = vae::resolve_tiling(o.vae_tile, h, w, tiled);
    const std::string how = tiled ? " in tiles of " + std::to_string(tiles.tile) : "";
    r.components.push_back(time_component("vae_decode", shape_text(z) + how, decode, o.steps, o.warmup,
                                          o.profile));
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    PD_FAIL(Runtime, "benchmark: " << e.what_without_backtrace());
  }
  r.peak_rss_mb = static_cast<double>(core::peak_rss_bytes()) / kMB;
  return r;
}

std::string bench_report_json(const BenchReport& r) {
  nlohmann::json comps = nlohmann::json::array();
  for (const auto& c : r.components) {
    nlohmann::json ops = nlohmann::json::array();
    for (const auto& op : c.ops) {
      ops.push_back({{"name", op.name}, {"self_s", op.self_s}, {"calls", op.calls}});
    }
    comps.push_back({{"name", c.name}, {"shape", c.shape}, {"median_s", c.median_s},
                     {"min_s", c.min_s}, {"cpu_s", c.cpu_s}, {"gflop", c.gflop},
                     {"gflops", c.gflops}, {"gflops_cpu", c.gflops_cpu}, {"ops", ops}});
  }
  nlohmann::json j = {{"model", r.model}, {"dtype", r.dtype}, {"threads", r.threads},
                      {"width", r.width}, {"height", r.height}, {"batch", r.batch},
                      {"steps", r.steps}, {"blas_core", r.blas_core},
                      {"params_millions", r.params_millions},
                      {"peak_gemm_gflops", r.peak_gemm_gflops},
                      {"peak_conv_gflops", r.peak_conv_gflops},
                      {"peak_gemm_gflops_cpu", r.peak_gemm_gflops_cpu},
                      {"peak_conv_gflops_cpu", r.peak_conv_gflops_cpu}, {"components", comps},
                      {"rss_after_load_mb", r.rss_after_load_mb}, {"peak_rss_mb", r.peak_rss_mb}};
  return j.dump(2);
}

}  // namespace pangu_draw
