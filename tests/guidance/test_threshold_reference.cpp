// test_threshold_reference.cpp: guidance::dynamic_threshold against diffusers' own thresholding
// (DDPMScheduler._threshold_sample; tests/guidance/make_threshold_reference.py ->
// tests/guidance/data/threshold.safetensors), in pixel units (R = 1) and in latent units (R = 4),
// and the default range of a run: latents within +-R pass unchanged.
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include "guidance/cfg.h"
#include "io/safetensors.h"
#include "support/fixtures.h"

namespace g = pangu_draw::guidance;

namespace {

std::shared_ptr<const pangu_draw::io::SafetensorsFile> reference() {
  return pangu_draw::io::SafetensorsFile::open(std::string(PD_GUIDANCE_DATA_DIR) + "/threshold.safetensors");
}

}  // namespace

TEST(DynamicThreshold, MatchesDiffusersInPixelAndLatentUnits) {
  auto ref = reference();
  const auto x0 = ref->load("x0");
  struct Case {
    const char* name;
    double percentile, max_value, range;
  };
  for (const Case& c : {Case{"p995_max1_r1", 0.995, 1.0, 1.0}, Case{"p90_max1p5_r1", 0.90, 1.5, 1.0},
                        Case{"p995_max1_r4", 0.995, 1.0, 4.0}, Case{"p90_max2_r4", 0.90, 2.0, 4.0}}) {
    PD_EXPECT_CLOSE(g::dynamic_threshold(x0, c.percentile, c.max_value, c.range), ref->load(c.name), 1e-6,
                    c.name);
  }
}

TEST(DynamicThreshold, LatentRangeLeavesOrdinaryLatentsAlone) {
  // Unit-variance latents within +-kLatentDataRange are what a VAE makes of real images: the
  // default latent range must not touch them (R = 1 would clip them to +-1).
  auto gen = at::detail::createCPUGenerator(3);
  auto z = torch::randn({1, 4, 16, 16}, gen).clamp(-3.5, 3.5);
  EXPECT_TRUE(torch::equal(g::dynamic_threshold(z, 0.995, 1.0, g::kLatentDataRange), z));
  EXPECT_FALSE(torch::allclose(g::dynamic_threshold(z, 0.995, 1.0, 1.0), z));
  EXPECT_THROW(g::dynamic_threshold(z, 0.995, 1.0, 0.0), pangu_draw::Error);
}
