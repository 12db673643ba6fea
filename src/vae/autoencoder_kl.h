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
  // quant_conv. Runs in dtype() (the image is converted); mean and logvar come back in the
  // image's dtype. Error{Input} for another shape.
  DiagonalGaussian encode(const torch::Tensor& image);
  // raw latent z [B, latent, h, w] (any float dtype) -> image [B, out_channels, h * f, w * f]
  // (about [-1, 1]) in the dtype it was decoded in; includes post_quant_conv. Decodes in
  // dtype(), except with float16 weights (the fp16 overflow that turns images black): with
  // config().force_upcast, or when the float16 decode gives NaN/Inf (logged as a warning), it
  // decodes with a transient copy of the decoder in upcast_dtype(). Error{Input} for another
  // shape; Error{Runtime} when the image is still not finite (never a silent NaN image).
  torch::Tensor decode(const torch::Tensor& z);
  // The dtype of the weights (what encode and decode compute in).
  torch::ScalarType dtype() const;
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
  // post_quant_conv and the decoder applied to z (converted to their dtype).
  torch::Tensor run_decoder(Decoder& dec, nn::Conv2d& post, const torch::Tensor& z) const;
  // The decode with a copy of post_quant_conv and the decoder in upcast_dtype(); `why` is said
  // in the error when that image is not finite either.
  torch::Tensor decode_upcast(const torch::Tensor& z, const std::string& why);

  VAEConfig config_;
  bool channels_last_ = false;
};
TORCH_MODULE(AutoencoderKL);

// The dtype a float16 VAE decodes in when upcast: bfloat16 (float32's range) on a CUDA device
// that runs it natively, else float32 (as diffusers' upcast_vae).
torch::ScalarType upcast_dtype(const torch::Device& device);

// Builds from <folder>/config.json and loads its diffusion_pytorch_model.safetensors.
AutoencoderKL load_vae(const std::string& folder, torch::ScalarType dtype = torch::kFloat,
                       torch::Device device = torch::kCPU);
// Builds from `config` in `dtype` on `device` (channels-last: use_channels_last) and fills
// every parameter from `weights`. For dtype float16 and a config with force_upcast, the VAE is
// built in upcast_dtype(device) instead (diffusers' SDXL pipelines upcast it the same way), so
// encode and decode run without overflow and without a copy per decode. It
// fills every parameter from `weights` (canonical diffusers names), each tensor converted once on its
// way from the file; all missing/misshapen tensors are reported together (Error{Input}).
AutoencoderKL load_vae(const io::JsonConfig& config, const io::WeightSource& weights,
                       torch::ScalarType dtype = torch::kFloat,
                       torch::Device device = torch::kCPU);

}  // namespace pangu_draw::vae
