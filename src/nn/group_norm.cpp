// group_norm.cpp: GroupNorm (see group_norm.h for why it is not torch::nn::GroupNorm).
#include "nn/group_norm.h"

#include <algorithm>
#include <utility>

#include "core/error.h"

namespace pangu_draw::nn {

namespace {

constexpr int64_t kChunkElements = int64_t(1) << 20;  // fp32 rows converted at a time (4 MiB)

bool needs_accurate_path(const torch::Tensor& x) {
  const auto t = x.scalar_type();
  return x.dim() == 4 && (t == torch::kBFloat16 || t == torch::kHalf) &&
         !x.is_contiguous() && x.is_contiguous(torch::MemoryFormat::ChannelsLast);
}

// Per-(image, channel) scale and shift [B, C, 1, 1] in x's dtype: norm(x) = shift + x * scale.
std::pair<torch::Tensor, torch::Tensor> accurate_affine(const torch::Tensor& x, int64_t groups,
                                                        const torch::Tensor& weight,
                                                        const torch::Tensor& bias, double eps) {
  const int64_t b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
  TORCH_CHECK(c % groups == 0, "group_norm: ", c, " channels are not a multiple of ", groups,
              " groups");
  // Per-channel sums of x and x^2, accumulated in fp64 from fp32 chunks of rows.
  const int64_t rows = std::max<int64_t>(1, kChunkElements / std::max<int64_t>(1, b * c * w));
  auto sum = torch::zeros({b, c}, x.options().dtype(torch::kDouble));
  auto sum_sq = torch::zeros_like(sum);
  for (int64_t r = 0; r < h; r += rows) {
    auto chunk = x.narrow(2, r, std::min(rows, h - r)).to(torch::kFloat);
    sum += chunk.sum({2, 3}).to(torch::kDouble);
    sum_sq += chunk.square().sum({2, 3}).to(torch::kDouble);
  }
  const int64_t per_group = c / groups;
  const double n = static_cast<double>(per_group * h * w);
  auto mean = sum.view({b, groups, per_group}).sum(2, true) / n;                // [B, G, 1]
  auto var = (sum_sq.view({b, groups, per_group}).sum(2, true) / n - mean * mean).clamp_min(0);
  auto scale = (var + eps).rsqrt().expand({b, groups, per_group});              // [B, G, C/G]
  if (weight.defined()) scale = scale * weight.to(torch::kDouble).view({1, groups, per_group});
  auto shift = -mean * scale;
  if (bias.defined()) shift = shift + bias.to(torch::kDouble).view({1, groups, per_group});
  const auto dtype = x.scalar_type();
  return {scale.reshape({b, c, 1, 1}).to(dtype), shift.reshape({b, c, 1, 1}).to(dtype)};
}

}  // namespace

torch::Tensor group_norm_accurate(const torch::Tensor& x, int64_t groups,
                                  const torch::Tensor& weight, const torch::Tensor& bias,
                                  double eps) {
  const auto [scale, shift] = accurate_affine(x, groups, weight, bias, eps);
  return torch::addcmul(shift, x, scale);
}

GroupNormImpl::GroupNormImpl(int64_t groups, int64_t channels, double eps, const ParamOptions& p)
    : groups_(groups), eps_(eps) {
  PD_CHECK(groups > 0 && channels > 0 && channels % groups == 0, Input,
           "GroupNorm: " << channels << " channels must be a positive multiple of " << groups
                         << " groups");
  weight = register_parameter("weight", torch::empty({channels}, p.tensor()));
  bias = register_parameter("bias", torch::empty({channels}, p.tensor()));
}

torch::Tensor GroupNormImpl::forward(const torch::Tensor& x) {
  if (!needs_accurate_path(x)) return torch::group_norm(x, groups_, weight, bias, eps_);
  return group_norm_accurate(x, groups_, weight, bias, eps_);
}

bool GroupNormImpl::forward_in_place(torch::Tensor& x) {
  if (!needs_accurate_path(x)) return false;
  const auto [scale, shift] = accurate_affine(x, groups_, weight, bias, eps_);
  at::addcmul_out(x, shift, x, scale);  // the same kernel as forward's addcmul, written over x
  return true;
}

torch::Tensor norm_silu(GroupNorm& norm, torch::Tensor x) {
  const bool sole_owner = x.use_count() == 1 && x.storage().use_count() == 1;
  if (!torch::GradMode::is_enabled() && sole_owner && norm->forward_in_place(x)) {
    return torch::silu_(x);
  }
  auto h = norm->forward(x);
  x.reset();
  return torch::GradMode::is_enabled() ? torch::silu(h) : torch::silu_(h);
}

}  // namespace pangu_draw::nn
