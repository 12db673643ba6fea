// txt2img.cpp: seeded noise and the final decode (see txt2img.h).
#include "pipeline/txt2img.h"

#include <ATen/CPUGeneratorImpl.h>

#include "core/error.h"
#include "core/tensor_check.h"
#include "vae/tiled_decode.h"

namespace pangu_draw::pipeline {

torch::Tensor seeded_noise(const std::vector<int64_t>& shape, int64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  return torch::randn(shape, gen, torch::TensorOptions().dtype(torch::kFloat));  // cpu: callers move it
}

torch::Tensor decode_latent(const ModelBundle& model, const torch::Tensor& latent,
                            int64_t vae_tile) {
  torch::InferenceMode guard;
  vae::AutoencoderKL vae = model.vae;
  auto z = vae->from_latent(latent.to(model.device)).to(vae->dtype());  // fp32 when upcast
  auto image = vae::decode_tiled(vae, z, vae_tile).to(torch::kCPU, torch::kFloat);
  core::expect_finite(image, "decoded image");
  return image;
}

}  // namespace pangu_draw::pipeline
