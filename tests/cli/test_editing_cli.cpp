// Image editing through the CLI as a process: every diffusers pipeline case (shared fixture and
// tests/pipeline/data) with --init-image / --strength / --mask-image / --outpaint and the seed
// alone; a batch line with the same keys; bad inputs give a clear error, the promised exit code
// and no output file.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/atomic_file.h"
#include "io/png.h"
#include "io/safetensors.h"
#include "support/cli_runner.h"
#include "support/editing_cases.h"
#include "support/fixtures.h"
#include "support/sampling_cases.h"

namespace fs = std::filesystem;
namespace pt = pangu_draw::testing;

namespace {

const pt::EditCase& find_case(const std::string& key) {
  static const auto all = pt::editing_cases();
  for (const auto& c : all) {
    if (c.key == key) return c;
  }
  throw std::runtime_error("no editing case " + key);
}

class CliEditingParity : public ::testing::TestWithParam<pt::EditCase> {};

}  // namespace

TEST_P(CliEditingParity, MatchesDiffusersWithTheSeedAlone) {
  const auto& c = GetParam();
  const auto dir = pt::temp_dir("cli_edit");
  auto args = pt::edit_cli_args(c);
  args.insert(args.end(), {"--output", dir + "/a.png", "--save-latent", dir + "/z.safetensors"});
  const auto o = pt::run_cli(args);
  ASSERT_EQ(o.code, 0) << o.output;
  const auto latent = pangu_draw::io::SafetensorsFile::open(dir + "/z.safetensors")->load("latent");
  PD_EXPECT_CLOSE(latent[0], pt::edit_reference(c, "latent"), 1e-3, c.key + " CLI latent");
  const auto img = pangu_draw::io::read_image(dir + "/a.png");
  EXPECT_EQ(img.width, c.width);
  EXPECT_EQ(img.height, c.height);
  if (c.has_image) {
    EXPECT_LE(pt::image_diff_255(img, pt::edit_reference(c, "image")), 2.0) << c.key;
  }
  const auto params =
      pangu_draw::io::png_text(pangu_draw::io::read_file(dir + "/a.png"), "parameters");
  EXPECT_NE(params.find("Seed: " + std::to_string(c.seed)), std::string::npos) << params;
  if (!c.init_image.empty()) {
    std::ostringstream strength;
    strength << "Denoising strength: " << c.strength;
    EXPECT_NE(params.find(strength.str()), std::string::npos) << params;
  }
}

INSTANTIATE_TEST_SUITE_P(Diffusers, CliEditingParity, ::testing::ValuesIn(pt::editing_cases()),
                         [](const auto& info) { return pt::edit_case_name(info.param); });

TEST(CliEditing, BatchLinesTakeTheEditingKeys) {
  const auto& c = find_case("inpaint4.dpmpp_2m.strength0.75");
  const auto dir = pt::temp_dir("cli_edit_batch");
  {
    std::ofstream f(dir + "/p.jsonl");
    f << R"({"prompt": ")" << c.prompt << R"(", "init_image": ")" << c.init_image
      << R"(", "mask_image": ")" << c.mask_image << R"(", "strength": )" << c.strength
      << R"(, "seed": )" << c.seed << R"(, "steps": )" << c.steps << R"(, "sampler": ")"
      << c.sampler << R"(", "cfg_scale": )" << c.cfg << "}\n";
    f << R"({"prompt": "x", "init_image": ")" << c.init_image
      << R"(", "outpaint": [16, 0, 16, 0], "strength": 1, "paste_back": true, "mask_blur": 2, "steps": 2})"
      << "\n";
  }
  const auto o = pt::run_cli({"batch", "--model", c.model, "--prompts", dir + "/p.jsonl",
                              "--output-dir", dir + "/out", "-q"});
  ASSERT_EQ(o.code, 0) << o.output;
  std::vector<fs::path> pngs;
  for (const auto& e : fs::directory_iterator(dir + "/out")) {
    if (e.path().extension() == ".png") pngs.push_back(e.path());
  }
  std::sort(pngs.begin(), pngs.end());
  ASSERT_EQ(pngs.size(), 2u);
  const auto first = pangu_draw::io::read_image(pngs[0].string());
  EXPECT_LE(pt::image_diff_255(first, pt::edit_reference(c, "image")), 2.0);
  const auto second = pangu_draw::io::read_image(pngs[1].string());
  EXPECT_EQ(second.width, 96);
  EXPECT_EQ(second.height, 64);
  const auto params =
      pangu_draw::io::png_text(pangu_draw::io::read_file(pngs[1].string()), "parameters");
  EXPECT_NE(params.find("Mask blur: 2"), std::string::npos) << params;
}

TEST(CliEditing, BadInputsGiveAClearErrorAnExitCodeAndNoFile) {
  const auto& c = find_case("inpaint4.euler.strength1.0");
  const auto dir = pt::temp_dir("cli_edit_bad");
  const std::string out = dir + "/x.png";
  { std::ofstream(dir + "/not_an_image.png") << "hello"; }
  const std::string small_mask = dir + "/small_mask.png";
  pangu_draw::Image m;
  m.width = m.height = 32;
  m.rgb.assign(32 * 32 * 3, 255);
  pangu_draw::io::write_png_file(small_mask, m, "", true);
  const std::string nine = find_case("inpaint9.euler.strength1.0").model;
  struct Bad {
    std::vector<std::string> args;
    int code;
    std::string needle;
    std::string model = "";  // "" = the 4-channel sd1 model
  };
  const std::vector<Bad> cases = {
      {{"--init-image", c.init_image, "--mask-image", small_mask}, 1, "same size"},
      {{"--init-image", dir + "/not_an_image.png"}, 2, "not_an_image.png"},
      {{"--init-image", c.init_image, "--mask-image", dir + "/not_an_image.png"},
       2,
       "not_an_image.png"},
      {{"--init-image", c.init_image, "--strength", "0"}, 1, "--strength"},
      {{"--init-image", c.init_image, "--strength", "1.5"}, 1, "--strength"},
      {{"--mask-image", c.mask_image}, 1, "--mask-image needs --init-image"},
      {{"--init-image", c.init_image, "--outpaint", "8,8"}, 1, "--outpaint"},
      {{"--init-image", c.init_image, "--outpaint", "4,0,0,0"}, 1, "multiple of 8"},
      {{"--init-image", c.init_image, "--paste-back"}, 1, "--paste-back"},
      {{"--init-image", c.init_image, "--width", "128"}, 1, "--width/--height"},
      {{"--init-image", c.init_image}, 1, "9-channel", nine},
      {{"--seed", "1"}, 1, "9-channel", nine},
  };
  for (const auto& b : cases) {
    std::vector<std::string> args = {"generate", "--model",  b.model.empty() ? c.model : b.model,
                                     "--prompt", "x",        "--steps",
                                     "2",        "--output", out};
    args.insert(args.end(), b.args.begin(), b.args.end());
    const auto o = pt::run_cli(args);
    EXPECT_EQ(o.code, b.code) << o.output;
    EXPECT_NE(o.output.find(b.needle), std::string::npos) << o.output;
    EXPECT_FALSE(fs::exists(out)) << "output left by " << b.args.back();
  }
}
