// controlnet.cpp: ControlNetModel construction, forward and loading.
#include "unet/controlnet.h"

#include "core/error.h"
#include "core/log.h"
#include "io/model_layout.h"
#include "io/safetensors.h"
#include "unet/time_conditioning.h"

namespace pangu_draw::unet {

namespace F = torch::nn::functional;

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, const nn::ParamOptions& p,
                int64_t stride = 1) {
  return nn::Conv2d(in, out, kernel, stride, (kernel - 1) / 2, p);
}

}  // namespace

ControlNetConfig ControlNetConfig::from_json(const io::JsonConfig& j) {
  ControlNetConfig c;
  c.unet = UNetConfig::from_json(j);
  c.conditioning_channels = j.get_int("conditioning_channels", 3);
  c.conditioning_embedding_out_channels =
      j.has("conditioning_embedding_out_channels")
          ? j.get_int_list("conditioning_embedding_out_channels")
          : std::vector<int64_t>{16, 32, 96, 256};
  PD_CHECK(!c.conditioning_embedding_out_channels.empty(), Input,
           j.origin() << ": 'conditioning_embedding_out_channels' must not be empty");
  const std::string order = j.get_string("controlnet_conditioning_channel_order", "rgb");
  PD_CHECK(order == "rgb" || order == "bgr", Input,
           j.origin() << ": 'controlnet_conditioning_channel_order' = \"" << order
                      << "\" is not supported (\"rgb\" or \"bgr\")");
  c.bgr = order == "bgr";
  c.global_pool_conditions = j.get_bool("global_pool_conditions", false);
  return c;
}

ControlNetConditioningEmbeddingImpl::ControlNetConditioningEmbeddingImpl(
    int64_t conditioning_channels, const std::vector<int64_t>& ch, int64_t out_channels,
    const nn::ParamOptions& p) {
  conv_in = register_module("conv_in", conv(conditioning_channels, ch.front(), 3, p));
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t i = 0; i + 1 < ch.size(); ++i) {
    blocks->push_back(conv(ch[i], ch[i], 3, p));
    blocks->push_back(conv(ch[i], ch[i + 1], 3, p, 2));
  }
  conv_out = register_module("conv_out", conv(ch.back(), out_channels, 3, p));
}

torch::Tensor ControlNetConditioningEmbeddingImpl::forward(const torch::Tensor& hint) {
  auto h = F::silu(conv_in->forward(hint));
  for (const auto& block : *blocks) h = F::silu(block->as<nn::Conv2d>()->forward(h));
  return conv_out->forward(h);
}

ControlNetModelImpl::ControlNetModelImpl(const ControlNetConfig& config, const nn::ParamOptions& p)
    : config_(config) {
  const auto& c = config_.unet;
  const int64_t c0 = c.block_out_channels.front();
  conv_in = register_module("conv_in", conv(c.in_channels, c0, c.conv_in_kernel, p));
  register_time_conditioning(*this, c, time_embedding, add_embedding, p);
  controlnet_cond_embedding = register_module(
      "controlnet_cond_embedding",
      ControlNetConditioningEmbedding(config_.conditioning_channels,
                                      config_.conditioning_embedding_out_channels, c0, p));
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  controlnet_down_blocks = register_module("controlnet_down_blocks", torch::nn::ModuleList());
  controlnet_down_blocks->push_back(conv(c0, c0, 1, p));  // for conv_in's output
  for (size_t i = 0; i < c.block_out_channels.size(); ++i) {
    DownBlock block(down_block_options(c, i, p));
    const int64_t ch = c.block_out_channels[i];
    for (int64_t k = 0; k < block->num_skips(); ++k) {
      controlnet_down_blocks->push_back(conv(ch, ch, 1, p));
    }
    down_blocks->push_back(block);
  }
  mid_block = register_module("mid_block", UNetMidBlock2DCrossAttn(mid_block_options(c, p)));
  const int64_t c_last = c.block_out_channels.back();
  controlnet_mid_block = register_module("controlnet_mid_block", conv(c_last, c_last, 1, p));
}

torch::Tensor ControlNetModelImpl::embed_hint(const torch::Tensor& hint,
                                              const torch::Tensor& sample) {
  const auto& c = config_;
  PD_CHECK(hint.defined() && hint.dim() == 4 && hint.size(0) == sample.size(0) &&
               hint.size(1) == c.conditioning_channels,
           Runtime,
           "ControlNet: the control image must be ["
               << sample.size(0) << ", " << c.conditioning_channels << ", H, W], got "
               << (hint.defined() ? c10::str(hint.sizes()) : "undefined"));
  auto h = hint.to(sample.scalar_type());
  if (c.bgr) h = h.flip({1});
  auto emb = controlnet_cond_embedding->forward(h);  // [B, C0, H / f, W / f]
  PD_CHECK(emb.sizes() == sample.sizes(), Runtime,
           "ControlNet: the control image " << hint.sizes() << " embeds to " << emb.sizes()
                                            << ", the latent is " << sample.sizes()
                                            << ": the control image must have the output "
                                            << "image's size");
  return emb;
}

ControlNetOutput ControlNetModelImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& timesteps,
                                              const torch::Tensor& context,
                                              const torch::Tensor& hint, double scale,
                                              const UNetExtra& extra) {
  const auto& c = config_.unet;
  PD_CHECK(x.dim() == 4 && x.size(1) == c.in_channels, Runtime,
           "ControlNet: input must be [B, " << c.in_channels << ", H, W], got " << x.sizes());
  PD_CHECK(context.defined() && context.dim() == 3 && context.size(0) == x.size(0) &&
               context.size(2) == c.cross_attention_dim,
           Runtime,
           "ControlNet: context must be [" << x.size(0) << ", M, " << c.cross_attention_dim << "]");
  const auto dtype = conv_in->weight.scalar_type();
  const auto ctx = context.to(dtype);
  auto emb = time_conditioning(c, time_embedding, add_embedding,
                               {timesteps, extra.text_embeds, extra.time_ids}, x.size(0), dtype);
  auto h = conv_in->forward(x.to(dtype));  // [B, C0, H, W]
  h = h + embed_hint(hint, h);
  std::vector<torch::Tensor> skips{h};
  for (const auto& block : *down_blocks) h = block->as<DownBlock>()->forward(h, emb, ctx, skips);
  h = mid_block->forward(h, emb, ctx);
  auto finish = [&](torch::Tensor r) {
    r = r * scale;
    return config_.global_pool_conditions ? r.mean({2, 3}, true) : r;
  };
  ControlNetOutput out;
  for (size_t i = 0; i < skips.size(); ++i) {
    out.down_residuals.push_back(
        finish(controlnet_down_blocks[i]->as<nn::Conv2d>()->forward(skips[i])));
  }
  out.mid_residual = finish(controlnet_mid_block->forward(h));
  return out;
}

ControlNetModel load_controlnet(const ControlNetConfig& config, const io::WeightSource& weights,
                                torch::ScalarType dtype, torch::Device device) {
  torch::NoGradGuard no_grad;
  ControlNetModel model(config, nn::ParamOptions{dtype, device});
  io::load_into(*model, weights, "controlnet", dtype, device);
  model->eval();
  return model;
}

ControlNetModel load_controlnet(const std::string& folder, torch::ScalarType dtype,
                                torch::Device device) {
  const auto config = ControlNetConfig::from_json(io::JsonConfig::load(folder + "/config.json"));
  auto file = io::SafetensorsFile::open(io::find_weights_file(folder));
  return load_controlnet(config, io::WeightSource(file), dtype, device);
}

}  // namespace pangu_draw::unet
