// autoencoder_kl.h: AutoencoderKL (image <-> latent) and its diagonal Gaussian posterior;
// mirrors diffusers 0.25 models/autoencoders/autoencoder_kl.py and vae.py DiagonalGaussianDistribution.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "io/json_config.h"
#include "io/state_dict.h"
#include "nn/layers.h"
#include "vae/vae_blocks.h"
#include "vae/vae_config.h"

namespace pangu_draw::vae {

struct DiagonalGaussian {
  torch::Tensor mean, logvar;  // [B, latent, h, w]; logvar clamped to [-30, 20]
  // mean + exp(0.5 logvar) * randn(gen): the same generator state gives the same sample.
  torch::Tensor sample(at::Generator gen) const;
};

struct AutoencoderKLImpl : torch::nn::Module {
  // Parameters uninitialised in `p`'s dtype and device (nn/layers.h).
  explicit AutoencoderKLImpl(const VAEConfig& config, const nn::ParamOptions& p = {});

  // image [B, in_channels, H, W] in [-1, 1], H and W multiples of downscale(); includes
  // quant_conv. Error{Input} for another shape.
  DiagonalGaussian encode(const torch::Tensor& image);
  // raw latent z [B, latent, h, w] -> image [B, out_channels, h * f, w * f] (about [-1, 1]);
  // includes post_quant_conv. Error{Input} for another shape, Error{Runtime} for NaN/Inf output.
  torch::Tensor decode(const torch::Tensor& z);
  // (z - shift_factor) * scaling_factor: the raw latent in the diffusion model's space.
  torch::Tensor to_latent(const torch::Tensor& z) const;
  // x / scaling_factor + shift_factor: the inverse of to_latent.
  torch::Tensor from_latent(const torch::Tensor& x) const;

  // Stores the 4-D (conv) weights channels-last and runs encode/decode on channels-last
  // tensors: oneDNN's NHWC convolution kernels then skip the layout reorders around every conv
  // (SD 1.5 512^2 bf16 decode: 60% -> 80% of the conv peak). Same values; load_vae() does it.
  void use_channels_last();
  bool channels_last() const { return channels_last_; }

  const VAEConfig& config() const { return config_; }
  // Pixels per latent cell along each axis: 2^(levels - 1) (8 for Stable Diffusion).
  int64_t downscale() const;

  Encoder encoder{nullptr};
  Decoder decoder{nullptr};
  nn::Conv2d quant_conv{nullptr};       // only with use_quant_conv
  nn::Conv2d post_quant_conv{nullptr};  // only with use_post_quant_conv

 private:
  VAEConfig config_;
  bool channels_last_ = false;
};
TORCH_MODULE(AutoencoderKL);

// Builds from <folder>/config.json and loads its diffusion_pytorch_model.safetensors.
AutoencoderKL load_vae(const std::string& folder, torch::ScalarType dtype = torch::kFloat,
                       torch::Device device = torch::kCPU);
// Builds from `config` in `dtype` on `device` (channels-last: use_channels_last) and fills
// every parameter from `weights` (canonical diffusers names), each tensor converted once on its
// way from the file; all missing/misshapen tensors are reported together (Error{Input}).
AutoencoderKL load_vae(const io::JsonConfig& config, const io::WeightSource& weights,
                       torch::ScalarType dtype = torch::kFloat,
                       torch::Device device = torch::kCPU);

}  // namespace pangu_draw::vae
