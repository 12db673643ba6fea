// transformer_2d.cpp: Transformer2DModel, BasicTransformerBlock, GEGLU FeedForward.
#include "unet/transformer_2d.h"

#include "core/error.h"

namespace pangu_draw::unet {

namespace F = torch::nn::functional;

namespace {

// diffusers' GEGLU is a module holding one Linear named "proj".
struct GEGLUImpl : torch::nn::Module {
  GEGLUImpl(int64_t dim_in, int64_t dim_out, const nn::ParamOptions& p) {
    proj = register_module("proj", nn::Linear(dim_in, dim_out * 2, true, p));
  }
  nn::Linear proj{nullptr};
};
TORCH_MODULE(GEGLU);

// Parameter-free stand-in for diffusers' Dropout at ff.net.1, so the Linear is "ff.net.2".
struct IdentityImpl : torch::nn::Module {};
TORCH_MODULE(Identity);

nn::LayerNorm layer_norm(int64_t dim, const nn::ParamOptions& p) {
  return nn::LayerNorm(dim, 1e-5, p);
}

}  // namespace

FeedForwardImpl::FeedForwardImpl(int64_t dim, const nn::ParamOptions& p) {
  const int64_t inner = dim * 4;
  GEGLU geglu(dim, inner, p);
  proj_ = geglu->proj;
  out_ = nn::Linear(inner, dim, true, p);
  net = register_module("net", torch::nn::ModuleList(geglu, Identity(), out_));
}

torch::Tensor FeedForwardImpl::forward(const torch::Tensor& x) {
  auto hg = proj_->forward(x).chunk(2, -1);  // 2 x [B, N, inner]
  return out_->forward(hg[0] * F::gelu(hg[1]));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(int64_t dim, int64_t heads, int64_t dim_head,
                                                     int64_t cross_attention_dim,
                                                     const nn::ParamOptions& p) {
  norm1 = register_module("norm1", layer_norm(dim, p));
  attn1 = register_module(
      "attn1", nn::Attention(nn::AttentionOptions{dim, 0, heads, dim_head, false, true, p}));
  norm2 = register_module("norm2", layer_norm(dim, p));
  attn2 = register_module("attn2", nn::Attention(nn::AttentionOptions{
                                       dim, cross_attention_dim, heads, dim_head, false, true, p}));
  norm3 = register_module("norm3", layer_norm(dim, p));
  ff = register_module("ff", FeedForward(dim, p));
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
  const nn::ParamOptions& p = options.params;
  norm = register_module("norm", nn::GroupNorm(options.norm_num_groups, c, 1e-6, p));
  if (options.use_linear_projection) {
    proj_in = torch::nn::AnyModule(nn::Linear(c, inner, true, p));
    proj_out = torch::nn::AnyModule(nn::Linear(inner, c, true, p));
  } else {
    proj_in = torch::nn::AnyModule(nn::Conv2d(c, inner, 1, 1, 0, p));
    proj_out = torch::nn::AnyModule(nn::Conv2d(inner, c, 1, 1, 0, p));
  }
  register_module("proj_in", proj_in.ptr());
  transformer_blocks = register_module("transformer_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < options.num_layers; ++i) {
    transformer_blocks->push_back(
        BasicTransformerBlock(inner, options.heads, options.dim_head, options.cross_attention_dim,
                              p));
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
