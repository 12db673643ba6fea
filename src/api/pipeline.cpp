// pipeline.cpp: the public Pipeline — public types <-> internal run, one place that turns
// LibTorch exceptions into pangu_draw::Error{Runtime, "<stage>: ..."}.
#include <chrono>
#include <random>
#include <sstream>

#include "api/request_validate.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/tensor_check.h"
#include "io/atomic_file.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "pipeline/txt2img.h"

namespace pangu_draw {

struct Pipeline::Impl {
  std::shared_ptr<const pipeline::ModelBundle> model;
  LoadOptions options;
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

torch::Tensor control_hint(const std::string& path, int64_t width, int64_t height) {
  Image img = io::read_image(path);
  PD_CHECK(img.width == width && img.height == height, Usage,
           path << ": control image is " << img.width << "x" << img.height
                << ", but the image to generate is " << width << "x" << height
                << "; resize it or change --width/--height");
  auto t = torch::from_blob(img.rgb.data(), {img.height, img.width, 3}, torch::kUInt8).clone();
  return t.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat) / 255.0;  // [1, 3, H, W] in [0, 1]
}

torch::Tensor read_init_noise(const std::string& path, const std::vector<int64_t>& shape) {
  auto file = io::SafetensorsFile::open(path);
  const auto names = file->names();
  PD_CHECK(names.size() == 1, Input,
           path << ": --init-noise needs a file with exactly one tensor, found " << names.size());
  auto t = file->load(names[0]);
  const bool ok = (t.dim() == 4 && t.sizes().vec() == shape) ||
                  (t.dim() == 3 && t.sizes().vec() == std::vector<int64_t>(shape.begin() + 1, shape.end()));
  PD_CHECK(ok, Input, path << ": noise is " << core::shape_str(t.sizes()) << ", this run needs "
                           << core::shape_str(shape) << " (latent of the requested size)");
  return t.reshape(shape);
}

std::string parameters_text(const Request& r, int64_t seed, int64_t w, int64_t h,
                            const std::string& model) {
  std::ostringstream os;
  os << r.prompt << "\n";
  if (!r.negative_prompt.empty()) os << "Negative prompt: " << r.negative_prompt << "\n";
  os << "Steps: " << r.steps << ", Sampler: " << api::sampler_display_name(r.sampler, r.schedule)
     << ", CFG scale: " << r.cfg_scale << ", Seed: " << seed << ", Size: " << w << "x" << h
     << ", Model: " << model;
  if (!r.controlnet_path.empty()) os << ", ControlNet: " << r.controlnet_path << ", Control scale: " << r.control_scale;
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

pipeline::TextToImage build_run(const Request& r, const pipeline::ModelBundle& model) {
  pipeline::TextToImage run;
  run.prompt = r.prompt;
  run.negative_prompt = r.negative_prompt;
  run.width = r.width ? r.width : model.native_width;
  run.height = r.height ? r.height : model.native_height;
  run.steps = r.steps;
  run.sampler = r.sampler;
  run.karras = r.schedule == "karras";
  run.eta = r.eta;
  run.guidance.cfg = r.cfg_scale;
  if (!r.controlnet_path.empty()) {
    pipeline::ControlInput control;
    control.net = unet::load_controlnet(r.controlnet_path, model.dtype);
    control.hint = control_hint(r.control_image_path, run.width, run.height);
    control.scale = r.control_scale;
    run.controls.push_back(control);
  }
  if (!r.init_noise_path.empty()) {
    run.init_noise = read_init_noise(r.init_noise_path, model.latent_shape(run.width, run.height));
  }
  return run;
}

std::string indexed_path(const std::string& path, int index, int count) {
  if (count == 1) return path;
  const size_t dot = path.find_last_of('.');
  const std::string stem = dot == std::string::npos ? path : path.substr(0, dot);
  const std::string ext = dot == std::string::npos ? "" : path.substr(dot);
  return stem + "_" + std::to_string(index) + ext;
}

}  // namespace

Result Pipeline::generate(const Request& request, const ProgressFn& on_step) const {
  PD_CHECK(impl_, Usage, "Pipeline::generate called on an empty Pipeline; use Pipeline::load");
  const auto& model = *impl_->model;
  api::validate_request(request, static_cast<int>(model.native_width), static_cast<int>(model.native_height));
  pipeline::TextToImage run = guarded("preparing the run", [&] { return build_run(request, model); });
  Result result;
  const int64_t base_seed = pick_seed(request.seed);
  for (int i = 0; i < request.batch_count; ++i) {
    run.seed = base_seed + i;
    run.on_step = [&](int step, int steps) {
      if (on_step && !on_step(step, steps)) throw Error(ErrorKind::Runtime, "cancelled by the caller");
    };
    auto out = guarded("generating", [&] { return pipeline::run_txt2img(impl_->model, run); });
    if (!request.save_latent_path.empty()) {
      io::save_safetensors(indexed_path(request.save_latent_path, i, request.batch_count),
                           {{"latent", out.latent.contiguous()}});
    }
    result.images.push_back(to_image(out.image));
    result.seeds.push_back(run.seed);
    result.parameters.push_back(parameters_text(request, run.seed, run.width, run.height, model.name));
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

void set_log_level(const std::string& level) {
  const auto parsed = spdlog::level::from_str(level);
  PD_CHECK(parsed != spdlog::level::off || level == "off", Usage,
           "unknown log level '" << level << "': use debug, info, warn, error or off");
  logger().set_level(parsed);
}

std::vector<std::string> sampler_names() { return schedulers::sampler_names(); }

bool blas_kernel_is_generic() { return core::blas_core_is_generic(); }

std::string best_blas_kernel() { return core::best_blas_core_for_cpu(); }

}  // namespace pangu_draw
