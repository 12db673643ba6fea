// model_bundle.h: one loaded model — conditioner (tokenizers + text encoders), UNet, VAE and the
// scheduler config — immutable after loading and shared by every run that uses it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "io/model_layout.h"
#include "schedulers/noise_schedule.h"
#include "text_encoders/conditioner.h"
#include "unet/unet_2d_condition.h"
#include "vae/autoencoder_kl.h"

namespace pangu_draw::pipeline {

struct LoadSettings {
  std::string config_dir;                       // configs for single-file checkpoints
  torch::ScalarType dtype = torch::kFloat;      // compute dtype
  torch::Device device = torch::kCPU;           // where the weights go
};

struct ModelBundle {
  std::string path;
  std::string name;  // for image metadata: the folder or file name
  std::shared_ptr<const text_encoders::Conditioner> conditioner;
  unet::UNet2DConditionModel unet{nullptr};
  vae::AutoencoderKL vae{nullptr};
  schedulers::NoiseScheduleConfig scheduler;
  int64_t native_width = 0;   // UNet sample_size x VAE downscale
  int64_t native_height = 0;
  torch::ScalarType dtype = torch::kFloat;
  torch::Device device = torch::kCPU;  // where its weights live; every tensor of a run goes there
  // Identifies the latent space: equal for models whose VAE weights are equal (Coop-Diffusion
  // and expert hand-overs skip the pixel round trip between such models).
  double vae_fingerprint = 0.0;
  // Styles for style-guided CFG: name -> prompt prefix, from the model's styles.json.
  std::map<std::string, std::string> styles;
  // PanGu-Draw's time-decoupled plan, when model_index.json declares one ("time_decoupled":
  // {"texture_unet": "unet_texture", "switch_t": 500}): this model is the structure generator
  // (t >= switch_t) and `texture` the texture generator (t < switch_t) — the same text encoders
  // and VAE with a UNet of its own. Null when the model has no plan.
  std::shared_ptr<const ModelBundle> texture;
  double switch_t = -1.0;

  // Latent [1, C, h, w] shape for an image of width x height.
  std::vector<int64_t> latent_shape(int64_t width, int64_t height) const;
};

// Loads every component of a diffusers folder or single-file checkpoint. Error{Input} naming
// the file on any problem.
std::shared_ptr<const ModelBundle> load_bundle(const std::string& path, const LoadSettings& settings);

}  // namespace pangu_draw::pipeline
