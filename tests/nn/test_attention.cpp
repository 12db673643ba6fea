// test_attention.cpp: the fused (SDPA) and chunked attention kernels against an element-wise
// softmax reference in fp32, bf16 and fp16, chunking, FLOP counting, and the Attention module's
// diffusers parameter names.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "core/error.h"
#include "core/flop_counter.h"
#include "nn/attention.h"
#include "nn/init.h"
#include "support/fixtures.h"

namespace pangu_draw::nn {
namespace {

// softmax(q k^T / sqrt(d)) v by explicit loops in double precision.
torch::Tensor naive_attention(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v) {
  auto qa = q.to(torch::kDouble), ka = k.to(torch::kDouble), va = v.to(torch::kDouble);
  auto out = torch::zeros({q.size(0), q.size(1), q.size(2), v.size(3)}, torch::kDouble);
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(3)));
  for (int64_t b = 0; b < q.size(0); ++b) {
    for (int64_t h = 0; h < q.size(1); ++h) {
      for (int64_t i = 0; i < q.size(2); ++i) {
        std::vector<double> s(k.size(2));
        double mx = -1e300, sum = 0;
        for (int64_t j = 0; j < k.size(2); ++j) {
          s[j] = (qa[b][h][i] * ka[b][h][j]).sum().item<double>() * scale;
          mx = std::max(mx, s[j]);
        }
        for (auto& e : s) sum += (e = std::exp(e - mx));
        for (int64_t j = 0; j < k.size(2); ++j) out[b][h][i] += va[b][h][j] * (s[j] / sum);
      }
    }
  }
  return out.to(torch::kFloat);
}

// The same in double precision with whole-tensor ops (for sizes too large for the loops).
torch::Tensor dense_reference(const torch::Tensor& q, const torch::Tensor& k,
                              const torch::Tensor& v) {
  auto qa = q.to(torch::kDouble), ka = k.to(torch::kDouble), va = v.to(torch::kDouble);
  auto scores = torch::matmul(qa, ka.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(3)));
  return torch::matmul(scores.softmax(-1), va).to(torch::kFloat);
}

TEST(Attention, MatchesElementwiseSoftmax) {
  torch::manual_seed(0);
  auto q = torch::randn({2, 3, 5, 4}), k = torch::randn({2, 3, 7, 4}),
       v = torch::randn({2, 3, 7, 6});
  PD_EXPECT_CLOSE(attention(q, k, v), naive_attention(q, k, v), 1e-5, "attention");
  PD_EXPECT_CLOSE(chunked_attention(q, k, v), naive_attention(q, k, v), 1e-5, "chunked");
}

// The layout the Attention module hands over (q, k, v as transposed views of [B, tokens, heads,
// d] projections), at a size where the fused kernel works in several query and key blocks
// (CPU: 64 x 512).
TEST(Attention, StridedInputsMatchReference) {
  torch::manual_seed(3);
  auto make = [](int64_t tokens) { return torch::randn({2, tokens, 3, 8}).transpose(1, 2); };
  auto q = make(300), k = make(1100), v = make(1100);
  auto head = [](const torch::Tensor& t, int64_t n) { return t.narrow(2, 0, n); };
  PD_EXPECT_CLOSE(dense_reference(head(q, 3), head(k, 9), head(v, 9)),
                  naive_attention(head(q, 3), head(k, 9), head(v, 9)), 1e-6, "dense reference");
  PD_EXPECT_CLOSE(attention(q, k, v), dense_reference(q, k, v), 1e-5, "strided");
}

// Half-precision inputs: the fused kernel accumulates in fp32, so the only errors are the
// inputs' and the output's rounding (bf16: 8 bits, ~4e-3 relative at |x| ~ 1; fp16: 11 bits).
TEST(Attention, HalfPrecisionWithinStatedTolerance) {
  torch::manual_seed(4);
  const std::pair<torch::ScalarType, double> cases[] = {{torch::kBFloat16, 1e-2},
                                                        {torch::kHalf, 2e-3}};
  for (const auto& [dtype, tol] : cases) {
    auto q = torch::randn({2, 2, 200, 16}).to(dtype), k = torch::randn({2, 2, 700, 16}).to(dtype),
         v = torch::randn({2, 2, 700, 16}).to(dtype);
    const auto expected = dense_reference(q, k, v);
    auto out = attention(q, k, v);
    EXPECT_EQ(out.scalar_type(), dtype);
    PD_EXPECT_CLOSE(out.to(torch::kFloat), expected, tol, "half precision");
  }
}

TEST(Attention, FlopCounterCountsBothMatrixProducts) {
  auto q = torch::randn({2, 3, 5, 4}), k = torch::randn({2, 3, 7, 4}),
       v = torch::randn({2, 3, 7, 6});
  const int64_t expected = 2 * (2 * 3) * 5 * 7 * (4 + 6);  // q k^T and scores v
  {
    core::FlopCounter counter;
    attention(q, k, v);
    EXPECT_EQ(counter.flops(), expected);
  }
  core::FlopCounter counter;
  chunked_attention(q, k, v, 1);
  EXPECT_EQ(counter.flops(), expected);
}

TEST(Attention, ZeroQueriesAverageValues) {
  auto q = torch::zeros({1, 1, 2, 3});
  auto k = torch::randn({1, 1, 4, 3});
  auto v = torch::arange(8, torch::kFloat).view({1, 1, 4, 2});  // rows (0,1) (2,3) (4,5) (6,7)
  auto expected = torch::tensor({3.0f, 4.0f}).expand({1, 1, 2, 2});
  PD_EXPECT_CLOSE(attention(q, k, v), expected, 1e-6, "uniform attention");
}

TEST(Attention, ChunkingGivesTheSameResult) {
  torch::manual_seed(1);
  auto q = torch::randn({1, 2, 37, 8}), k = torch::randn({1, 2, 37, 8}),
       v = torch::randn({1, 2, 37, 8});
  auto full = chunked_attention(q, k, v);
  // 1 query row per chunk, and 5 rows per chunk (last chunk shorter).
  PD_EXPECT_CLOSE(chunked_attention(q, k, v, 1), full, 1e-6, "chunk 1");
  PD_EXPECT_CLOSE(chunked_attention(q, k, v, 5 * 2 * 37 * 4), full, 1e-6, "chunk 5");
  PD_EXPECT_CLOSE(attention(q, k, v), full, 1e-5, "fused");
}

TEST(Attention, MismatchedShapesAreAnError) {
  auto q = torch::randn({1, 2, 3, 4}), k = torch::randn({1, 2, 3, 5});
  EXPECT_THROW(attention(q, k, k), Error);
  EXPECT_THROW(chunked_attention(q, k, k), Error);
}

TEST(AttentionModule, ParameterNamesFollowDiffusers) {
  Attention unet_attn(AttentionOptions{16, 8, 2, 4, false, true, {}});
  std::set<std::string> names;
  for (const auto& p : unet_attn->named_parameters()) names.insert(p.key());
  EXPECT_EQ(names, (std::set<std::string>{"to_q.weight", "to_k.weight", "to_v.weight",
                                          "to_out.0.weight", "to_out.0.bias"}));
  EXPECT_EQ(unet_attn->to_k->weight.sizes(), (std::vector<int64_t>{8, 8}));
  Attention vae_attn(AttentionOptions{16, 0, 1, 16, true, true, {}});
  EXPECT_EQ(vae_attn->named_parameters().size(), 8u);
  EXPECT_TRUE(vae_attn->named_parameters().contains("to_q.bias"));
}

TEST(AttentionModule, ForwardIsProjectedAttention) {
  torch::manual_seed(2);
  Attention attn(AttentionOptions{6, 5, 2, 3, false, true, {}});
  init_parameters(*attn, 2);
  auto x = torch::randn({2, 4, 6}), ctx = torch::randn({2, 3, 5});
  torch::NoGradGuard no_grad;
  auto q = torch::matmul(x, attn->to_q->weight.t()).view({2, 4, 2, 3}).permute({0, 2, 1, 3});
  auto k = torch::matmul(ctx, attn->to_k->weight.t()).view({2, 3, 2, 3}).permute({0, 2, 1, 3});
  auto v = torch::matmul(ctx, attn->to_v->weight.t()).view({2, 3, 2, 3}).permute({0, 2, 1, 3});
  auto o = naive_attention(q, k, v).permute({0, 2, 1, 3}).reshape({2, 4, 6});
  auto& out = *attn->to_out[0]->as<Linear>();
  auto expected = torch::matmul(o, out.weight.t()) + out.bias;
  PD_EXPECT_CLOSE(attn->forward(x, ctx), expected, 1e-5, "cross attention");
  Attention self_attn(AttentionOptions{6, 0, 3, 2, false, true, {}});
  EXPECT_EQ(self_attn->forward(x).sizes(), x.sizes());
}

TEST(AttentionModule, WrongContextWidthIsAnError) {
  Attention attn(AttentionOptions{6, 5, 2, 3, false, true, {}});
  EXPECT_THROW(attn->forward(torch::randn({1, 4, 6}), torch::randn({1, 3, 7})), Error);
}

}  // namespace
}  // namespace pangu_draw::nn
