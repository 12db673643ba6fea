// unet_2d_condition.cpp: UNet2DConditionModel construction, forward and loading.
#include "unet/unet_2d_condition.h"

#include "core/error.h"
#include "core/log.h"
#include "io/model_layout.h"
#include "io/safetensors.h"
#include "unet/time_conditioning.h"

namespace pangu_draw::unet {

namespace F = torch::nn::functional;

namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t kernel, const nn::ParamOptions& p) {
  return nn::Conv2d(in, out, kernel, 1, (kernel - 1) / 2, p);
}

// A ControlNet residual has the target's shape, or [B, C, 1, 1] (global_pool_conditions).
bool residual_fits(const torch::Tensor& r, const torch::Tensor& target) {
  if (r.sizes() == target.sizes()) return true;
  return r.dim() == 4 && r.size(0) == target.size(0) && r.size(1) == target.size(1) &&
         r.size(2) == 1 && r.size(3) == 1;
}

}  // namespace

UNet2DConditionModelImpl::UNet2DConditionModelImpl(const UNetConfig& config,
                                                   const nn::ParamOptions& p)
    : config_(config) {
  const auto& c = config_;
  PD_CHECK(c.up_block_types.size() == c.block_out_channels.size(), Input,
           c.origin << ": 'up_block_types' must list one block per entry of block_out_channels ("
                    << c.block_out_channels.size() << "), found " << c.up_block_types.size());
  const int64_t c0 = c.block_out_channels.front();
  conv_in = register_module("conv_in", conv(c.in_channels, c0, c.conv_in_kernel, p));
  register_time_conditioning(*this, c, time_embedding, add_embedding, p);
  down_blocks = register_module("down_blocks", torch::nn::ModuleList());
  up_blocks = register_module("up_blocks", torch::nn::ModuleList());
  for (size_t i = 0; i < c.block_out_channels.size(); ++i) {
    down_blocks->push_back(DownBlock(down_block_options(c, i, p)));
  }
  mid_block = register_module("mid_block", UNetMidBlock2DCrossAttn(mid_block_options(c, p)));
  for (size_t i = 0; i < c.block_out_channels.size(); ++i) {
    up_blocks->push_back(UpBlock(up_block_options(c, i, p)));
  }
  conv_norm_out =
      register_module("conv_norm_out", nn::GroupNorm(c.norm_num_groups, c0, c.norm_eps, p));
  conv_out = register_module("conv_out", conv(c0, c.out_channels, c.conv_out_kernel, p));
}

torch::Tensor UNet2DConditionModelImpl::run_down(const torch::Tensor& x, const torch::Tensor& emb,
                                                 const torch::Tensor& context,
                                                 const UNetExtra& extra,
                                                 std::vector<torch::Tensor>& skips) {
  auto h = x;
  skips.push_back(h);
  for (const auto& block : *down_blocks)
    h = block->as<DownBlock>()->forward(h, emb, context, skips);
  if (!extra.down_residuals.empty()) {
    PD_CHECK(extra.down_residuals.size() == skips.size(), Runtime,
             "UNet: " << extra.down_residuals.size() << " ControlNet down residuals, the UNet has "
                      << skips.size() << " skip connections: does the ControlNet fit this UNet?");
    for (size_t i = 0; i < skips.size(); ++i) {
      PD_CHECK(residual_fits(extra.down_residuals[i], skips[i]), Runtime,
               "UNet: ControlNet down residual " << i << " is " << extra.down_residuals[i].sizes()
                                                 << ", the skip connection is "
                                                 << skips[i].sizes());
      skips[i] = skips[i] + extra.down_residuals[i].to(skips[i].scalar_type());
    }
  }
  return h;
}

torch::Tensor UNet2DConditionModelImpl::run_up(torch::Tensor h, const torch::Tensor& emb,
                                               const torch::Tensor& context,
                                               std::vector<torch::Tensor>& skips) {
  for (const auto& module : *up_blocks) {
    auto block = module->as<UpBlock>();
    // The upsampler's target is the size of the next block's skip connection (diffusers'
    // upsample_size), which also covers sizes not divisible by the total downscale.
    const size_t consumed = block->resnets->size();
    std::vector<int64_t> size;
    if (block->upsamplers && skips.size() > consumed) {
      size = skips[skips.size() - consumed - 1].sizes().slice(2).vec();
    }
    h = block->forward(h, emb, context, skips, size);
  }
  return h;
}

torch::Tensor UNet2DConditionModelImpl::forward(const torch::Tensor& x,
                                                const torch::Tensor& timesteps,
                                                const torch::Tensor& context,
                                                const UNetExtra& extra) {
  const auto& c = config_;
  PD_CHECK(x.dim() == 4 && x.size(1) == c.in_channels, Runtime,
           "UNet: input must be [B, " << c.in_channels << ", H, W], got " << x.sizes());
  PD_CHECK(context.defined() && context.dim() == 3 && context.size(0) == x.size(0) &&
               context.size(2) == c.cross_attention_dim,
           Runtime,
           "UNet: context must be ["
               << x.size(0) << ", M, " << c.cross_attention_dim << "], got "
               << (context.defined() ? c10::str(context.sizes()) : "undefined"));
  const auto dtype = conv_in->weight.scalar_type();
  auto sample = x.to(dtype);
  if (c.center_input_sample) sample = sample * 2.0 - 1.0;
  const auto ctx = context.to(dtype);
  auto emb = time_conditioning(c, time_embedding, add_embedding,
                               {timesteps, extra.text_embeds, extra.time_ids}, x.size(0), dtype);
  std::vector<torch::Tensor> skips;
  auto h = run_down(conv_in->forward(sample), emb, ctx, extra, skips);  // [B, C_last, h, w]
  h = mid_block->forward(h, emb, ctx);
  if (extra.mid_residual.defined()) {
    PD_CHECK(residual_fits(extra.mid_residual, h), Runtime,
             "UNet: ControlNet mid residual is " << extra.mid_residual.sizes()
                                                 << ", the mid block output is " << h.sizes());
    h = h + extra.mid_residual.to(dtype);
  }
  h = run_up(h, emb, ctx, skips);                                // [B, C0, H, W]
  return conv_out->forward(F::silu(conv_norm_out->forward(h)));  // [B, out, H, W]
}

UNet2DConditionModel load_unet(const UNetConfig& config, const io::WeightSource& weights,
                               torch::ScalarType dtype, torch::Device device) {
  torch::NoGradGuard no_grad;
  UNet2DConditionModel model(config, nn::ParamOptions{dtype, device});
  io::load_into(*model, weights, "unet", dtype, device);
  model->eval();
  logger().debug("unet loaded from {} ({} parameters)", weights.path(), model->parameters().size());
  return model;
}

UNet2DConditionModel load_unet(const io::JsonConfig& config, const io::WeightSource& weights,
                               torch::ScalarType dtype, torch::Device device) {
  return load_unet(UNetConfig::from_json(config), weights, dtype, device);
}

UNet2DConditionModel load_unet(const std::string& folder, torch::ScalarType dtype,
                               torch::Device device) {
  const auto config = io::JsonConfig::load(folder + "/config.json");
  auto file = io::SafetensorsFile::open(io::find_weights_file(folder));
  return load_unet(config, io::WeightSource(file), dtype, device);
}

}  // namespace pangu_draw::unet
