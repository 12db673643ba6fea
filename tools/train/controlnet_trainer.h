// controlnet_trainer.h: trains a ControlNet (diffusers ControlNetModel) for a TinyWorld model on
// edge maps (tinyworld::render_edges): a copy of the structure UNet's encoder half, zero
// convolutions, frozen UNets. For a model that declares a time-decoupled plan, steps alternate
// between the structure UNet (t >= switch_t) and the texture UNet (t < switch_t), so one
// ControlNet guides both generators of the plan, as `--controlnet` applies it.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "text_encoders/conditioner.h"
#include "unet/controlnet.h"
#include "unet/unet_2d_condition.h"
#include "vae/autoencoder_kl.h"

namespace pangu_draw::train {

struct ControlNetTrainConfig {
  std::string model;  // diffusers folder (with or without a time_decoupled plan)
  int size = 64;
  int batch = 8;
  double lr = 5e-4;
  double caption_dropout = 0.2;  // share trained with the empty prompt: the edges alone
  double zh_fraction = 0.5;
  std::string init_dir;  // continue from this controlnet folder's weights ("": from the UNet)
  uint64_t seed = 0;
};

class ControlNetTrainer {
 public:
  explicit ControlNetTrainer(const ControlNetTrainConfig& config);

  double step();  // one AdamW step on fresh scenes; returns the loss
  // Mean noise-prediction loss on `n` held-out scenes with fixed noise and timesteps spread over
  // the schedule; with_control false gives the same without the ControlNet (the UNets alone).
  double eval_loss(uint64_t seed, int n, bool with_control);
  // out_dir/config.json + diffusion_pytorch_model.safetensors (F16 with `f16`).
  void save(const std::string& out_dir, bool f16 = false) const;
  int64_t parameter_count() const;
  unet::ControlNetModel controlnet() const { return controlnet_; }

 private:
  struct Batch {
    torch::Tensor latents, hints;  // [B, C, h, w] in the UNet's space; [B, 3, H, W] in [0, 1]
    text_encoders::Conditioning cond;
  };
  Batch make_batch(uint64_t first_seed, int n, bool heldout, bool dropout);
  torch::Tensor loss_on(const Batch& b, const torch::Tensor& noise, const torch::Tensor& t,
                        bool with_control);

  ControlNetTrainConfig config_;
  nlohmann::json json_;
  std::shared_ptr<const text_encoders::Conditioner> conditioner_;
  vae::AutoencoderKL vae_{nullptr};
  unet::UNet2DConditionModel structure_{nullptr}, texture_{nullptr};  // texture: null without a plan
  int64_t switch_t_ = 0;
  unet::ControlNetModel controlnet_{nullptr};
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  torch::Tensor alphas_cumprod_;
  torch::Generator gen_;
  int64_t steps_ = 0;
};

}  // namespace pangu_draw::train
