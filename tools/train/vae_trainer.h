// vae_trainer.h: trains an AutoencoderKL from random init on TinyWorld images (MSE reconstruction
// + a small KL term) and saves it as a diffusers vae/ folder (config.json + safetensors).
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "vae/autoencoder_kl.h"

namespace pangu_draw::train {

struct VaeTrainConfig {
  std::string vae_config;  // config.json of the AutoencoderKL to train
  int size = 64;
  int batch = 8;
  double lr = 1e-3;
  double kl_weight = 1e-6;
  double lowres_fraction = 0.25;
  uint64_t seed = 0;
  std::string init_dir;  // continue from this vae/ folder's weights ("" = random init)
};

class VaeTrainer {
 public:
  explicit VaeTrainer(const VaeTrainConfig& config);
  double step();                           // one AdamW step on fresh scenes; the loss
  double eval_loss(uint64_t seed, int n);  // reconstruction MSE of the posterior mean; no update
  void save(const std::string& vae_dir) const;  // vae_dir/config.json + weights
  vae::AutoencoderKL vae() const { return vae_; }

 private:
  struct Posterior {
    torch::Tensor mean, logvar;
  };
  torch::Tensor images(uint64_t first_seed, int n) const;
  Posterior encode(const torch::Tensor& x);  // with autograd
  torch::Tensor decode(const torch::Tensor& z);

  VaeTrainConfig config_;
  nlohmann::json json_;
  vae::AutoencoderKL vae_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  torch::Generator gen_;
  int64_t steps_ = 0;
};

// A trained VAE's round trip scored by the TinyWorld checker: `n` held-out scenes are rendered,
// encoded (posterior mean), decoded and checked; per category, the share the checker reads
// right (index as tinyworld::kCategoryNames), and the mean squared error in [-1, 1] units.
struct RoundTripScore {
  std::vector<double> accuracy;
  double mse = 0;
};
RoundTripScore vae_round_trip_score(const std::string& vae_dir, int n, int size);

// [B, 3, size, size] in [-1, 1]: TinyWorld training scenes first_seed .. first_seed + n - 1.
torch::Tensor tinyworld_batch(uint64_t first_seed, int n, int size, double lowres_fraction);

}  // namespace pangu_draw::train
