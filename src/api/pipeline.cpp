// pipeline.cpp: the public Pipeline — public types <-> internal run, one place that turns
// LibTorch exceptions into pangu_draw::Error{Runtime, "<stage>: ..."}.
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <sstream>

#include "api/request_validate.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/tensor_check.h"
#include "io/atomic_file.h"
#include "io/mindspore_ckpt.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "api/run_builder.h"
#include "pipeline/prompt_enhance.h"
#include "pipeline/txt2img.h"

namespace pangu_draw {

namespace {

// Two spellings of one path (relative, with "./" or a trailing slash) name the same folder.
bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return a == b || std::filesystem::equivalent(a, b, ec);
}

}  // namespace

struct Pipeline::Impl {
  std::shared_ptr<const pipeline::ModelBundle> model;
  LoadOptions options;
  // Other models named by experts, loaded once and kept for later requests.
  mutable std::mutex cache_mutex;
  mutable std::map<std::string, std::shared_ptr<const pipeline::ModelBundle>> cache;

  std::shared_ptr<const pipeline::ModelBundle> expert_model(const std::string& path) const {
    if (model->texture && same_file(path, model->texture->path)) return model->texture;
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto& slot = cache[path];
    if (!slot) {
      pipeline::LoadSettings settings;
      settings.dtype = model->dtype;
      slot = pipeline::load_bundle(path, settings);
    }
    return slot;
  }
};

namespace {

// Runs `fn`, rewrapping anything that is not already a pangu_draw::Error.
template <typename Fn>
auto guarded(const char* stage, Fn&& fn) -> decltype(fn()) {
  try {
    return fn();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw Error(ErrorKind::Runtime, std::string(stage) + ": " + e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw Error(ErrorKind::Runtime, std::string(stage) + ": out of memory; try a smaller size");
  } catch (const std::exception& e) {
    throw Error(ErrorKind::Runtime, std::string(stage) + ": " + e.what());
  }
}

Image to_image(const torch::Tensor& image) {  // [1, 3, H, W] in [-1, 1]
  auto u8 = ((image[0] / 2 + 0.5).clamp(0, 1) * 255).round().to(torch::kUInt8);
  u8 = u8.permute({1, 2, 0}).contiguous();  // [H, W, 3]
  Image out;
  out.height = static_cast<int>(u8.size(0));
  out.width = static_cast<int>(u8.size(1));
  out.rgb.assign(u8.data_ptr<uint8_t>(), u8.data_ptr<uint8_t>() + u8.numel());
  return out;
}



std::string parameters_text(const Request& r, const std::string& original_prompt, int64_t seed,
                            int64_t w, int64_t h, const std::string& model) {
  std::ostringstream os;
  os << r.prompt << "\n";
  if (!r.negative_prompt.empty()) os << "Negative prompt: " << r.negative_prompt << "\n";
  os << "Steps: " << r.steps << ", Sampler: " << api::sampler_display_name(r.sampler, r.schedule)
     << ", CFG scale: " << r.cfg_scale << ", Seed: " << seed << ", Size: " << w << "x" << h
     << ", Model: " << model;
  if (!r.controlnet_path.empty()) os << ", ControlNet: " << r.controlnet_path << ", Control scale: " << r.control_scale;
  for (const auto& s : r.styles) os << ", Style: " << s.name << " " << s.scale;
  for (const auto& e : r.experts) {
    os << ", Expert: " << (e.model_path.empty() ? model : e.model_path) << " w" << e.weight;
    if (e.from_t >= 0 || e.to_t >= 0) os << " t[" << e.to_t << "," << e.from_t << ")";
  }
  if (original_prompt != r.prompt) os << ", Original prompt: " << original_prompt;
  os << ", Version: pangu-draw";
  return os.str();
}

int64_t pick_seed(int64_t seed) {
  if (seed >= 0) return seed;
  std::random_device rd;
  return static_cast<int64_t>((uint64_t(rd()) << 20) ^ rd()) & ((int64_t(1) << 48) - 1);
}

}  // namespace

Pipeline Pipeline::load(const std::string& model_path, const LoadOptions& options) {
  return guarded("loading model", [&] {
    core::configure_threads(options.threads);
    auto impl = std::make_shared<Impl>();
    impl->options = options;
    pipeline::LoadSettings settings;
    settings.config_dir = options.config_dir;
    settings.dtype = core::parse_dtype(options.dtype);
    impl->model = pipeline::load_bundle(model_path, settings);
    Pipeline p;
    p.impl_ = impl;
    return p;
  });
}

namespace {


std::string indexed_path(const std::string& path, int index, int count) {
  if (count == 1) return path;
  const size_t dot = path.find_last_of('.');
  const std::string stem = dot == std::string::npos ? path : path.substr(0, dot);
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  return stem + "_" + std::to_string(index) + ext;
}

}  // namespace

namespace {

struct PreparedRun {
  std::string prompt;
  pipeline::TextToImage plain;       // used when there are no experts
  std::vector<coop::Expert> experts;
  coop::CoopSettings coop;
};

PreparedRun prepare(const Request& r, const Pipeline::Impl& impl) {
  PreparedRun run;
  run.prompt = r.prompt;
  if (!r.enhance_cmd.empty()) {
    run.prompt = pipeline::enhance_prompt(r.prompt, r.enhance_cmd, r.enhance_timeout_ms).prompt;
  }
  if (r.experts.empty()) {
    run.plain = api::build_run(r, run.prompt, impl.model);
    return run;
  }
  run.experts = api::build_experts(r, run.prompt, impl.model,
                                   [&](const std::string& path) { return impl.expert_model(path); });
  run.coop.sampler = r.sampler;
  run.coop.options.steps = r.steps;
  run.coop.options.karras = r.schedule == "karras";
  run.coop.options.eta = r.eta;
  run.coop.naive_latent_resize = r.naive_latent_resize;
  run.coop.vae_tile = r.vae_tile;
  if (!r.init_noise_path.empty()) {
    run.coop.init_noise = api::read_init_noise(r.init_noise_path, run.experts.front().latent_shape);
  }
  return run;
}

pipeline::Generated run_once(PreparedRun& run, const Pipeline::Impl& impl, int64_t seed,
                             const std::function<void(int, int)>& on_step) {
  if (run.experts.empty()) {
    run.plain.seed = seed;
    run.plain.on_step = on_step;
    return pipeline::run_txt2img(impl.model, run.plain);
  }
  run.coop.seed = seed;
  run.coop.options.seed = seed;
  run.coop.options.on_step = on_step;
  return coop::run_experts(run.experts, run.coop);
}

}  // namespace

Result Pipeline::generate(const Request& asked, const ProgressFn& on_step) const {
  PD_CHECK(impl_, Usage, "Pipeline::generate called on an empty Pipeline; use Pipeline::load");
  const auto& model = *impl_->model;
  api::validate_request(asked, static_cast<int>(model.native_width), static_cast<int>(model.native_height));
  const Request request = api::with_model_plan(asked, model);
  PreparedRun run = guarded("preparing the run", [&] { return prepare(request, *impl_); });
  Result result;
  const int64_t base_seed = pick_seed(request.seed);
  auto progress = [&](int step, int steps) {
    if (on_step && !on_step(step, steps)) throw Error(ErrorKind::Runtime, "cancelled by the caller");
  };
  for (int i = 0; i < request.batch_count; ++i) {
    const int64_t seed = base_seed + i;
    auto out = guarded("generating", [&] { return run_once(run, *impl_, seed, progress); });
    if (!request.save_latent_path.empty()) {
      io::save_safetensors(indexed_path(request.save_latent_path, i, request.batch_count),
                           {{"latent", out.latent.contiguous()}});
    }
    result.images.push_back(to_image(out.image));
    result.seeds.push_back(seed);
    Request shown = request;
    shown.prompt = run.prompt;
    result.parameters.push_back(parameters_text(shown, request.prompt, seed, out.image.size(3),
                                                out.image.size(2), model.name));
  }
  return result;
}

void write_png(const std::string& path, const Image& image, const std::string& parameters,
               bool overwrite) {
  io::write_png_file(path, image, parameters, overwrite);
}

std::string read_png_text(const std::string& path, const std::string& key) {
  return io::png_text(io::read_file(path, size_t(1) << 30), key);
}

std::size_t convert_mindspore_checkpoint(const std::string& ckpt_path, const std::string& out_path,
                                         const std::string& cast) {
  return guarded("converting", [&] {
    auto ckpt = io::MindSporeCheckpoint::open(ckpt_path);
    return io::convert_mindspore_to_safetensors(*ckpt, out_path, cast);
  });
}

void set_log_level(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  PD_CHECK(parsed != spdlog::level::off || level == "off", Usage,
           "unknown log level '" << level << "': use debug, info, warn, error or off");
  logger().set_level(parsed);
}

std::vector<std::string> sampler_names() { return schedulers::sampler_names(); }

bool blas_kernel_is_generic() { return core::blas_core_is_generic(); }

std::string best_blas_kernel() { return core::best_blas_core_for_cpu(); }

void restart_with_fast_blas(char** argv) { core::restart_with_fast_blas(argv); }

}  // namespace pangu_draw
