// pipeline.cpp: the public Pipeline — public types <-> internal run, one place that turns
// LibTorch exceptions into pangu_draw::Error{Runtime, "<stage>: ..."}.
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <sstream>

#include "api/edit_request.h"
#include "api/lora_apply.h"
#include "api/infotext.h"
#include "api/request_validate.h"
#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "core/runtime.h"
#include "core/tensor_check.h"
#include "io/atomic_file.h"
#include "io/mindspore_ckpt.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "api/run_builder.h"
#include "coop/plan.h"
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
  std::shared_ptr<api::LoraState> loras;  // the LoRA set merged into `model` (lora_apply.h)
  // Other models named by experts, loaded once and kept for later requests.
  mutable std::mutex cache_mutex;
  mutable std::map<std::string, std::shared_ptr<const pipeline::ModelBundle>> cache;

  // A model name of a request -> the file the host lets it load (LoadOptions::resolve_model).
  std::string resolve(const std::string& name, const char* what) const {
    PD_CHECK(options.resolve_model, Usage,
             "the request names the " << what << " '" << name << "', but this Pipeline lets requests name "
                                      "no other model: the host sets LoadOptions::resolve_model "
                                      "(pangu_draw::any_model_path trusts every path, as the CLI does)");
    return options.resolve_model(name);
  }

  std::shared_ptr<const pipeline::ModelBundle> expert_model(const std::string& name) const {
    if (model->texture && same_file(name, model->texture->path)) return model->texture;
    const std::string path = resolve(name, "model");
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto& slot = cache[path];
    if (!slot) {
      pipeline::LoadSettings settings;
      settings.dtype = model->dtype;
      settings.device = model->device;  // every expert on the run's device
      slot = pipeline::load_bundle(path, settings);
    }
    return slot;
  }

  // ControlNets, loaded once per (path, dtype, device) and shared by every request and expert.
  mutable std::map<std::string, unet::ControlNetModel> controlnets;
  unet::ControlNetModel controlnet(const std::string& name, const pipeline::ModelBundle& m) const {
    const std::string path = resolve(name, "ControlNet");
    std::lock_guard<std::mutex> lock(cache_mutex);
    const std::string key = path + "|" + c10::toString(m.dtype) + "|" + m.device.str();
    auto it = controlnets.find(key);
    if (it != controlnets.end()) return it->second;
    auto net = unet::load_controlnet(path, m.dtype, m.device);
    controlnets.emplace(key, net);
    return net;
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



int64_t pick_seed(int64_t seed) {
  if (seed >= 0) return seed;
  std::random_device rd;
  return static_cast<int64_t>((uint64_t(rd()) << 20) ^ rd()) & ((int64_t(1) << 48) - 1);
}

}  // namespace

Pipeline Pipeline::load(const std::string& model_path, const LoadOptions& options) {
  return guarded("loading model", [&] {
    auto impl = std::make_shared<Impl>();
    impl->options = options;
    pipeline::LoadSettings settings;
    settings.config_dir = options.config_dir;
    settings.device = core::parse_device(options.device);
    settings.dtype = options.dtype == "auto" ? core::default_dtype(settings.device)
                                             : core::parse_dtype(options.dtype);
    impl->model = pipeline::load_bundle(model_path, settings);
    impl->loras = std::make_shared<api::LoraState>(impl->model);
    Pipeline p;
    p.impl_ = impl;
    return p;
  });
}

namespace {

struct PreparedRun {
  std::string prompt;
  std::vector<coop::Expert> experts;  // the plan: one expert for a plain request
  coop::CoopSettings settings;
  api::EditInputs edit;               // init image, mask, paste-back (empty: text-to-image)
};

PreparedRun prepare(const Request& r, const Pipeline::Impl& impl) {
  PreparedRun run;
  run.prompt = r.prompt;
  api::Loaders loaders;
  loaders.model = [&](const std::string& path) { return impl.expert_model(path); };
  loaders.controlnet = [&](const std::string& path, const pipeline::ModelBundle& m) {
    return impl.controlnet(path, m);
  };
  run.experts = api::build_experts(r, run.prompt, impl.model, loaders);
  run.settings = api::run_settings(r);
  run.edit = api::edit_inputs(r);
  run.settings.edit = run.edit.run;
  if (!r.init_noise.data.empty() || !r.init_noise.shape.empty()) {
    run.settings.init_noise = api::init_noise(r.init_noise, run.experts.front().latent_shape);
  }
  return run;
}

pipeline::Generated run_once(PreparedRun& run, int64_t seed, const std::function<void(int, int)>& on_step) {
  run.settings.seed = seed;
  run.settings.options.on_step = on_step;
  pipeline::Generated out = coop::run_experts(run.experts, run.settings);
  out.image = api::paste_back(out.image, run.edit);
  return out;
}

}  // namespace

Result Pipeline::generate(const Request& asked, const ProgressFn& on_step) const {
  PD_CHECK(impl_, Usage, "Pipeline::generate called on an empty Pipeline; use Pipeline::load");
  const auto& model = *impl_->model;
  api::validate_request(asked, static_cast<int>(model.native_width), static_cast<int>(model.native_height));
  // An edit's output takes the canvas size (the init image plus any outpainting border).
  const Request request = coop::time_decoupled_plan(api::sized_for_edit(asked), model);
  // <lora:name:w> tags leave the text the encoders see (the parameters text keeps them); the
  // lock keeps the request's LoRA set merged until the run ends (lora_apply.h).
  std::vector<api::LoraTag> tags;
  Request encoded = request;
  if (request.prompt_syntax != "plain") encoded.prompt = api::strip_lora_tags(request.prompt, &tags);
  auto lora_lock = guarded("merging LoRAs", [&] { return impl_->loras->acquire(request, tags); });
  PreparedRun run = guarded("preparing the run", [&] { return prepare(encoded, *impl_); });
  run.prompt = request.prompt;
  Result result;
  const int64_t base_seed = pick_seed(request.seed);
  auto progress = [&](int step, int steps) {
    if (on_step && !on_step(step, steps)) throw Error(ErrorKind::Runtime, "cancelled by the caller");
  };
  for (int i = 0; i < request.batch_count; ++i) {
    const int64_t seed = base_seed + i;
    auto out = guarded("generating", [&] { return run_once(run, seed, progress); });
    if (request.return_latents) result.latents.push_back(api::to_public(out.latent));
    result.images.push_back(guarded("converting the image", [&] { return to_image(out.image); }));
    result.seeds.push_back(seed);
    Request shown = request;
    shown.prompt = run.prompt;
    result.parameters.push_back(api::parameters_text(shown, request.original_prompt.empty() ? request.prompt : request.original_prompt, seed, out.image.size(3),
                                                out.image.size(2), model));
  }
  return result;
}

void write_png(const std::string& path, const Image& image, const std::string& parameters,
               bool overwrite) {
  guarded("writing a PNG", [&] { io::write_png_file(path, image, parameters, overwrite); });
}

std::string encode_png(const Image& image, const std::string& parameters) {
  return guarded("encoding a PNG", [&] { return io::encode_png(image, "parameters", parameters); });
}

Image decode_png(const std::string& bytes, const std::string& origin, std::int64_t max_pixels) {
  return guarded("decoding a PNG", [&] { return io::decode_png(bytes, origin, max_pixels); });
}

std::string read_png_text(const std::string& path, const std::string& key) {
  return guarded("reading a PNG", [&] { return io::png_text(io::read_file(path, size_t(1) << 30), key); });
}

Image read_image(const std::string& path) {
  return guarded("reading an image", [&] { return io::read_image(path); });
}

Tensor read_tensor(const std::string& path) {
  return guarded("reading a tensor", [&] { return api::to_public(api::read_single_tensor(path)); });
}

Bytes read_file(const std::string& path) {
  return guarded("reading a file", [&] {
    auto bytes = io::read_file(path, size_t(4) << 30);
    return std::make_shared<const std::vector<std::uint8_t>>(bytes.begin(), bytes.end());
  });
}

void write_tensor(const std::string& path, const Tensor& tensor, const std::string& name) {
  guarded("writing a tensor", [&] {
    io::save_safetensors(path, {{name, api::from_public(tensor, path)}});
  });
}

std::size_t convert_mindspore_checkpoint(const std::string& ckpt_path, const std::string& out_path,
                                         const std::string& cast) {
  return guarded("converting", [&] {
    auto ckpt = io::MindSporeCheckpoint::open(ckpt_path);
    return io::convert_mindspore_to_safetensors(*ckpt, out_path, cast);
  });
}

void set_log_level(const std::string& level) {
  LogLevel parsed = LogLevel::info;
  PD_CHECK(parse_log_level(level, &parsed), Usage,
           "unknown log level '" << level << "': use debug, info, warn, error or off");
  logger().set_level(parsed);
}

std::vector<std::string> sampler_names() { return schedulers::sampler_names(); }

std::string any_model_path(const std::string& name) { return name; }

void set_log_callback(std::function<void(const std::string&, const std::string&)> sink) {
  if (!sink) {
    logger().set_sink({});
    return;
  }
  logger().set_sink([sink = std::move(sink)](LogLevel level, const std::string& message) {
    static const char* const kNames[] = {"debug", "info", "warn", "error", "off"};
    sink(kNames[static_cast<int>(level)], message);
  });
}

int set_compute_threads(int threads) {
  return guarded("setting threads", [&] { return core::configure_threads(threads); });
}

}  // namespace pangu_draw
