// Tests of the benchmark's measuring tools: the FLOP-counting pass (exact counts for conv,
// linear and batched products), the per-operator profile, peak RSS, and the built-in published
// architectures.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>

#include "api/bench_models.h"
#include "core/error.h"
#include "core/flop_counter.h"
#include "core/memory.h"
#include "core/op_profile.h"
#include "pipeline/bench_configs.h"
#include "unet/unet_config.h"

namespace pc = pangu_draw::core;

TEST(FlopCounter, CountsConvolutionsAndMatrixProductsExactly) {
  torch::InferenceMode guard;
  auto x = torch::randn({2, 4, 8, 8});
  auto w = torch::randn({6, 4, 3, 3});
  auto a = torch::randn({2, 5, 7});
  auto lin = torch::nn::Linear(7, 3);
  pc::FlopCounter counter;
  torch::conv2d(x, w, {}, 1, 1);  // 2 * (2*6*8*8 outputs) * (4*9)
  EXPECT_EQ(counter.flops(), 2 * (2 * 6 * 8 * 8) * (4 * 9));
  const int64_t after_conv = counter.flops();
  torch::conv2d(x, w, {}, 2, 1);  // stride 2: 4x4 outputs
  EXPECT_EQ(counter.flops() - after_conv, 2 * (2 * 6 * 4 * 4) * (4 * 9));
  const int64_t before_linear = counter.flops();
  lin->forward(a);  // [10, 7] x [7, 3]
  EXPECT_EQ(counter.flops() - before_linear, 2 * 10 * 7 * 3);
  const int64_t before_bmm = counter.flops();
  torch::matmul(a, torch::randn({2, 7, 9}));  // 2 x [5, 7] x [7, 9]
  EXPECT_EQ(counter.flops() - before_bmm, 2 * 2 * 5 * 7 * 9);
}

TEST(FlopCounter, CountsNothingOutsideItsLifetimeAndRefusesNesting) {
  torch::InferenceMode guard;
  auto a = torch::randn({16, 16});
  {
    pc::FlopCounter counter;
    EXPECT_THROW(pc::FlopCounter second, pangu_draw::Error);
    torch::mm(a, a);
    EXPECT_EQ(counter.flops(), 2 * 16 * 16 * 16);
  }
  pc::FlopCounter fresh;
  torch::relu(a);
  EXPECT_EQ(fresh.flops(), 0);
}

namespace {

const pc::OpTime* find_op(const std::vector<pc::OpTime>& ops, const std::string& name) {
  for (const auto& op : ops) {
    if (op.name == name) return &op;
  }
  return nullptr;
}

}  // namespace

TEST(OpProfile, CountsEachOperatorsCallsAndSplitsNestedTime) {
  torch::InferenceMode guard;
  auto a = torch::randn({256, 256});
  auto w = torch::randn({64, 256});
  auto b = torch::randn({64});
  torch::relu(a);  // before the profile: not counted
  std::vector<pc::OpTime> ops;
  const auto t0 = std::chrono::steady_clock::now();
  {
    pc::OpProfile profile;
    EXPECT_THROW(pc::OpProfile second, pangu_draw::Error);
    for (int i = 0; i < 3; ++i) torch::mm(a, a);
    torch::linear(a, w, b);  // aten::linear calls aten::addmm: nested
    ops = profile.result();
    torch::relu(a);  // after result(): not counted
  }
  const std::chrono::duration<double> wall = std::chrono::steady_clock::now() - t0;
  const auto* mm = find_op(ops, "aten::mm");
  const auto* linear = find_op(ops, "aten::linear");
  const auto* addmm = find_op(ops, "aten::addmm");
  ASSERT_NE(mm, nullptr);
  ASSERT_NE(linear, nullptr);
  ASSERT_NE(addmm, nullptr);
  EXPECT_EQ(mm->calls, 3);
  EXPECT_EQ(linear->calls, 1);
  EXPECT_EQ(addmm->calls, 1);
  EXPECT_EQ(find_op(ops, "aten::relu"), nullptr);
  double total = 0.0;
  for (size_t i = 0; i < ops.size(); ++i) {
    EXPECT_GE(ops[i].self_s, 0.0) << ops[i].name;
    if (i > 0) {
      EXPECT_GE(ops[i - 1].self_s, ops[i].self_s);  // largest first
    }
    total += ops[i].self_s;
  }
  // Self times partition the profiled calls' time: nested time is not counted twice.
  EXPECT_LE(total, wall.count());
  pc::OpProfile again;  // the profile ended with result(): a new one may start
}

TEST(Memory, PeakRssFollowsAllocations) {
  const int64_t now = pc::current_rss_bytes();  // read first: the peak can only be higher
  const int64_t before = pc::peak_rss_bytes();
  EXPECT_GT(now, 0);
  EXPECT_GE(before, now);
  {
    auto big = torch::ones({64, 1024, 1024});  // 256 MiB, touched
    EXPECT_GE(pc::peak_rss_bytes(), before + 200 * 1024 * 1024 - 1);
  }
  if (pc::reset_peak_rss()) {  // the 256 MiB were returned: the reset peak is below them
    EXPECT_LT(pc::peak_rss_bytes(), before + 200 * 1024 * 1024);
  }
}

TEST(BenchConfigs, PublishedConfigsParseThroughFromJson) {
  for (const auto& name : pangu_draw::pipeline::builtin_arch_names()) {
    const auto arch = pangu_draw::pipeline::builtin_arch(name);
    const auto c =
        pangu_draw::unet::UNetConfig::from_json(pangu_draw::io::JsonConfig(arch.unet, name));
    EXPECT_EQ(c.block_out_channels.front(), 320) << name;
  }
  const auto xl = pangu_draw::unet::UNetConfig::from_json(
      pangu_draw::io::JsonConfig(pangu_draw::pipeline::builtin_arch("sdxl").unet, "sdxl"));
  EXPECT_EQ(xl.transformer_layers_per_block, (std::vector<int64_t>{1, 2, 10}));
  EXPECT_EQ(xl.num_attention_heads, (std::vector<int64_t>{5, 10, 20}));
  EXPECT_EQ(xl.cross_attention_dim, 2048);
  EXPECT_THROW(pangu_draw::pipeline::builtin_arch("sd3"), pangu_draw::Error);
}

// SD 1.5 has 859.52 M (UNet) + 83.65 M (VAE) + 123.06 M (CLIP-L text) parameters; built in
// bf16 so the test holds 2 GiB, not 4.
TEST(BenchConfigs, Sd15RandomModelHasThePublishedParameterCount) {
  auto m = pangu_draw::api::build_random_models(pangu_draw::pipeline::builtin_arch("sd15"),
                                                torch::kBFloat16);
  EXPECT_NEAR(m.params_millions, 859.52 + 83.65 + 123.06, 0.1);
  EXPECT_EQ(m.unet->parameters().front().scalar_type(), torch::kBFloat16);
  EXPECT_EQ(m.context.sizes(), (std::vector<int64_t>{1, 77, 768}));
  EXPECT_FALSE(m.pooled.defined());
  EXPECT_EQ(torch::get_default_dtype(), caffe2::TypeMeta::Make<float>());
}
