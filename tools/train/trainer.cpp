// trainer.cpp: the TinyWorld UNet trainer: batches (render -> VAE latents, caption -> context),
// the noise-prediction loss, AdamW steps, and saving in the diffusers layout.
#include "trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "io/json_config.h"
#include "io/model_layout.h"
#include "io/safetensors.h"
#include "io/state_dict.h"
#include "nn/init.h"
#include "render.h"
#include "scene.h"

namespace pangu_draw::train {

namespace fs = std::filesystem;

torch::Tensor alphas_cumprod(const io::JsonConfig& sched) {
  const int64_t n = sched.get_int("num_train_timesteps", 1000);
  const double b0 = sched.get_double("beta_start", 0.00085),
               b1 = sched.get_double("beta_end", 0.012);
  const std::string kind = sched.get_string("beta_schedule", "scaled_linear");
  PD_CHECK(sched.get_string("prediction_type", "epsilon") == "epsilon", Input,
           sched.origin() << ": the trainer supports prediction_type epsilon only");
  torch::Tensor betas;
  if (kind == "scaled_linear")
    betas = torch::linspace(std::sqrt(b0), std::sqrt(b1), n, torch::kDouble).pow(2);
  else if (kind == "linear")
    betas = torch::linspace(b0, b1, n, torch::kDouble);
  else
    PD_FAIL(Input,
            sched.origin() << ": beta_schedule '" << kind << "' not supported by the trainer");
  return torch::cumprod(1.0 - betas, 0).to(torch::kFloat);
}

torch::Tensor image_tensor(const Image& img) {
  auto t = torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {img.height, img.width, 3},
                            torch::kUInt8);
  return t.permute({2, 0, 1}).to(torch::kFloat).div(127.5).sub(1.0);
}

io::NamedTensors module_weights(const torch::nn::Module& module, torch::ScalarType dtype) {
  io::NamedTensors tensors;
  for (const auto& p : module.named_parameters())
    tensors.emplace_back(p.key(), p.value().detach().to(dtype));
  for (const auto& b : module.named_buffers()) tensors.emplace_back(b.key(), b.value().detach());
  return tensors;
}

Trainer::Trainer(const TrainConfig& config) : config_(config) {
  const auto layout = io::ModelLayout::open(config.base_model);
  conditioner_ = text_encoders::load_conditioner(layout);
  vae_ = vae::load_vae(config.vae_dir.empty() ? layout.folder("vae") : config.vae_dir);
  vae_->eval();
  for (auto& p : vae_->parameters()) p.set_requires_grad(false);
  const std::string unet_cfg =
      config.unet_config.empty() ? layout.folder("unet") + "/config.json" : config.unet_config;
  const auto json = io::JsonConfig::load(unet_cfg);
  unet_json_ = json.raw();
  torch::manual_seed(config.seed);
  unet_ = unet::UNet2DConditionModel(unet::UNetConfig::from_json(json));
  if (!config.init_dir.empty()) {
    const io::WeightSource weights(io::SafetensorsFile::open(io::find_weights_file(config.init_dir)));
    io::load_into(*unet_, weights, "unet", torch::kFloat);
  } else {
    nn::init_parameters(*unet_, config.seed);
  }
  unet_->train();
  if (config.ema_decay > 0) {
    for (const auto& p : unet_->parameters()) ema_.push_back(p.detach().clone());
  }
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      unet_->parameters(), torch::optim::AdamWOptions(config.lr).weight_decay(1e-2));
  alphas_cumprod_ = alphas_cumprod(layout.config("scheduler"));
  const int64_t T = alphas_cumprod_.size(0);
  t_lo_ = config.t_min;
  t_hi_ = config.t_max < 0 ? T : config.t_max;
  PD_CHECK(0 <= t_lo_ && t_lo_ < t_hi_ && t_hi_ <= T, Usage,
           "--t-min/--t-max: need 0 <= t-min < t-max <= " << T << ", got [" << t_lo_ << ", "
                                                           << t_hi_ << ")");
  gen_ = at::make_generator<at::CPUGeneratorImpl>(config.seed ^ 0x747261696eULL);
}

int64_t Trainer::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : unet_->parameters()) n += p.numel();
  return n;
}

Trainer::Batch Trainer::make_batch(uint64_t first_seed, int n, bool dropout, uint64_t rng_seed) {
  tinyworld::Rng rng(rng_seed);
  std::vector<torch::Tensor> images;
  std::vector<text_encoders::Conditioning> conds;
  torch::NoGradGuard no_grad;
  const int cs = conditioning_size();
  for (int i = 0; i < n; ++i) {
    const auto scene = tinyworld::sample_scene(first_seed + i, false, config_.lowres_fraction);
    images.push_back(image_tensor(tinyworld::render(scene, config_.size)));
    const bool zh = rng.uniform() < config_.zh_fraction;
    if (dropout && rng.uniform() < config_.caption_dropout)
      conds.push_back(conditioner_->encode_negative("", cs, cs));
    else
      conds.push_back(
          conditioner_->encode(zh ? tinyworld::caption_zh(scene) : tinyworld::caption_en(scene),
                               cs, cs));
  }
  Batch b;
  b.latents = vae_->to_latent(vae_->encode(torch::stack(images)).mean);
  b.cond = text_encoders::Conditioning::cat(conds);
  return b;
}

torch::Tensor Trainer::loss_on(const Batch& b, const torch::Tensor& noise, const torch::Tensor& t) {
  const auto a = alphas_cumprod_.index_select(0, t).view({-1, 1, 1, 1});
  const auto noisy = a.sqrt() * b.latents + (1 - a).sqrt() * noise;
  unet::UNetExtra extra;
  extra.text_embeds = b.cond.pooled;
  extra.time_ids = b.cond.time_ids;
  const auto pred = unet_->forward(noisy, t, b.cond.context, extra);
  return torch::mse_loss(pred, noise);
}

double Trainer::step() {
  const uint64_t first = config_.seed * 1000003ULL + static_cast<uint64_t>(steps_) * config_.batch;
  const Batch b = make_batch(first, config_.batch, true, first ^ 0xbadc0ffeeULL);
  const auto noise = torch::randn(b.latents.sizes(), gen_);
  const auto t = torch::randint(t_lo_, t_hi_, {config_.batch}, gen_, torch::kLong);
  optimizer_->zero_grad();
  const auto loss = loss_on(b, noise, t);
  loss.backward();
  torch::nn::utils::clip_grad_norm_(unet_->parameters(), 1.0);
  optimizer_->step();
  if (!ema_.empty()) {
    torch::NoGradGuard no_grad;
    const auto params = unet_->parameters();
    for (size_t i = 0; i < ema_.size(); ++i)
      ema_[i].mul_(config_.ema_decay).add_(params[i].detach(), 1.0 - config_.ema_decay);
  }
  ++steps_;
  return loss.item<double>();
}

double Trainer::eval_loss(uint64_t seed, int n) {
  const Batch b = make_batch(seed, n, false, seed);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto noise = torch::randn(b.latents.sizes(), gen);
  const auto t = torch::linspace(t_lo_, t_hi_ - 1, n).to(torch::kLong);
  torch::NoGradGuard no_grad;
  return loss_on(b, noise, t).item<double>();
}

void Trainer::save(const std::string& out_dir) const {
  const fs::path base(config_.base_model), out(out_dir);
  fs::create_directories(out);
  for (const auto& entry : fs::directory_iterator(base)) {
    const auto name = entry.path().filename().string();
    if (name == "unet" || name == "controlnet" || (name == "vae" && !config_.vae_dir.empty()))
      continue;
    fs::copy(entry.path(), out / name,
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  }
  if (!config_.vae_dir.empty())
    fs::copy(config_.vae_dir, out / "vae",
             fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  fs::create_directories(out / "unet");
  auto unet_json = unet_json_;  // the native latent size: the size the model is meant to sample at
  unet_json["sample_size"] = conditioning_size() / vae_->downscale();
  std::ofstream(out / "unet" / "config.json") << unet_json.dump(2) << "\n";
  io::NamedTensors tensors;
  const auto dtype = config_.save_f16 ? torch::kHalf : torch::kFloat;
  size_t i = 0;
  for (const auto& p : unet_->named_parameters()) {  // same order as parameters()
    const auto& value = ema_.empty() ? p.value() : ema_[i++];
    tensors.emplace_back(p.key(), value.detach().to(dtype));
  }
  for (const auto& b : unet_->named_buffers()) tensors.emplace_back(b.key(), b.value().detach());
  io::save_safetensors((out / "unet" / "diffusion_pytorch_model.safetensors").string(), tensors,
                       {{"format", "pt"}, {"steps", std::to_string(steps_)}});
}

}  // namespace pangu_draw::train
