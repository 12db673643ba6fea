// transformer_2d.cpp: Transformer2DModel, BasicTransformerBlock, GEGLU FeedForward.
#include "unet/transformer_2d.h"

#include "core/error.h"

namespace pangu_draw::unet {

namespace F = torch::nn::functional;

namespace {

// diffusers' GEGLU is a module holding one Linear named "proj".
struct GEGLUImpl : torch::nn::Module {
  GEGLUImpl(int64_t dim_in, int64_t dim_out) {
    proj = register_module("proj", torch::nn::Linear(dim_in, dim_out * 2));
  }
  torch::nn::Linear proj{nullptr};
};
TORCH_MODULE(GEGLU);

// Parameter-free stand-in for diffusers' Dropout at ff.net.1, so the Linear is "ff.net.2".
struct IdentityImpl : torch::nn::Module {};
TORCH_MODULE(Identity);

torch::nn::LayerNorm layer_norm(int64_t dim) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(1e-5));
}

}  // namespace

FeedForwardImpl::FeedForwardImpl(int64_t dim) {
  const int64_t inner = dim * 4;
  GEGLU geglu(dim, inner);
  proj_ = geglu->proj;
  out_ = torch::nn::Linear(inner, dim);
  net = register_module("net", torch::nn::ModuleList(geglu, Identity(), out_));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto hg = proj_->forward(x).chunk(2, -1);  // 2 x [B, N, inner]
  return out_->forward(hg[0] * F::gelu(hg[1]));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t dim_head,
                                                     int64_t cross_attention_dim) {
  norm1 = register_module("norm1", layer_norm(dim));
  attn1 = register_module(
      "attn1", nn::Attention(nn::AttentionOptions{dim, 0, heads, dim_head, false, true}));
  norm2 = register_module("norm2", layer_norm(dim));
  attn2 = register_module("attn2", nn::Attention(nn::AttentionOptions{
                                       dim, cross_attention_dim, heads, dim_head, false, true}));
  norm3 = register_module("norm3", layer_norm(dim));
  ff = register_module("ff", FeedForward(dim));
}

torch::Tensor BasicTransformerBlockImpl::forward(const torch::Tensor& x,
                                                 const torch::Tensor& context) {
  auto h = attn1->forward(norm1->forward(x)) + x;      // self-attention
  h = attn2->forward(norm2->forward(h), context) + h;  // cross-attention to the text
  return ff->forward(norm3->forward(h)) + h;
}

Transformer2DModelImpl::Transformer2DModelImpl(const Transformer2DOptions& options)
    : options_(options) {
  const int64_t c = options.in_channels, inner = options.heads * options.dim_head;
  norm = register_module(
      "norm",
      nn::GroupNorm(torch::nn::GroupNormOptions(options.norm_num_groups, c).eps(1e-6)));
  if (options.use_linear_projection) {
    proj_in = torch::nn::AnyModule(torch::nn::Linear(c, inner));
    proj_out = torch::nn::AnyModule(torch::nn::Linear(inner, c));
  } else {
    proj_in = torch::nn::AnyModule(torch::nn::Conv2d(torch::nn::Conv2dOptions(c, inner, 1)));
    proj_out = torch::nn::AnyModule(torch::nn::Conv2d(torch::nn::Conv2dOptions(inner, c, 1)));
  }
  register_module("proj_in", proj_in.ptr());
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.num_layers; ++i) {
    transformer_blocks->push_back(
        BasicTransformerBlock(inner, options.heads, options.dim_head, options.cross_attention_dim));
  }
  register_module("proj_out", proj_out.ptr());
}

torch::Tensor Transformer2DModelImpl::forward(const torch::Tensor& x,
                                              const torch::Tensor& context) {
  const int64_t b = x.size(0), h = x.size(2), w = x.size(3);
  auto to_tokens = [&](const torch::Tensor& t) {  // [B, C, H, W] -> [B, HW, C]
    return t.permute({0, 2, 3, 1}).reshape({b, h * w, t.size(1)});
  };
  auto to_image = [&](const torch::Tensor& t) {  // [B, HW, C] -> [B, C, H, W]
    return t.reshape({b, h, w, t.size(2)}).permute({0, 3, 1, 2}).contiguous();
  };
  auto hidden = norm->forward(x);
  hidden = options_.use_linear_projection ? proj_in.forward(to_tokens(hidden))
                                          : to_tokens(proj_in.forward(hidden));  // [B, HW, inner]
  for (const auto& block : *transformer_blocks) {
    hidden = block->as<BasicTransformerBlock>()->forward(hidden, context);
  }
  hidden = options_.use_linear_projection ? to_image(proj_out.forward(hidden))
                                          : proj_out.forward(to_image(hidden));  // [B, C, H, W]
  return hidden + x;
}

}  // namespace pangu_draw::unet
