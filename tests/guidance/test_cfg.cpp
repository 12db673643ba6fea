// Tests for guidance math against independent element-wise computations.
#include <gtest/gtest.h>

#include "core/error.h"
#include "guidance/cfg.h"
#include "support/fixtures.h"

namespace g = pangu_draw::guidance;

TEST(Guidance, PlanSkipsUncondAtScaleOneAndCountsStyles) {
  EXPECT_FALSE(g::plan_branches({1.0, {}}).uncond);
  EXPECT_EQ(g::plan_branches({1.0, {}}).size(), 1);
  EXPECT_EQ(g::plan_branches({7.5, {}}).size(), 2);
  EXPECT_EQ(g::plan_branches({7.5, {4.0, 2.0}}).size(), 4);
}

TEST(Guidance, PlainCfgMatchesTheFormula) {
  auto u = torch::randn({2, 4, 3, 3}), c = torch::randn({2, 4, 3, 3});
  g::GuidanceScales s{6.0, {}};
  auto out = g::combine(torch::cat({u, c}), g::plan_branches(s), s);
  PD_EXPECT_CLOSE(out, u + 6.0 * (c - u), 1e-6, "cfg");
}

TEST(Guidance, StyleTermsAddOneEachAndZeroScaleIsPlainCfg) {
  auto u = torch::randn({1, 4, 2, 2}), c = torch::randn({1, 4, 2, 2});
  auto s1 = torch::randn({1, 4, 2, 2}), s2 = torch::randn({1, 4, 2, 2});
  g::GuidanceScales scales{5.0, {4.0, 0.5}};
  auto out = g::combine(torch::cat({u, c, s1, s2}), g::plan_branches(scales), scales);
  // Element-wise evaluation of eps = u + s (c - u) + s1 (style1 - c) + s2 (style2 - c).
  auto expect = torch::empty_like(u);
  auto U = u.flatten(), C = c.flatten(), S1 = s1.flatten(), S2 = s2.flatten(), E = expect.flatten();
  for (int64_t i = 0; i < U.numel(); ++i) {
    float v = U[i].item<float>() + 5.0f * (C[i].item<float>() - U[i].item<float>()) +
              4.0f * (S1[i].item<float>() - C[i].item<float>()) +
              0.5f * (S2[i].item<float>() - C[i].item<float>());
    E[i] = v;
  }
  PD_EXPECT_CLOSE(out, expect, 1e-5, "style cfg");
  g::GuidanceScales zero{5.0, {0.0}};
  auto with_zero = g::combine(torch::cat({u, c, s1}), g::plan_branches(zero), zero);
  g::GuidanceScales plain{5.0, {}};
  EXPECT_TRUE(torch::equal(with_zero, g::combine(torch::cat({u, c}), g::plan_branches(plain), plain)));
}

TEST(Guidance, DynamicThresholdClampsOnlyBeyondThePercentile) {
  auto x = torch::tensor({0.5f, -0.2f, 0.1f, 0.3f}).reshape({1, 4});
  EXPECT_TRUE(torch::allclose(g::dynamic_threshold(x, 0.995, 1.0), x));  // all within [-1, 1]
  auto big = torch::tensor({4.0f, -2.0f, 1.0f, 0.0f}).reshape({1, 4});
  auto y = g::dynamic_threshold(big, 1.0, 2.0);  // s = min(max|x|, 2) = 2
  EXPECT_TRUE(torch::allclose(y, torch::tensor({1.0f, -1.0f, 0.5f, 0.0f}).reshape({1, 4})));
  EXPECT_THROW(g::dynamic_threshold(big, 0.0, 2.0), pangu_draw::Error);
}
