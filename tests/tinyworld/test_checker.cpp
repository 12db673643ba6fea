// test_checker.cpp: the acceptance test of the TinyWorld checker: >= 99 % per attribute on
// generator ground truth (training and held-out scenes); and it does not see objects in noise.
#include <gtest/gtest.h>

#include "checker.h"
#include "render.h"
#include "scene.h"

namespace pangu_draw::tinyworld {
namespace {

void expect_accurate(bool heldout, uint64_t first_seed, int n) {
  std::array<int, kCategories> correct{};
  for (int i = 0; i < n; ++i) {
    const Scene s = sample_scene(first_seed + i, heldout);
    const auto m = matches(check(render(s, 64)), s);
    for (int k = 0; k < kCategories; ++k) correct[k] += m[k];
  }
  for (int k = 0; k < kCategories; ++k)
    EXPECT_GE(correct[k], 0.99 * n) << kCategoryNames[k] << ": " << correct[k] << "/" << n;
}

TEST(TinyWorldChecker, AtLeast99PercentPerAttributeOnTrainingScenes) {
  expect_accurate(false, 500000, 2000);
}

TEST(TinyWorldChecker, AtLeast99PercentPerAttributeOnHeldOutScenes) {
  expect_accurate(true, 1000000000ULL, 1000);
}

TEST(TinyWorldChecker, WorksAtOtherSizes) {
  int ok = 0;
  for (int i = 0; i < 200; ++i) {
    const Scene s = sample_scene(700000 + i, false);
    const auto m = matches(check(render(s, 128)), s);
    ok += m[0] && m[1] && m[3] && m[4] && m[6] && m[7];
  }
  EXPECT_GE(ok, 196);
}

TEST(TinyWorldChecker, NoiseIsNotAScene) {
  Rng rng(5);
  Image noise;
  noise.width = noise.height = 64;
  for (int i = 0; i < 64 * 64 * 3; ++i) noise.rgb.push_back(static_cast<uint8_t>(rng.below(256)));
  const Detection d = check(noise);
  EXPECT_TRUE(d.count < 1 || d.count > kMaxCount) << d.count;
  Image flat = noise;
  std::fill(flat.rgb.begin(), flat.rgb.end(), 250);
  EXPECT_EQ(check(flat).count, 0);
  EXPECT_THROW(check(Image{}), Error);
}

}  // namespace
}  // namespace pangu_draw::tinyworld
