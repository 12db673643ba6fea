// txt2img.cpp
#include "pipeline/txt2img.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "core/tensor_check.h"
#include "vae/tiled_decode.h"

namespace pangu_draw::pipeline {

torch::Tensor seeded_noise(const std::vector<int64_t>& shape, int64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  return torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat));
}

torch::Tensor decode_latent(const ModelBundle& model, const torch::Tensor& latent,
                            int64_t vae_tile) {
  torch::InferenceMode guard;
  vae::AutoencoderKL vae = model.vae;
  auto z = vae->from_latent(latent).to(model.dtype);
  auto image = vae::decode_tiled(vae, z, vae_tile).to(torch::kFloat);
  core::expect_finite(image, "decoded image");
  return image;
}

Generated run_txt2img(std::shared_ptr<const ModelBundle> model, const TextToImage& r) {
  torch::InferenceMode guard;
  const int64_t width = r.width > 0 ? r.width : model->native_width;
  const int64_t height = r.height > 0 ? r.height : model->native_height;
  const auto shape = model->latent_shape(width, height);
  torch::Tensor noise = r.init_noise.defined() ? r.init_noise.to(torch::kFloat).reshape(shape)
                                               : seeded_noise(shape, r.seed);
  schedulers::SamplerOptions options;
  options.steps = r.steps;
  options.karras = r.karras;
  options.eta = r.eta;
  options.seed = r.seed;
  options.on_step = r.on_step;
  auto sampler = schedulers::make_sampler(r.sampler, model->scheduler, options);
  auto conditioning = guided_conditioning(*model, r.prompt, r.negative_prompt, r.style_prompts,
                                          r.guidance, width, height);
  auto denoiser = with_dynamic_threshold(make_denoiser(model, std::move(conditioning), r.controls),
                                         model->scheduler, r.dynamic_threshold, r.dynamic_threshold_max);
  Generated out;
  out.latent = sampler->sample(noise * sampler->init_noise_sigma(), denoiser);
  core::expect_finite(out.latent, "final latent");
  out.image = decode_latent(*model, out.latent, r.vae_tile);
  return out;
}

}  // namespace pangu_draw::pipeline
