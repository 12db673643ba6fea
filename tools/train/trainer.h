// trainer.h: trains a UNet2DConditionModel from random init on TinyWorld scenes (epsilon
// prediction, DDPM noise schedule of the base model's scheduler), reusing a base model's frozen
// VAE, tokenizers and text encoders; saves a diffusers folder that Pipeline::load reads.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "io/safetensors.h"
#include "pangu_draw/pangu_draw.h"
#include "text_encoders/conditioner.h"
#include "unet/unet_2d_condition.h"
#include "vae/autoencoder_kl.h"

namespace pangu_draw::io {
class JsonConfig;
}

namespace pangu_draw::train {

// alpha_bar_t of a diffusers scheduler config (scaled_linear or linear betas, epsilon prediction).
torch::Tensor alphas_cumprod(const io::JsonConfig& scheduler_config);
// An RGB image as [3, H, W] in [-1, 1].
torch::Tensor image_tensor(const Image& img);
// What a trained module saves: its parameters under their checkpoint names, cast to `dtype`,
// then its buffers as they are.
io::NamedTensors module_weights(const torch::nn::Module& module, torch::ScalarType dtype);

struct TrainConfig {
  std::string base_model;   // diffusers folder: vae/, text_encoder*/, tokenizer*/, scheduler/
  std::string unet_config;  // config.json of the UNet to train ("": the base model's unet/)
  std::string vae_dir;      // a trained vae/ folder to use instead of the base model's
  int size = 64;            // image size
  // Size the size conditioning (time_ids) reports (0: `size`). A texture generator trained below
  // the resolution it samples at is told the sampling size, so it sees at sampling time the
  // conditioning it was trained with.
  int cond_size = 0;
  int batch = 8;
  double lr = 1e-3;
  double caption_dropout = 0.1;   // share trained with the empty prompt (for CFG)
  double zh_fraction = 0.5;       // share of Chinese captions
  double lowres_fraction = 0.25;  // share of half-resolution (structure) scenes
  // Time-decoupled training: timesteps are drawn from [t_min, t_max) (-1: the whole schedule).
  // A structure generator trains on t >= T_s, a texture generator on t < T_s.
  int t_min = 0, t_max = -1;
  bool save_f16 = false;          // write the UNet weights as F16 (half the size, for shipping)
  std::string init_dir;           // a unet/ folder to continue from ("": random init)
  // Exponential moving average of the weights (0: off); save() then writes the average.
  double ema_decay = 0.0;
  uint64_t seed = 0;
};

class Trainer {
 public:
  explicit Trainer(const TrainConfig& config);

  // One AdamW step on the next batch of freshly generated training scenes; returns the loss.
  double step();
  // Mean loss on `n` scenes from `seed` with fixed noise and timesteps; no update.
  double eval_loss(uint64_t seed, int n);
  // Writes out_dir: the base model's files with unet/ replaced by the trained one.
  void save(const std::string& out_dir) const;
  int64_t steps_done() const { return steps_; }
  int64_t parameter_count() const;
  // The image size the size conditioning reports (cond_size, else size); saved as the UNet's
  // native size (sample_size, in latent pixels).
  int conditioning_size() const { return config_.cond_size > 0 ? config_.cond_size : config_.size; }
  unet::UNet2DConditionModel unet() const { return unet_; }

 private:
  struct Batch {
    torch::Tensor latents;  // [B, C, h, w], in the UNet's space
    text_encoders::Conditioning cond;
  };
  Batch make_batch(uint64_t first_seed, int n, bool dropout, uint64_t rng_seed);
  torch::Tensor loss_on(const Batch& batch, const torch::Tensor& noise, const torch::Tensor& t);

  TrainConfig config_;
  nlohmann::json unet_json_;
  std::shared_ptr<const text_encoders::Conditioner> conditioner_;
  vae::AutoencoderKL vae_{nullptr};
  unet::UNet2DConditionModel unet_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  std::vector<torch::Tensor> ema_;  // one per unet_->parameters() entry, when ema_decay > 0
  torch::Tensor alphas_cumprod_;  // [T]
  int64_t t_lo_ = 0, t_hi_ = 0;   // the trained timesteps: [t_lo_, t_hi_)
  torch::Generator gen_;
  int64_t steps_ = 0;
};

}  // namespace pangu_draw::train
