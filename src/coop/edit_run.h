// edit_run.h: image editing inside the run engine — img2img, inpainting with 4- and 9-channel
// UNets (outpainting is inpainting on a padded canvas): the step a run starts at, its initial
// state, the extra inputs of a 9-channel inpainting UNet, and the known region re-imposed after
// every step with a 4-channel UNet. Mirrors diffusers 0.25 StableDiffusionImg2ImgPipeline and
// StableDiffusionInpaintPipeline; every random number comes from the run's generator in their
// order (docs/editing.md): [init-image posterior sample] -> initial noise -> [masked-image
// posterior sample] -> the sampler's per-step noise.
#pragma once

#include <ATen/core/Generator.h>

#include <vector>

#include "coop/expert.h"

namespace pangu_draw::coop {

// What to edit, as the run sees it (the public Request's images after outpainting's padding and
// the mask's blur; see api/edit_request.h).
struct EditSettings {
  torch::Tensor image;    // [1, 3, H, W] in [-1, 1], float32 on the CPU; undefined: text-to-image
  torch::Tensor mask;     // [1, 1, H, W] of 0 / 1 (1 = repaint); undefined: img2img
  double strength = 1.0;  // in (0, 1]
  bool active() const { return image.defined(); }
  bool inpainting() const { return mask.defined(); }
};

// diffusers' get_timesteps: init_timestep = min(int(steps * strength), steps); the run starts at
// step steps - init_timestep (0 for strength 1). Error{Usage} when no step is left to run.
int edit_start_step(int steps, double strength);

// True when the model's UNet reads latent ‖ mask ‖ masked-image latent (in_channels 2C + 1 for
// C latent channels): a dedicated inpainting model.
bool is_inpainting_unet(const pipeline::ModelBundle& model);

// One expert's editing latents, in its latent space and size (diffusion space).
struct EditLatents {
  torch::Tensor init;    // the init image's latent (a posterior sample), when needed
  torch::Tensor noise;   // the noise of the initial state and of the re-imposed known region
  torch::Tensor mask;    // [1, 1, h, w] 0 / 1, nearest-resized from the pixel mask
  torch::Tensor masked;  // the latent of the init image with the masked pixels zeroed (grey)
};

class EditRun {
 public:
  // Encodes what every expert needs, drawing from `gen`: first for experts[first_host] in
  // diffusers' order (its init posterior when needed, the initial noise unless `given_noise`,
  // the masked-image posterior), then for each expert of another latent space or size, in plan
  // order (experts sharing a space share the latents).
  EditRun(const EditSettings& settings, const std::vector<Expert>& experts, size_t first_host,
          const schedulers::Sampler& sampler, int start, const torch::Tensor& given_noise,
          at::Generator& gen);

  // The sampler state before step `start`: the init latent noised to that step (diffusers'
  // scheduler.add_noise), or pure noise times init_noise_sigma for inpainting at strength 1.
  torch::Tensor initial_state() const { return initial_; }

  // `experts` with each 9-channel inpainting UNet's denoiser given its mask ‖ masked latent.
  std::vector<Expert> conditioned(std::vector<Expert> experts) const;

  // True when steps hosted by experts[host] re-impose the known region (inpainting with a
  // 4-channel UNet).
  bool reimposes(size_t host) const;

  // After a step, with the state `x` before step `next`: the known region (mask 0) replaced by
  // the init latent noised to step `next` with the run's noise (the clean init latent after the
  // last step), as diffusers' inpainting loop does.
  torch::Tensor reimpose(const torch::Tensor& x, size_t host, const schedulers::Sampler& sampler,
                         int next) const;

 private:
  void prepare_first(size_t host, const schedulers::Sampler& sampler, int start,
                     const torch::Tensor& given_noise, at::Generator& gen);
  void prepare_other(size_t i, at::Generator& gen);

  EditSettings settings_;
  std::vector<Expert> experts_;
  std::vector<EditLatents> latents_;  // one per expert
  std::vector<size_t> prepared_;
  torch::Tensor initial_;
};

}  // namespace pangu_draw::coop
