// edit_run.cpp: img2img / inpainting inside the run engine (see edit_run.h): start step, posterior
// samples and noise from the run's generator in diffusers' order, 9-channel UNet inputs, and the
// 4-channel re-imposition of the known region.
#include "coop/edit_run.h"

#include <algorithm>
#include <cmath>

#include "coop/latent_bridge.h"
#include "core/error.h"
#include "core/tensor_check.h"

namespace pangu_draw::coop {

int edit_start_step(int steps, double strength) {
  PD_CHECK(std::isfinite(strength) && strength > 0.0 && strength <= 1.0, Usage,
           "--strength must be in (0, 1], got " << strength);
  // int(steps * strength) in float64, as Python computes it
  const int init_timestep =
      std::min(static_cast<int>(static_cast<double>(steps) * strength), steps);
  PD_CHECK(init_timestep >= 1, Usage,
           "--strength " << strength << " with --steps " << steps
                         << " leaves no step to run (steps x strength < 1); raise either");
  return steps - init_timestep;
}

bool is_inpainting_unet(const pipeline::ModelBundle& model) {
  return model.unet->config().in_channels == 2 * model.vae->config().latent_channels + 1;
}

namespace {

namespace F = torch::nn::functional;

// Pixel tensors at an expert's own image size (an expert of a Coop plan may work at another).
torch::Tensor image_for(const torch::Tensor& image, const Expert& e, bool nearest) {
  const int64_t f = e.model->vae->downscale();
  const int64_t h = e.latent_shape[2] * f, w = e.latent_shape[3] * f;
  if (image.size(2) == h && image.size(3) == w) return image;
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{h, w});
  if (nearest) return F::interpolate(image, options.mode(torch::kNearest));
  const bool shrink = h < image.size(2) || w < image.size(3);
  return F::interpolate(image, options.mode(torch::kBicubic).align_corners(false).antialias(shrink))
      .clamp(-1.0, 1.0);
}

// diffusers' retrieve_latents(vae.encode(image), generator) * scaling_factor: a sample of the
// posterior, mean + std * randn drawn from the run's generator (float32, CPU: every device
// draws the same numbers).
torch::Tensor encode_sample(const Expert& e, const torch::Tensor& image, at::Generator& gen) {
  vae::AutoencoderKL vae = e.model->vae;
  const auto posterior =
      vae->encode(image_for(image, e, false).to(e.model->device, e.model->dtype));
  auto noise = torch::randn(posterior.mean.sizes(), gen,
                            torch::TensorOptions().dtype(torch::kFloat));  // cpu: moved below
  auto z = posterior.mean.to(torch::kFloat) +
           torch::exp(0.5 * posterior.logvar.to(torch::kFloat)) * noise.to(posterior.mean.device());
  z = vae->to_latent(z);
  core::expect_finite(z, "the VAE encoding of the init image");
  return z;
}

// The mask at the latent size: diffusers' F.interpolate(mask, size=(h, w)) (nearest).
torch::Tensor latent_mask(const torch::Tensor& mask, const Expert& e) {
  auto m = F::interpolate(image_for(mask, e, true),
                          F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{e.latent_shape[2], e.latent_shape[3]})
                              .mode(torch::kNearest));
  return m.to(e.model->device);
}

}  // namespace

EditRun::EditRun(const EditSettings& settings, const std::vector<Expert>& experts,
                 size_t first_host, const schedulers::Sampler& sampler, int start,
                 const torch::Tensor& given_noise, at::Generator& gen)
    : settings_(settings), experts_(experts), latents_(experts.size()) {
  PD_CHECK(settings_.active(), Runtime, "EditRun without an init image");
  prepare_first(first_host, sampler, start, given_noise, gen);
  for (size_t i = 0; i < experts_.size(); ++i) {
    if (i != first_host) prepare_other(i, gen);
  }
}

void EditRun::prepare_first(size_t host, const schedulers::Sampler& sampler, int start,
                            const torch::Tensor& given_noise, at::Generator& gen) {
  const Expert& e = experts_[host];
  EditLatents& l = latents_[host];
  // diffusers' inpainting at strength 1 starts from pure noise; it still encodes the init image
  // first when a 4-channel UNet needs it for the known region.
  const bool pure_noise = settings_.inpainting() && settings_.strength >= 1.0;
  if (!pure_noise || reimposes(host)) l.init = encode_sample(e, settings_.image, gen);
  l.noise = given_noise.defined()
                ? given_noise.to(torch::kFloat).reshape(e.latent_shape)
                : torch::randn(e.latent_shape, gen,
                               torch::TensorOptions().dtype(torch::kFloat));  // cpu: moved next
  l.noise = l.noise.to(e.model->device);
  if (settings_.inpainting()) {  // drawn for every UNet, as diffusers does
    l.mask = latent_mask(settings_.mask, e);
    l.masked = encode_sample(e, settings_.image * (1.0 - settings_.mask), gen);
  }
  if (pure_noise) {
    initial_ = l.noise * sampler.init_noise_sigma();
  } else {
    initial_ = sampler.from_vp(noised(l.init, l.noise, sampler.step_info(start).alpha_bar), start);
  }
  prepared_.push_back(host);
}

void EditRun::prepare_other(size_t i, at::Generator& gen) {
  const Expert& e = experts_[i];
  EditLatents& l = latents_[i];
  for (size_t j : prepared_) {
    if (same_space(experts_[j], e)) {
      l = latents_[j];
      break;
    }
  }
  if (settings_.inpainting()) {
    if (!l.mask.defined()) l.mask = latent_mask(settings_.mask, e);
    if (!l.masked.defined())
      l.masked = encode_sample(e, settings_.image * (1.0 - settings_.mask), gen);
    if (reimposes(i) && !l.init.defined()) l.init = encode_sample(e, settings_.image, gen);
    if (reimposes(i) && !l.noise.defined()) {
      const Expert& first = experts_[prepared_.front()];
      const auto& noise = latents_[prepared_.front()].noise;
      l.noise = first.latent_shape == e.latent_shape
                    ? noise
                    : torch::randn(e.latent_shape, gen, torch::TensorOptions().dtype(torch::kFloat))
                          .to(e.model->device);
    }
  }
  prepared_.push_back(i);
}

std::vector<Expert> EditRun::conditioned(std::vector<Expert> experts) const {
  for (size_t i = 0; i < experts.size(); ++i) {
    if (!settings_.inpainting() || !is_inpainting_unet(*experts[i].model)) continue;
    const EditLatents& l = latents_[i];
    auto channels = torch::cat({l.mask.to(l.masked.dtype()), l.masked}, 1);  // [1, 1 + C, h, w]
    experts[i].denoiser = [inner = experts[i].denoiser, channels](
                              const torch::Tensor& x, const schedulers::StepInfo& step) {
      // diffusers: cat([scale_model_input(latents), mask, masked_image_latents], dim=1)
      return inner(torch::cat({x, channels.to(x.device(), x.dtype())}, 1), step);
    };
  }
  return experts;
}

bool EditRun::reimposes(size_t host) const {
  return settings_.inpainting() && !is_inpainting_unet(*experts_[host].model);
}

torch::Tensor EditRun::reimpose(const torch::Tensor& x, size_t host,
                                const schedulers::Sampler& sampler, int next) const {
  const EditLatents& l = latents_[host];
  const torch::Tensor known =
      next < sampler.num_steps()
          ? sampler.from_vp(noised(l.init, l.noise, sampler.step_info(next).alpha_bar), next)
          : l.init;
  return (1.0 - l.mask) * known.to(x.dtype()) + l.mask * x;
}

}  // namespace pangu_draw::coop
