// model_bundle.cpp: load_bundle: every component of a model (text encoders, UNet, VAE, scheduler,
// styles, time-decoupled texture UNet) on its device.
#include "pipeline/model_bundle.h"

#include <unistd.h>

#include <chrono>
#include <utility>

#include "core/error.h"
#include "core/log.h"

namespace pangu_draw::pipeline {

std::vector<int64_t> ModelBundle::latent_shape(int64_t width, int64_t height) const {
  const int64_t f = vae->downscale();
  // The VAE's channels: a 9-channel inpainting UNet reads more than the latent it denoises.
  return {1, vae->config().latent_channels, height / f, width / f};
}

namespace {

std::string base_name(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  const size_t slash = p.find_last_of('/');
  std::string name = slash == std::string::npos ? p : p.substr(slash + 1);
  if (name == "model" && slash != std::string::npos && slash > 0) {  // .../sd1/model -> sd1
    return base_name(p.substr(0, slash));
  }
  return name;
}

// A weighted checksum of every VAE weight, read from the file on the CPU whatever the model's
// device: equal VAEs give equal values, and two different trained or random VAEs differ in
// practice.
double fingerprint(const io::WeightSource& weights) {
  double acc = 0.0;
  int64_t i = 0;
  for (const auto& name : weights.names()) {
    auto d = weights.load(name, torch::kDouble);
    acc += static_cast<double>(++i) * d.sum().item<double>() + d.abs().sum().item<double>();
  }
  return acc;
}

// styles.json: {"aesthetic": "義 ", ...}; absent file = no named styles.
std::map<std::string, std::string> read_styles(const io::ModelLayout& layout) {
  std::map<std::string, std::string> styles;
  const io::ComponentFiles root = layout.files("");
  if (!root.exists("styles.json")) return styles;
  const io::JsonConfig json = root.json("styles.json");
  for (const auto& [name, prefix] : json.raw().items()) styles[name] = json.get_string(name);
  return styles;
}

// The texture generator of model_index.json's "time_decoupled" entry: `structure` with the
// UNet of the component folder the entry names.
std::shared_ptr<const ModelBundle> load_texture(const io::ModelLayout& layout,
                                                const ModelBundle& structure, double& switch_t) {
  const io::JsonConfig plan = layout.model_index().get_object("time_decoupled");
  const std::string component = plan.get_string("texture_unet");
  switch_t = plan.get_double("switch_t");
  PD_CHECK(switch_t > 0 && switch_t < structure.scheduler.num_train_timesteps, Input,
           plan.origin() << ": time_decoupled.switch_t must be inside (0, "
                         << structure.scheduler.num_train_timesteps << "), got " << switch_t);
  auto texture = std::make_shared<ModelBundle>(structure);
  texture->unet = unet::load_unet(layout.config(component), layout.weights(component),
                                  structure.dtype, structure.device);
  PD_CHECK(texture->unet->config().in_channels == structure.unet->config().in_channels, Input,
           layout.folder(component) << ": the texture UNet must work in the structure UNet's latent space");
  texture->path = layout.folder(component);
  texture->name = structure.name + "/" + component;
  return texture;
}

}  // namespace

std::shared_ptr<const ModelBundle> load_bundle(const std::string& path, const LoadSettings& settings) {
  torch::InferenceMode guard;
  const auto start = std::chrono::steady_clock::now();
  auto seconds = [last = start]() mutable {  // since the previous call
    const auto now = std::chrono::steady_clock::now();
    return std::chrono::duration<double>(now - std::exchange(last, now)).count();
  };
  logger().info("loading {}", path);  // a large checkpoint takes a while: say so first
  const io::ModelLayout layout = io::ModelLayout::open(path, settings.config_dir);
  auto bundle = std::make_shared<ModelBundle>();
  bundle->path = path;
  bundle->name = base_name(path);
  bundle->dtype = settings.dtype;
  bundle->device = settings.device;
  bundle->conditioner = text_encoders::load_conditioner(layout, settings.dtype, settings.device);
  logger().debug("text encoders: {:.2f} s", seconds());
  bundle->unet = unet::load_unet(layout.config("unet"), layout.weights("unet"), settings.dtype,
                                 settings.device);
  logger().debug("unet: {:.2f} s", seconds());
  bundle->vae = vae::load_vae(layout.config("vae"), layout.weights("vae"), settings.dtype,
                              settings.device);
  logger().debug("vae: {:.2f} s", seconds());
  bundle->styles = read_styles(layout);
  bundle->vae_fingerprint = fingerprint(layout.weights("vae"));
  bundle->scheduler = schedulers::NoiseScheduleConfig::from_json(layout.config("scheduler"));
  const int64_t sample = layout.config("unet").get_int("sample_size", 64);
  bundle->native_width = bundle->native_height = sample * bundle->vae->downscale();
  if (layout.model_index().has("time_decoupled")) {
    bundle->texture = load_texture(layout, *bundle, bundle->switch_t);
  }
  logger().info("loaded {} ({}, native size {}x{}) in {:.1f} s", bundle->name,
                layout.single_file() ? "single file" : "diffusers folder", bundle->native_width,
                bundle->native_height,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return bundle;
}

}  // namespace pangu_draw::pipeline
