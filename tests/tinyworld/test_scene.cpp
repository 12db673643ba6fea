// test_scene.cpp: TinyWorld sampling is deterministic and splits held-out combinations; captions
// in both languages; JSON ground truth round-trips; the committed held-out list is current.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <string>

#include "bench.h"
#include "render.h"
#include "scene.h"

namespace pangu_draw::tinyworld {
namespace {

TEST(TinyWorldScene, SamplingAndRenderingAreDeterministic) {
  for (uint64_t seed : {0ULL, 7ULL, 123456789ULL}) {
    const Scene a = sample_scene(seed, false), b = sample_scene(seed, false);
    EXPECT_TRUE(a == b);
    EXPECT_EQ(render(a).rgb, render(b).rgb);
  }
  EXPECT_FALSE(sample_scene(1, false) == sample_scene(2, false));
}

// Edge maps (ControlNet control images): white outlines on black that lie on the rendered
// objects, one closed outline per object (more objects, more edge pixels), nothing elsewhere.
TEST(TinyWorldScene, EdgeMapsOutlineTheRenderedObjects) {
  for (uint64_t seed = 0; seed < 40; ++seed) {
    Scene s = sample_scene(seed, true);
    const Image edges = render_edges(s), image = render(s);
    double bg[3];
    background_rgb(s.background, bg);
    int on = 0, on_object = 0;
    for (size_t p = 0; p < edges.rgb.size(); p += 3) {
      const uint8_t v = edges.rgb[p];
      ASSERT_TRUE(v == 0 || v == 255) << int(v);
      ASSERT_TRUE(edges.rgb[p + 1] == v && edges.rgb[p + 2] == v);
      if (v == 0) continue;
      ++on;
      double diff = 0;
      for (int k = 0; k < 3; ++k) diff = std::max(diff, std::abs(image.rgb[p + k] - bg[k]));
      on_object += diff > 10;
    }
    EXPECT_GT(on, 20) << seed;
    EXPECT_GE(on_object, on * 95 / 100) << seed;  // edges sit on the objects, not the background
    if (s.count < 3) {
      Scene more = s;
      more.count = s.count + 1;
      int more_on = 0;
      for (uint8_t v : render_edges(more).rgb) more_on += v == 255;
      EXPECT_GT(more_on, 3 * on) << seed;  // three channels per pixel
    }
  }
}

TEST(TinyWorldScene, HeldOutCombinationsNeverReachTraining) {
  std::set<std::string> train, heldout;
  auto key = [](const Scene& s) {
    return std::string(name(s.shape)) + name(s.colour) + name(s.position) + std::to_string(s.count);
  };
  for (uint64_t i = 0; i < 3000; ++i) train.insert(key(sample_scene(i, false)));
  for (const Scene& s : heldout_scenes(300)) {
    EXPECT_TRUE(is_heldout_combo(s));
    EXPECT_FALSE(s.lowres);
    heldout.insert(key(s));
  }
  for (const auto& k : heldout) EXPECT_EQ(train.count(k), 0u) << k;
  EXPECT_GT(heldout.size(), 20u);
}

TEST(TinyWorldScene, CoversEveryAttributeValue) {
  std::set<int> shapes, colours, textures, styles, counts, positions, lowres;
  for (uint64_t i = 0; i < 500; ++i) {
    const Scene s = sample_scene(i, false);
    shapes.insert(int(s.shape)), colours.insert(int(s.colour)), textures.insert(int(s.texture));
    styles.insert(int(s.style)), counts.insert(s.count), positions.insert(int(s.position));
    lowres.insert(s.lowres);
  }
  EXPECT_EQ(shapes.size(), size_t(kShapes));
  EXPECT_EQ(colours.size(), size_t(kColours));
  EXPECT_EQ(textures.size(), size_t(kTextures));
  EXPECT_EQ(styles.size(), size_t(kStyles));
  EXPECT_EQ(counts.size(), size_t(kMaxCount));
  EXPECT_EQ(positions.size(), size_t(kPositions));
  EXPECT_EQ(lowres.size(), 2u);
}

TEST(TinyWorldScene, CaptionsInEnglishAndChinese) {
  Scene s;
  s.shape = Shape::Circle, s.colour = Colour::Red, s.count = 2, s.position = Position::Left;
  s.size = Size::Small, s.texture = Texture::Striped, s.style = Style::Cartoon;
  EXPECT_EQ(caption_en(s),
            "cartoon style, two small red striped circles on the left, white background");
  EXPECT_EQ(caption_zh(s), "卡通风格，左边有两个小的红色条纹圆形，白色背景");
  EXPECT_EQ(caption_en(s, false), "two small red striped circles on the left, white background");
  s.count = 1, s.style = Style::Soft, s.shape = Shape::Triangle, s.position = Position::Top;
  EXPECT_EQ(caption_en(s).rfind("soft style, one small red striped triangle at the top", 0), 0u);
  EXPECT_EQ(caption_zh(s).rfind("柔和风格，上边有一个", 0), 0u);
}

TEST(TinyWorldScene, GroundTruthRoundTrips) {
  for (uint64_t i = 0; i < 50; ++i) {
    const Scene s = sample_scene(i, i % 2 == 0);
    EXPECT_TRUE(scene_from_json(to_json(s)) == s);
  }
  EXPECT_THROW(scene_from_json({{"shape", "hexagon"}}), Error);
}

TEST(TinyWorldScene, LowResolutionScenesAreUpscaledBlocks) {
  Scene s = sample_scene(3, false);
  s.lowres = true;
  const Image img = render(s, 64);
  ASSERT_EQ(img.width, 64);
  for (int y = 0; y < 64; y += 2)
    for (int x = 0; x < 64; x += 2)
      for (int c = 0; c < 3; ++c) {
        const auto at = [&](int xx, int yy) { return img.rgb[(yy * 64 + xx) * 3 + c]; };
        ASSERT_EQ(at(x, y), at(x + 1, y + 1));
      }
}

TEST(TinyWorldScene, CommittedHeldOutPromptsAreCurrent) {
  std::ifstream f(PD_HELDOUT_PROMPTS);
  ASSERT_TRUE(f) << PD_HELDOUT_PROMPTS;
  std::string line;
  int i = 0;
  const auto scenes = heldout_scenes(200);
  while (std::getline(f, line)) {
    ASSERT_LT(i, 200);
    EXPECT_EQ(nlohmann::json::parse(line), prompt_record(scenes[i], i)) << "line " << i;
    ++i;
  }
  EXPECT_EQ(i, 200);
}

}  // namespace
}  // namespace pangu_draw::tinyworld
