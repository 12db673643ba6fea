// test_blocks.cpp: ResnetBlock2D, Down/Upsample2D and the timestep embedding against
// hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "nn/embeddings.h"
#include "nn/init.h"
#include "nn/resnet.h"
#include "nn/sampling.h"
#include "support/fixtures.h"

namespace pangu_draw::nn {
namespace {

namespace F = torch::nn::functional;

std::set<std::string> names_of(torch::nn::Module& m) {
  std::set<std::string> out;
  for (const auto& p : m.named_parameters()) out.insert(p.key());
  return out;
}

TEST(ResnetBlock2D, OptionalLayersFollowTheOptions) {
  ResnetBlock2D vae_block(ResnetBlock2DOptions{4, 4, 0, 2, 1e-6, 1.0, {}});
  EXPECT_FALSE(names_of(*vae_block).count("time_emb_proj.weight"));
  EXPECT_FALSE(names_of(*vae_block).count("conv_shortcut.weight"));
  ResnetBlock2D unet_block(ResnetBlock2DOptions{4, 8, 16, 2, 1e-5, 1.0, {}});
  auto names = names_of(*unet_block);
  for (const char* n :
       {"norm1.weight", "norm1.bias", "conv1.weight", "conv1.bias", "time_emb_proj.weight",
        "time_emb_proj.bias", "norm2.weight", "norm2.bias", "conv2.weight", "conv2.bias",
        "conv_shortcut.weight", "conv_shortcut.bias"}) {
    EXPECT_TRUE(names.count(n)) << n;
  }
  EXPECT_EQ(names.size(), 12u);
  EXPECT_EQ(unet_block->conv_shortcut->weight.sizes(), (std::vector<int64_t>{8, 4, 1, 1}));
}

TEST(ResnetBlock2D, ZeroConvolutionsLeaveTheShortcutPlusBias) {
  // conv1/conv2/time_emb_proj weights zero: h = conv2 bias; out = (x + b2) / scale.
  ResnetBlock2D block(ResnetBlock2DOptions{4, 4, 3, 2, 1e-6, 2.0, {}});
  torch::NoGradGuard no_grad;
  for (auto& p : block->parameters()) p.zero_();
  block->conv2->bias.fill_(0.5);
  auto x = torch::randn({2, 4, 3, 5});
  PD_EXPECT_CLOSE(block->forward(x, torch::randn({2, 3})), (x + 0.5) / 2.0, 1e-6, "resnet");
}

TEST(ResnetBlock2D, MatchesTheFormula) {
  torch::manual_seed(3);
  ResnetBlock2D block(ResnetBlock2DOptions{4, 6, 5, 2, 1e-5, 1.0, {}});
  torch::NoGradGuard no_grad;
  for (auto& p : block->parameters()) p.copy_(torch::randn_like(p));
  auto x = torch::randn({2, 4, 5, 3}), temb = torch::randn({2, 5});
  auto gn = [](const torch::Tensor& t, GroupNorm& n) {
    return torch::group_norm(t, 2, n->weight, n->bias, 1e-5);
  };
  auto h = F::conv2d(F::silu(gn(x, block->norm1)), block->conv1->weight,
                     F::Conv2dFuncOptions().bias(block->conv1->bias).padding(1));
  h = h +
      (torch::matmul(F::silu(temb), block->time_emb_proj->weight.t()) + block->time_emb_proj->bias)
          .view({2, 6, 1, 1});
  h = F::conv2d(F::silu(gn(h, block->norm2)), block->conv2->weight,
                F::Conv2dFuncOptions().bias(block->conv2->bias).padding(1));
  auto s = F::conv2d(x, block->conv_shortcut->weight,
                     F::Conv2dFuncOptions().bias(block->conv_shortcut->bias));
  PD_EXPECT_CLOSE(block->forward(x, temb), s + h, 1e-5, "resnet formula");
}

// Inference overwrites intermediates in place and drops the input early (memory); the result must
// be the autograd path's, bit for bit, and the caller's input must be left untouched.
TEST(ResnetBlock2D, InferenceInPlaceMatchesAutogradAndKeepsTheInput) {
  torch::manual_seed(4);
  const std::vector<ResnetBlock2DOptions> shapes = {
      {4, 6, 5, 2, 1e-5, 1.0, {}}, {6, 4, 5, 2, 1e-5, 2.0, {}}, {4, 4, 0, 2, 1e-6, 1.0, {}}};
  for (const auto& o : shapes) {
    ResnetBlock2D block(o);
    init_parameters(*block, 4);
    auto x = torch::randn({2, o.in_channels, 5, 3}), temb = torch::randn({2, 5});
    auto with_grad = block->forward(x, temb);
    ASSERT_TRUE(with_grad.requires_grad());
    const auto before = x.clone();
    torch::Tensor inferred;
    {
      torch::InferenceMode guard;
      inferred = block->forward(x, temb);
    }
    EXPECT_TRUE(torch::equal(inferred, with_grad.detach()))
        << o.in_channels << " -> " << o.out_channels;
    EXPECT_TRUE(torch::equal(x, before)) << "the input was overwritten";
  }
}

// A narrowing block handed its (bf16 channels-last) input overwrites it with the norm instead
// of allocating another tensor of its size; the result is the same bits as when the caller keeps
// the input.
TEST(ResnetBlock2D, HandedOverInputIsNormalisedInPlaceWithTheSameResult) {
  ResnetBlock2D block(ResnetBlock2DOptions{64, 32, 0, 32, 1e-6, 1.0,
                                           ParamOptions{torch::kBFloat16, torch::kCPU, false}});
  init_parameters(*block, 6);
  torch::InferenceMode guard;
  auto x = torch::randn({1, 64, 12, 10}, torch::TensorOptions().dtype(torch::kBFloat16))
               .contiguous(torch::MemoryFormat::ChannelsLast);
  const auto kept = block->forward(x);
  const auto before = x.clone();
  EXPECT_TRUE(torch::equal(x, before)) << "a kept input was overwritten";
  const auto out = block->forward(x.clone());  // the block's only handle to that input
  EXPECT_TRUE(torch::equal(out, kept));
}

// A 3x3 all-ones kernel on a 4x4 image of ones counts the in-image pixels of each window.
TEST(Downsample2D, PaddingOneAndAsymmetricPaddingZero) {
  torch::NoGradGuard no_grad;
  auto x = torch::ones({1, 1, 4, 4});
  Downsample2D sym(1, 1, 1, ParamOptions{});
  sym->conv->weight.fill_(1.0);
  sym->conv->bias.zero_();
  PD_EXPECT_CLOSE(sym->forward(x), torch::tensor({4.f, 6.f, 6.f, 9.f}).view({1, 1, 2, 2}), 0,
                  "padding 1");
  Downsample2D asym(1, 1, 0, ParamOptions{});
  asym->conv->weight.fill_(1.0);
  asym->conv->bias.zero_();
  PD_EXPECT_CLOSE(asym->forward(x), torch::tensor({9.f, 6.f, 6.f, 4.f}).view({1, 1, 2, 2}), 0,
                  "padding 0 (pad right and bottom)");
  EXPECT_EQ(sym->forward(torch::ones({1, 1, 5, 7})).sizes(), (std::vector<int64_t>{1, 1, 3, 4}));
  EXPECT_EQ(names_of(*sym), (std::set<std::string>{"conv.weight", "conv.bias"}));
}

TEST(Upsample2D, NearestThenConv) {
  torch::NoGradGuard no_grad;
  Upsample2D up(1, 1, ParamOptions{});
  up->conv->weight.zero_();
  up->conv->weight[0][0][1][1] = 1.0;  // identity kernel
  up->conv->bias.fill_(0.25);
  auto x = torch::tensor({1.f, 2.f, 3.f, 4.f}).view({1, 1, 2, 2});
  auto expected = torch::tensor({1.f, 1.f, 2.f, 2.f, 1.f, 1.f, 2.f, 2.f, 3.f, 3.f, 4.f, 4.f, 3.f,
                                 3.f, 4.f, 4.f})
                      .view({1, 1, 4, 4}) +
                  0.25;
  PD_EXPECT_CLOSE(up->forward(x), expected, 0, "x2");
  EXPECT_EQ(up->forward(x, {3, 5}).sizes(), (std::vector<int64_t>{1, 1, 3, 5}));
  EXPECT_EQ(names_of(*up), (std::set<std::string>{"conv.weight", "conv.bias"}));
}

TEST(TimestepEmbedding, SinusoidsByHand) {
  auto t = torch::tensor({0.f, 1.f, 500.f});
  // dim 4, shift 0: frequencies exp(-ln(1e4) * i / 2) = 1, 0.01.
  auto expect = [](float t, bool flip, double f1) {
    std::vector<float> sin_part{std::sin(t), static_cast<float>(std::sin(t * f1))};
    std::vector<float> cos_part{std::cos(t), static_cast<float>(std::cos(t * f1))};
    auto s = torch::tensor(sin_part), c = torch::tensor(cos_part);
    return flip ? torch::cat({c, s}) : torch::cat({s, c});
  };
  auto flipped = timestep_embedding(t, 4, true, 0.0);
  auto plain = timestep_embedding(t, 4, false, 0.0);
  auto shifted = timestep_embedding(t, 4, true, 1.0);  // frequencies 1, 1e-4
  for (int i = 0; i < 3; ++i) {
    const float ti = t[i].item<float>();
    PD_EXPECT_CLOSE(flipped[i], expect(ti, true, 0.01), 1e-6, "flip_sin_to_cos");
    PD_EXPECT_CLOSE(plain[i], expect(ti, false, 0.01), 1e-6, "sin first");
    PD_EXPECT_CLOSE(shifted[i], expect(ti, true, 1e-4), 1e-6, "freq shift 1");
  }
  auto odd = timestep_embedding(t, 5, true, 0.0);
  ASSERT_EQ(odd.sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(odd.select(1, 4).abs().max().item<float>(), 0.0f);
  PD_EXPECT_CLOSE(odd.narrow(1, 0, 4), flipped, 0, "odd dim prefix");
}

TEST(TimestepEmbedding, MlpNamesAndMath) {
  TimestepEmbedding emb(4, 8, ParamOptions{});
  init_parameters(*emb, 5);
  EXPECT_EQ(names_of(*emb), (std::set<std::string>{"linear_1.weight", "linear_1.bias",
                                                   "linear_2.weight", "linear_2.bias"}));
  torch::NoGradGuard no_grad;
  auto x = torch::randn({2, 4});
  auto h = F::silu(torch::matmul(x, emb->linear_1->weight.t()) + emb->linear_1->bias);
  PD_EXPECT_CLOSE(emb->forward(x),
                  torch::matmul(h, emb->linear_2->weight.t()) + emb->linear_2->bias, 1e-5,
                  "TimestepEmbedding");
}

}  // namespace
}  // namespace pangu_draw::nn
