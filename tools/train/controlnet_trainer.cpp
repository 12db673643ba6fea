// controlnet_trainer.cpp: ControlNet training on TinyWorld edge maps against a model's frozen
// UNets (structure and texture generators alternately when the model declares the plan).
#include "controlnet_trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
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
#include "trainer.h"

namespace pangu_draw::train {

namespace fs = std::filesystem;

namespace {

torch::Tensor hint_tensor(const Image& img) {  // [3, H, W] in [0, 1], as the pipeline feeds it
  auto t = torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {img.height, img.width, 3},
                            torch::kUInt8);
  return t.permute({2, 0, 1}).to(torch::kFloat).div(255.0);
}

// The ControlNet's config: the UNet's, plus a conditioning embedding that brings the image-sized
// hint down to the latent size (one stride-2 stage per factor 2 of the VAE).
nlohmann::json controlnet_json(nlohmann::json unet, int64_t vae_downscale) {
  unet["_class_name"] = "ControlNetModel";
  std::vector<int64_t> channels = {16};
  for (int64_t f = vae_downscale; f > 1; f /= 2) channels.push_back(channels.back() * 2);
  unet["conditioning_channels"] = 3;
  unet["conditioning_embedding_out_channels"] = channels;
  unet["controlnet_conditioning_channel_order"] = "rgb";
  unet["global_pool_conditions"] = false;
  for (const char* k : {"up_block_types", "out_channels", "conv_out_kernel", "sample_size"})
    unet.erase(k);
  return unet;
}

// ControlNet initialisation: the UNet's encoder half where names and shapes match, zeros for the
// convolutions that produce residuals and for the hint embedding's last conv (no effect at step 0).
void init_from_unet(unet::ControlNetModel& net, unet::UNet2DConditionModel& unet) {
  torch::NoGradGuard no_grad;
  const auto source = unet->named_parameters();
  for (auto& p : net->named_parameters()) {
    const std::string& name = p.key();
    const bool zero = name.rfind("controlnet_down_blocks.", 0) == 0 ||
                      name.rfind("controlnet_mid_block.", 0) == 0 ||
                      name.rfind("controlnet_cond_embedding.conv_out.", 0) == 0;
    if (zero) {
      p.value().zero_();
    } else if (const auto* s = source.find(name); s && s->sizes() == p.value().sizes()) {
      p.value().copy_(*s);
    }
  }
}

unet::UNet2DConditionModel frozen_unet(const std::string& folder) {
  auto u = unet::load_unet(folder);
  u->eval();
  for (auto& p : u->parameters()) p.set_requires_grad(false);
  return u;
}

}  // namespace

ControlNetTrainer::ControlNetTrainer(const ControlNetTrainConfig& config) : config_(config) {
  PD_CHECK(config.batch > 0, Usage, "--batch must be > 0, got " << config.batch);
  const auto layout = io::ModelLayout::open(config.model);
  conditioner_ = text_encoders::load_conditioner(layout);
  vae_ = vae::load_vae(layout.folder("vae"));
  vae_->eval();
  structure_ = frozen_unet(layout.folder("unet"));
  switch_t_ = 0;
  if (layout.model_index().has("time_decoupled")) {
    const auto plan = layout.model_index().get_object("time_decoupled");
    texture_ = frozen_unet(layout.folder(plan.get_string("texture_unet")));
    switch_t_ = plan.get_int("switch_t");
  }
  json_ = controlnet_json(layout.config("unet").raw(), vae_->downscale());
  torch::manual_seed(config.seed);
  controlnet_ = unet::ControlNetModel(
      unet::ControlNetConfig::from_json(io::JsonConfig(json_, config.model + "/controlnet")));
  if (config.init_dir.empty()) {
    nn::init_parameters(*controlnet_, config.seed);  // the hint embedding has no UNet counterpart
    init_from_unet(controlnet_, structure_);
  } else {
    torch::NoGradGuard no_grad;
    const io::WeightSource weights(io::SafetensorsFile::open(io::find_weights_file(config.init_dir)));
    io::load_into(*controlnet_, weights, "controlnet", torch::kFloat);
  }
  controlnet_->train();
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      controlnet_->parameters(), torch::optim::AdamWOptions(config.lr).weight_decay(1e-2));
  alphas_cumprod_ = alphas_cumprod(layout.config("scheduler"));
  gen_ = at::make_generator<at::CPUGeneratorImpl>(config.seed ^ 0xc0a7ULL);
}

int64_t ControlNetTrainer::parameter_count() const {
  int64_t n = 0;
  for (const auto& p : controlnet_->parameters()) n += p.numel();
  return n;
}

ControlNetTrainer::Batch ControlNetTrainer::make_batch(uint64_t first_seed, int n, bool heldout,
                                                       bool dropout) {
  tinyworld::Rng rng(first_seed ^ 0xed9e5ULL);
  std::vector<torch::Tensor> images, hints;
  std::vector<text_encoders::Conditioning> conds;
  torch::NoGradGuard no_grad;
  const int s = config_.size;
  for (int i = 0; i < n; ++i) {
    const auto scene = tinyworld::sample_scene(first_seed + uint64_t(i), heldout, 0.0);
    images.push_back(image_tensor(tinyworld::render(scene, s)));
    hints.push_back(hint_tensor(tinyworld::render_edges(scene, s)));
    const bool zh = rng.uniform() < config_.zh_fraction;
    const bool empty = dropout && rng.uniform() < config_.caption_dropout;
    const std::string caption = zh ? tinyworld::caption_zh(scene) : tinyworld::caption_en(scene);
    conds.push_back(conditioner_->encode(empty ? "" : caption, s, s));
  }
  Batch b;
  b.latents = vae_->to_latent(vae_->encode(torch::stack(images)).mean);
  b.hints = torch::stack(hints);
  b.cond = text_encoders::Conditioning::cat(conds);  // cat outside inference mode: plain tensors
  return b;
}

torch::Tensor ControlNetTrainer::loss_on(const Batch& b, const torch::Tensor& noise,
                                         const torch::Tensor& t, bool with_control) {
  const auto a = alphas_cumprod_.index_select(0, t).view({-1, 1, 1, 1});
  const auto noisy = a.sqrt() * b.latents + (1 - a).sqrt() * noise;
  unet::UNetExtra extra;
  extra.text_embeds = b.cond.pooled;
  extra.time_ids = b.cond.time_ids;
  if (with_control) {
    auto r = controlnet_->forward(noisy, t, b.cond.context, b.hints, 1.0, extra);
    extra.down_residuals = std::move(r.down_residuals);
    extra.mid_residual = r.mid_residual;
  }
  // One generator per call: the batch's timesteps are all on one side of the hand-over.
  const bool texture = texture_ && t.max().item<int64_t>() < switch_t_;
  auto& unet = texture ? texture_ : structure_;
  return torch::mse_loss(unet->forward(noisy, t, b.cond.context, extra), noise);
}

double ControlNetTrainer::step() {
  const uint64_t first = config_.seed * 1000003ULL + uint64_t(steps_) * uint64_t(config_.batch);
  const Batch b = make_batch(first, config_.batch, false, true);
  const auto noise = torch::randn(b.latents.sizes(), gen_);
  const int64_t T = alphas_cumprod_.size(0);
  // Alternate the generators' ranges (the whole schedule when the model has no plan).
  const bool texture_step = texture_ && steps_ % 2 == 1;
  const int64_t lo = texture_ && !texture_step ? switch_t_ : 0;
  const int64_t hi = texture_step ? switch_t_ : T;
  const auto t = torch::randint(lo, hi, {config_.batch}, gen_, torch::kLong);
  optimizer_->zero_grad();
  const auto loss = loss_on(b, noise, t, true);
  loss.backward();
  torch::nn::utils::clip_grad_norm_(controlnet_->parameters(), 1.0);
  optimizer_->step();
  ++steps_;
  return loss.item<double>();
}

double ControlNetTrainer::eval_loss(uint64_t seed, int n, bool with_control) {
  torch::NoGradGuard no_grad;
  const Batch b = make_batch(seed, n, true, false);
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto noise = torch::randn(b.latents.sizes(), gen);
  const int64_t T = alphas_cumprod_.size(0);
  double sum = 0;
  int parts = 0;
  for (int64_t i = 0; i < n; ++i) {  // one scene at a time: each on its own generator's side
    const int64_t t = (2 * i + 1) * T / (2 * n);
    Batch one{b.latents.slice(0, i, i + 1), b.hints.slice(0, i, i + 1), {}};
    one.cond.context = b.cond.context.slice(0, i, i + 1);
    if (b.cond.pooled.defined()) one.cond.pooled = b.cond.pooled.slice(0, i, i + 1);
    if (b.cond.time_ids.defined()) one.cond.time_ids = b.cond.time_ids.slice(0, i, i + 1);
    sum += loss_on(one, noise.slice(0, i, i + 1), torch::tensor({t}), with_control).item<double>();
    ++parts;
  }
  return sum / parts;
}

void ControlNetTrainer::save(const std::string& out_dir, bool f16) const {
  fs::create_directories(out_dir);
  std::ofstream(fs::path(out_dir) / "config.json") << json_.dump(2) << "\n";
  const auto tensors = module_weights(*controlnet_, f16 ? torch::kHalf : torch::kFloat);
  io::save_safetensors((fs::path(out_dir) / "diffusion_pytorch_model.safetensors").string(), tensors,
                       {{"format", "pt"}, {"steps", std::to_string(steps_)}});
}

}  // namespace pangu_draw::train
