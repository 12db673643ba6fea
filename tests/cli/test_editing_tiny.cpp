// Editing with the embedded model (models/tiny) through the CLI, judged by the TinyWorld checker:
// inpainting repaints one object of a rendered scene from a new prompt (the checker sees the new
// shape and colour, the rest of the picture is kept), outpainting extends a scene (the checker
// still sees one object where it was, on the same background). These are the README's examples;
// with $PD_EDITING_EXAMPLE_OUT set the pictures are left there for docs/images.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "checker.h"
#include "io/png.h"
#include "render.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"

namespace pt = pangu_draw::testing;
namespace tw = pangu_draw::tinyworld;
using pangu_draw::Image;

namespace {

std::string out_dir(const std::string& tag) {
  const char* keep = std::getenv("PD_EDITING_EXAMPLE_OUT");
  if (keep && *keep) {
    std::filesystem::create_directories(keep);
    return keep;
  }
  return pt::temp_dir(tag);
}

const uint8_t* pixel(const Image& img, int x, int y) {
  return &img.rgb[(size_t(y) * img.width + x) * 3];
}

Image crop(const Image& img, int x0, int y0, int w, int h) {
  Image out;
  out.width = w;
  out.height = h;
  for (int y = y0; y < y0 + h; ++y) {
    for (int x = x0; x < x0 + w; ++x)
      out.rgb.insert(out.rgb.end(), pixel(img, x, y), pixel(img, x, y) + 3);
  }
  return out;
}

// White over the bounding box (plus `margin`) of the pixels that differ from the top-left
// (background) pixel, black elsewhere.
Image object_mask(const Image& img, int margin) {
  int x0 = img.width, y0 = img.height, x1 = -1, y1 = -1;
  const uint8_t* bg = pixel(img, 0, 0);
  for (int y = 0; y < img.height; ++y) {
    for (int x = 0; x < img.width; ++x) {
      const uint8_t* p = pixel(img, x, y);
      if (std::abs(p[0] - bg[0]) + std::abs(p[1] - bg[1]) + std::abs(p[2] - bg[2]) <= 30) continue;
      x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
    }
  }
  Image mask{img.width, img.height, std::vector<uint8_t>(img.rgb.size(), 0)};
  for (int y = std::max(0, y0 - margin); y <= std::min(img.height - 1, y1 + margin); ++y) {
    for (int x = std::max(0, x0 - margin); x <= std::min(img.width - 1, x1 + margin); ++x) {
      std::fill_n(&mask.rgb[(size_t(y) * img.width + x) * 3], 3, uint8_t{255});
    }
  }
  return mask;
}

std::vector<std::string> tiny_args(const std::string& prompt, const std::string& out) {
  return {"generate", "--model", PD_TINY_MODEL, "--prompt",   prompt, "--steps",
          "20",       "--seed",  "1",           "--strength", "1",    "--paste-back",
          "--output", out,       "--overwrite", "-q"};
}

}  // namespace

TEST(TinyEditing, InpaintingRepaintsTheObjectAndKeepsTheRest) {
  tw::Scene scene;
  scene.shape = tw::Shape::Triangle;
  scene.colour = tw::Colour::Yellow;
  scene.size = tw::Size::Large;
  scene.position = tw::Position::Bottom;
  const Image picture = tw::render(scene, 64);
  const tw::Detection before = tw::check(picture);
  ASSERT_EQ(before.shape, tw::Shape::Triangle);
  const std::string dir = out_dir("tiny_inpaint");
  pangu_draw::io::write_png_file(dir + "/inpaint_scene.png", picture, "", true);
  const Image mask = object_mask(picture, 4);
  pangu_draw::io::write_png_file(dir + "/inpaint_mask.png", mask, "", true);
  auto args =
      tiny_args("cartoon style, one large blue plain circle at the bottom, white background",
                dir + "/inpaint_result.png");
  args.insert(args.end(), {"--init-image", dir + "/inpaint_scene.png", "--mask-image",
                           dir + "/inpaint_mask.png"});
  const auto o = pt::run_cli(args);
  ASSERT_EQ(o.code, 0) << o.output;
  const Image result = pangu_draw::io::read_image(dir + "/inpaint_result.png");
  const tw::Detection after = tw::check(result);
  EXPECT_EQ(after.count, 1);
  EXPECT_EQ(after.shape, tw::Shape::Circle) << tw::to_json(after);  // repainted as asked
  EXPECT_EQ(after.colour, tw::Colour::Blue) << tw::to_json(after);
  EXPECT_EQ(after.position, before.position) << tw::to_json(after);  // where it was
  EXPECT_EQ(after.background, before.background) << tw::to_json(after);
  size_t kept = 0, changed = 0;
  for (size_t i = 0; i < picture.rgb.size(); ++i) {
    if (mask.rgb[i]) continue;
    ++kept;
    changed += result.rgb[i] != picture.rgb[i];
  }
  EXPECT_GT(kept, picture.rgb.size() / 2);
  EXPECT_EQ(changed, 0u) << "--paste-back keeps every pixel outside the mask";
}

TEST(TinyEditing, OutpaintingExtendsTheSceneAroundTheObject) {
  tw::Scene scene;
  scene.colour = tw::Colour::Red;
  scene.background = tw::Background::Gray;
  scene.size = tw::Size::Large;
  scene.position = tw::Position::Left;
  const Image picture = crop(tw::render(scene, 64), 0, 16, 48, 32);  // the object and some grey
  const std::string dir = out_dir("tiny_outpaint");
  pangu_draw::io::write_png_file(dir + "/outpaint_scene.png", picture, "", true);
  auto args = tiny_args("cartoon style, one large red plain circle on the left, gray background",
                        dir + "/outpaint_result.png");
  args.insert(args.end(), {"--init-image", dir + "/outpaint_scene.png", "--outpaint", "0,8,32,8"});
  const auto o = pt::run_cli(args);
  ASSERT_EQ(o.code, 0) << o.output;
  const Image result = pangu_draw::io::read_image(dir + "/outpaint_result.png");
  ASSERT_EQ(result.width, 80);
  ASSERT_EQ(result.height, 48);
  const tw::Detection after = tw::check(result);
  EXPECT_EQ(after.count, 1) << "the new area holds no new object: " << tw::to_json(after);
  EXPECT_EQ(after.shape, tw::Shape::Circle) << tw::to_json(after);
  EXPECT_EQ(after.colour, tw::Colour::Red) << tw::to_json(after);
  EXPECT_EQ(after.position, tw::Position::Left) << tw::to_json(after);
  EXPECT_EQ(after.background, tw::Background::Gray) << tw::to_json(after);
  EXPECT_EQ(crop(result, 0, 8, 48, 32).rgb, picture.rgb)
      << "--paste-back keeps the original picture";
}
