// vae_trainer.cpp: AutoencoderKL training on TinyWorld renders, and saving in diffusers layout.
#include "vae_trainer.h"

#include <ATen/CPUGeneratorImpl.h>

#include <filesystem>
#include <fstream>

#include "io/json_config.h"
#include "io/model_layout.h"
#include "io/safetensors.h"
#include "io/state_dict.h"
#include "nn/init.h"
#include "checker.h"
#include "render.h"
#include "scene.h"

namespace pangu_draw::train {

torch::Tensor tinyworld_batch(uint64_t first_seed, int n, int size, double lowres_fraction) {
  std::vector<torch::Tensor> out;
  for (int i = 0; i < n; ++i) {
    const Image img =
        tinyworld::render(tinyworld::sample_scene(first_seed + i, false, lowres_fraction), size);
    auto t = torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {img.height, img.width, 3},
                              torch::kUInt8);
    out.push_back(t.permute({2, 0, 1}).to(torch::kFloat).div(127.5).sub(1.0));
  }
  return torch::stack(out);
}

VaeTrainer::VaeTrainer(const VaeTrainConfig& config) : config_(config) {
  const auto json = io::JsonConfig::load(config.vae_config);
  json_ = json.raw();
  torch::manual_seed(config.seed);
  vae_ = vae::AutoencoderKL(vae::VAEConfig::from_json(json));
  if (!config.init_dir.empty()) {
    const io::WeightSource weights(io::SafetensorsFile::open(io::find_weights_file(config.init_dir)));
    io::load_into(*vae_, weights, "vae", torch::kFloat);
  } else {
    nn::init_parameters(*vae_, config.seed);
  }
  vae_->train();
  optimizer_ = std::make_unique<torch::optim::AdamW>(vae_->parameters(),
                                                     torch::optim::AdamWOptions(config.lr));
  gen_ = at::make_generator<at::CPUGeneratorImpl>(config.seed ^ 0x766165ULL);
}

torch::Tensor VaeTrainer::images(uint64_t first_seed, int n) const {
  return tinyworld_batch(first_seed, n, config_.size, config_.lowres_fraction);
}

// The library's encode()/decode() run without autograd (inference only): the trainer composes
// the same submodules itself.
VaeTrainer::Posterior VaeTrainer::encode(const torch::Tensor& x) {
  auto moments = vae_->encoder->forward(x);
  if (vae_->quant_conv) moments = vae_->quant_conv->forward(moments);
  auto parts = moments.chunk(2, 1);
  return {parts[0], parts[1].clamp(-30.0, 20.0)};
}

torch::Tensor VaeTrainer::decode(const torch::Tensor& z) {
  return vae_->decoder->forward(vae_->post_quant_conv ? vae_->post_quant_conv->forward(z) : z);
}

double VaeTrainer::step() {
  const uint64_t first =
      config_.seed * 1000003ULL + 500000000ULL + static_cast<uint64_t>(steps_) * config_.batch;
  const auto x = images(first, config_.batch);
  const auto posterior = encode(x);
  const auto z =
      posterior.mean + (0.5 * posterior.logvar).exp() * torch::randn(posterior.mean.sizes(), gen_);
  const auto recon = decode(z);
  const auto kl =
      0.5 * (posterior.mean.pow(2) + posterior.logvar.exp() - 1 - posterior.logvar).mean();
  const auto loss = torch::mse_loss(recon, x) + config_.kl_weight * kl;
  optimizer_->zero_grad();
  loss.backward();
  torch::nn::utils::clip_grad_norm_(vae_->parameters(), 1.0);
  optimizer_->step();
  ++steps_;
  return loss.item<double>();
}

double VaeTrainer::eval_loss(uint64_t seed, int n) {
  torch::NoGradGuard no_grad;
  const auto x = images(seed, n);
  return torch::mse_loss(decode(encode(x).mean), x).item<double>();
}

RoundTripScore vae_round_trip_score(const std::string& vae_dir, int n, int size) {
  torch::NoGradGuard no_grad;
  auto vae = vae::load_vae(vae_dir);
  RoundTripScore score;
  score.accuracy.assign(tinyworld::kCategories, 0.0);
  for (int i = 0; i < n; ++i) {
    const auto scene = tinyworld::sample_scene(0x7e57ULL + i, true, 0.0);
    const Image img = tinyworld::render(scene, size);
    auto x = torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {1, img.height, img.width, 3},
                              torch::kUInt8).permute({0, 3, 1, 2}).to(torch::kFloat).div(127.5).sub(1.0);
    const auto y = vae->decode(vae->encode(x).mean).clamp(-1, 1);
    score.mse += torch::mse_loss(y, x).item<double>() / n;
    const auto u8 = ((y[0] + 1) * 127.5).round().to(torch::kUInt8).permute({1, 2, 0}).contiguous();
    Image out{img.width, img.height, {u8.data_ptr<uint8_t>(), u8.data_ptr<uint8_t>() + u8.numel()}};
    const auto ok = tinyworld::matches(tinyworld::check(out), scene);
    for (int c = 0; c < tinyworld::kCategories; ++c) score.accuracy[c] += ok[c] ? 1.0 / n : 0.0;
  }
  return score;
}

void VaeTrainer::save(const std::string& vae_dir) const {
  namespace fs = std::filesystem;
  fs::create_directories(vae_dir);
  // Like SD's 0.18215: the factor that gives the diffusion model unit-variance latents,
  // measured on held-out scenes with this VAE's posterior means.
  nlohmann::json json = json_;
  {
    torch::NoGradGuard no_grad;
    auto* self = const_cast<VaeTrainer*>(this);
    const double std = self->encode(images(0x5ca1eULL, 64)).mean.std().item<double>();
    json["scaling_factor"] = 1.0 / std;
  }
  std::ofstream(fs::path(vae_dir) / "config.json") << json.dump(2) << "\n";
  io::NamedTensors tensors;
  for (const auto& p : vae_->named_parameters()) tensors.emplace_back(p.key(), p.value().detach());
  io::save_safetensors((fs::path(vae_dir) / "diffusion_pytorch_model.safetensors").string(),
                       tensors, {{"format", "pt"}, {"steps", std::to_string(steps_)}});
}

}  // namespace pangu_draw::train
