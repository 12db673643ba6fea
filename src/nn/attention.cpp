// attention.cpp: fused (SDPA) and query-chunked attention, and the diffusers Attention
// projections.
#include "nn/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"

namespace pangu_draw::nn {

namespace {

void check_shapes(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  PD_CHECK(q.dim() == 4 && k.dim() == 4 && v.dim() == 4, Runtime,
           "attention: q, k, v must be [B, heads, tokens, dim], got "
               << q.sizes() << ", " << k.sizes() << ", " << v.sizes());
  PD_CHECK(
      q.size(0) == k.size(0) && q.size(1) == k.size(1) && q.size(3) == k.size(3) &&
          k.sizes().slice(0, 3) == v.sizes().slice(0, 3),
      Runtime,
      "attention: mismatched shapes q " << q.sizes() << ", k " << k.sizes() << ", v " << v.sizes());
}

// PD_ATTENTION=chunked selects the chunked loop (for measuring it beside the fused kernel).
bool use_chunked() {
  static const bool chunked = [] {
    const char* env = std::getenv("PD_ATTENTION");
    return env != nullptr && std::strcmp(env, "chunked") == 0;
  }();
  return chunked;
}

}  // namespace

torch::Tensor attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v) {
  if (use_chunked()) return chunked_attention(q, k, v);
  check_shapes(q, k, v);
  // Default scale 1 / sqrt(d), no mask, no dropout: the flash kernel on CPU, flash or
  // memory-efficient on CUDA (diffusers' AttnProcessor2_0 makes the same call).
  return at::scaled_dot_product_attention(q, k, v);
}

torch::Tensor chunked_attention(const torch::Tensor& q, const torch::Tensor& k,
                                const torch::Tensor& v, int64_t max_score_bytes) {
  check_shapes(q, k, v);
  const int64_t b = q.size(0), heads = q.size(1), n = q.size(2), m = k.size(2);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  // The scale goes on q ([BH, N, d]) rather than on the [BH, N, M] scores, and the softmax runs
  // in place: the score matrix is the largest tensor of the UNet step, touched as few times as
  // possible.
  auto qs = q.reshape({b * heads, n, q.size(3)}).mul(scale);       // [BH, N, d]
  auto kt = k.reshape({b * heads, m, k.size(3)}).transpose(1, 2);  // [BH, d, M]
  auto vs = v.reshape({b * heads, m, v.size(3)});                  // [BH, M, dv]
  const int64_t row_bytes = std::max<int64_t>(1, b * heads * m * q.element_size());
  const int64_t chunk = std::max<int64_t>(1, std::min(n, max_score_bytes / row_bytes));
  auto probabilities = [&](int64_t start, int64_t len) {  // softmax(q k^T) rows [start, +len)
    auto scores = torch::bmm(qs.narrow(1, start, len), kt);  // [BH, len, M]
    if (scores.requires_grad()) return scores.softmax(-1);  // training: autograd's softmax
    return at::_softmax_out(scores, scores, -1, false);
  };
  if (chunk >= n) return torch::bmm(probabilities(0, n), vs).view({b, heads, n, v.size(3)});
  auto out = torch::empty({b * heads, n, v.size(3)}, q.options());  // [BH, N, dv]
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t len = std::min(chunk, n - start);
    out.narrow(1, start, len).copy_(torch::bmm(probabilities(start, len), vs));
  }
  return out.view({b, heads, n, v.size(3)});
}

AttentionImpl::AttentionImpl(const AttentionOptions& options) : options_(options) {
  PD_CHECK(options.query_dim > 0 && options.heads > 0 && options.dim_head > 0, Input,
           "Attention: query_dim, heads and dim_head must be positive, got "
               << options.query_dim << ", " << options.heads << ", " << options.dim_head);
  const int64_t inner = options.heads * options.dim_head;
  const int64_t kv_dim =
      options.cross_attention_dim > 0 ? options.cross_attention_dim : options.query_dim;
  auto linear = [&](int64_t in, int64_t out, bool bias) {
    return nn::Linear(in, out, bias, options.params);
  };
  to_q = register_module("to_q", linear(options.query_dim, inner, options.qkv_bias));
  to_k = register_module("to_k", linear(kv_dim, inner, options.qkv_bias));
  to_v = register_module("to_v", linear(kv_dim, inner, options.qkv_bias));
  out_proj_ = linear(inner, options.query_dim, options.out_bias);
  to_out = register_module("to_out", torch::nn::ModuleList(out_proj_));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
  const auto& kv_input = context.defined() ? context : x;
  PD_CHECK(x.dim() == 3 && x.size(2) == to_q->weight.size(1) && kv_input.dim() == 3 &&
               kv_input.size(2) == to_k->weight.size(1),
           Runtime,
           "Attention: expected x [B, N, " << to_q->weight.size(1) << "] and context [B, M, "
                                           << to_k->weight.size(1) << "], got " << x.sizes()
                                           << " and " << kv_input.sizes());
  const int64_t b = x.size(0), n = x.size(1), m = kv_input.size(1);
  const int64_t h = options_.heads, d = options_.dim_head;
  // [B, T, heads * d] -> [B, heads, T, d], made contiguous: the CPU flash kernel ran 9-30 %
  // faster on dense heads than on the projections' strided view, for a copy of a few MiB.
  auto split = [&](const torch::Tensor& t, int64_t tokens) {
    return t.view({b, tokens, h, d}).transpose(1, 2).contiguous();
  };
  auto q = split(to_q->forward(x), n);
  auto k = split(to_k->forward(kv_input), m);
  auto v = split(to_v->forward(kv_input), m);
  auto o = attention(q, k, v).transpose(1, 2).reshape({b, n, h * d});  // [B, N, inner]
  return out_proj_->forward(o);
}

}  // namespace pangu_draw::nn
