// autoencoder_kl.cpp: AutoencoderKL encode/decode, latent scaling and loading;
// mirrors diffusers 0.25 models/autoencoders/autoencoder_kl.py.
#include "vae/autoencoder_kl.h"

#include "core/device.h"
#include "core/error.h"
#include "core/log.h"
#include "core/tensor_check.h"
#include "io/model_layout.h"
#include "io/safetensors.h"

namespace pangu_draw::vae {

torch::Tensor DiagonalGaussian::sample(at::Generator gen) const {
  // Drawn on the CPU generator whatever the device (the same numbers everywhere), then moved.
  auto noise = torch::randn(mean.sizes(), gen, torch::TensorOptions().dtype(torch::kFloat)).to(mean.options());
  return mean + torch::exp(0.5 * logvar) * noise;
}

AutoencoderKLImpl::AutoencoderKLImpl(const VAEConfig& config, const nn::ParamOptions& p)
    : config_(config) {
  const int64_t moments = 2 * config_.latent_channels;
  encoder = register_module("encoder", Encoder(config_, p));
  decoder = register_module("decoder", Decoder(config_, p));
  if (config_.use_quant_conv) {
    quant_conv = register_module("quant_conv", nn::Conv2d(moments, moments, 1, 1, 0, p));
  }
  if (config_.use_post_quant_conv) {
    const int64_t latent = config_.latent_channels;
    post_quant_conv =
        register_module("post_quant_conv", nn::Conv2d(latent, latent, 1, 1, 0, p));
  }
}

void AutoencoderKLImpl::use_channels_last() {
  torch::NoGradGuard no_grad;
  for (auto& p : parameters()) {
    if (p.dim() == 4 && !p.is_contiguous(torch::MemoryFormat::ChannelsLast)) {
      p.set_data(p.contiguous(torch::MemoryFormat::ChannelsLast));
    }
  }
  channels_last_ = true;
}

int64_t AutoencoderKLImpl::downscale() const {
  return int64_t{1} << (config_.block_out_channels.size() - 1);
}

DiagonalGaussian AutoencoderKLImpl::encode(const torch::Tensor& image) {
  torch::NoGradGuard no_grad;  // inference only; callers may add InferenceMode
  const int64_t f = downscale();
  PD_CHECK(image.defined() && image.dim() == 4 && image.size(1) == config_.in_channels &&
               image.size(2) > 0 && image.size(3) > 0 && image.size(2) % f == 0 &&
               image.size(3) % f == 0,
           Input,
           "VAE encode: the image must be [B, " << config_.in_channels << ", H, W] with H and W "
               << "positive multiples of " << f << ", got "
               << (image.defined() ? core::shape_str(image.sizes()) : "undefined"));
  const auto x = image.to(dtype());
  auto moments = encoder->forward(
      channels_last_ ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x);
  // moments: [B, 2 * latent, H / f, W / f]
  if (quant_conv) moments = quant_conv->forward(moments);
  auto parts = moments.to(image.scalar_type()).chunk(2, 1);
  return DiagonalGaussian{parts[0], parts[1].clamp(-30.0, 20.0)};
}

torch::Tensor AutoencoderKLImpl::decode(const torch::Tensor& z) {
  torch::NoGradGuard no_grad;
  PD_CHECK(z.defined() && z.dim() == 4 && z.size(1) == config_.latent_channels &&
               z.size(2) > 0 && z.size(3) > 0,
           Input,
           "VAE decode: the latent must be [B, " << config_.latent_channels << ", h, w], got "
               << (z.defined() ? core::shape_str(z.sizes()) : "undefined"));
  const bool half = dtype() == torch::kHalf;
  if (half && config_.force_upcast) return decode_upcast(z, "the VAE config sets force_upcast");
  auto image = run_decoder(decoder, post_quant_conv, z);
  if (half && !torch::isfinite(image).all().item<bool>()) {
    logger().warn("VAE decode: the float16 decode overflowed (NaN/Inf in the image); decoding "
                  "again in {}", c10::toString(upcast_dtype(image.device())));
    return decode_upcast(z, "the float16 decode overflowed");
  }
  PD_CHECK(torch::isfinite(image).all().item<bool>(), Runtime,
           "VAE decode: the image has NaN/Inf values (decoded in " << c10::toString(dtype())
               << "); the latent or the VAE weights are not finite or far out of range: check "
                  "the model files and the sampler settings");
  return image;
}

torch::Tensor AutoencoderKLImpl::run_decoder(Decoder& dec, nn::Conv2d& post,
                                             const torch::Tensor& z) const {
  auto h = z.to(dec->conv_in->weight.scalar_type());
  if (channels_last_) h = h.contiguous(torch::MemoryFormat::ChannelsLast);
  if (post) h = post->forward(h);
  return dec->forward(h).contiguous();  // [B, out, h * f, w * f]
}

torch::Tensor AutoencoderKLImpl::decode_upcast(const torch::Tensor& z, const std::string& why) {
  const auto device = decoder->conv_in->weight.device();
  const auto wide = upcast_dtype(device);
  const nn::ParamOptions p{wide, device, channels_last_};
  Decoder dec(config_, p);
  nn::Conv2d post{nullptr};
  if (post_quant_conv) {
    post = nn::Conv2d(config_.latent_channels, config_.latent_channels, 1, 1, 0, p);
  }
  auto copy = [](torch::nn::Module& to, torch::nn::Module& from) {
    const auto source = from.named_parameters();
    for (auto& param : to.named_parameters()) param.value().copy_(source[param.key()]);
  };
  copy(*dec, *decoder);
  if (post) copy(*post, *post_quant_conv);
  auto image = run_decoder(dec, post, z);
  PD_CHECK(torch::isfinite(image).all().item<bool>(), Runtime,
           "VAE decode: the image has NaN/Inf values even decoded in "
               << c10::toString(wide) << " (upcast from float16 because " << why
               << "); the latent or the VAE weights are not finite or far out of range: check "
                  "the model files and the sampler settings");
  return image;
}

torch::ScalarType AutoencoderKLImpl::dtype() const { return decoder->conv_in->weight.scalar_type(); }

torch::ScalarType upcast_dtype(const torch::Device& device) {
  return device.is_cuda() && core::default_dtype(device) == torch::kBFloat16 ? torch::kBFloat16
                                                                             : torch::kFloat;
}

torch::Tensor AutoencoderKLImpl::to_latent(const torch::Tensor& z) const {
  return (z - config_.shift_factor) * config_.scaling_factor;
}

torch::Tensor AutoencoderKLImpl::from_latent(const torch::Tensor& x) const {
  return x / config_.scaling_factor + config_.shift_factor;
}

AutoencoderKL load_vae(const io::JsonConfig& config, const io::WeightSource& weights,
                       torch::ScalarType dtype, torch::Device device) {
  torch::NoGradGuard no_grad;
  const VAEConfig c = VAEConfig::from_json(config);
  std::string channels;
  for (int64_t ch : c.block_out_channels) {
    if (!channels.empty()) channels += ',';
    channels += std::to_string(ch);
  }
  logger().debug("{}: VAE: {} levels, channels {}, {} layers/block, groups {}, latent {}, "
                 "scaling {}, shift {}",
                 config.origin(), c.block_out_channels.size(),
                 channels, c.layers_per_block, c.norm_num_groups,
                 c.latent_channels, c.scaling_factor, c.shift_factor);
  // Conv weights built channels-last (use_channels_last then has nothing to move): each weight is
  // reordered as it is copied in from the file.
  if (dtype == torch::kHalf && c.force_upcast) {
    dtype = upcast_dtype(device);
    logger().info("{}: force_upcast: the VAE runs in {} under float16 compute (it overflows in "
                  "float16)", config.origin(), c10::toString(dtype));
  }
  AutoencoderKL model(c, nn::ParamOptions{dtype, device, /*channels_last=*/true});
  model->use_channels_last();
  io::load_into(*model, weights, "vae", dtype, device);
  model->eval();
  return model;
}

AutoencoderKL load_vae(const std::string& folder, torch::ScalarType dtype, torch::Device device) {
  const auto config = io::JsonConfig::load(folder + "/config.json");
  const io::WeightSource weights(io::SafetensorsFile::open(io::find_weights_file(folder)));
  return load_vae(config, weights, dtype, device);
}

}  // namespace pangu_draw::vae
