// Image editing through the public library API against diffusers' own pipelines: every case of
// the shared fixture's sd1/pipelines (txt2img seed parity, img2img, 4- and 9-channel inpainting)
// and of tests/pipeline/data (ancestral steps after the posterior samples, heun, outpainting),
// with the seed alone; then the paste-back, the plan compositions and the usage errors.
#include <gtest/gtest.h>

#include <map>

#include "support/editing_cases.h"
#include "support/fixtures.h"
#include "support/latents.h"
#include "support/sampling_cases.h"

namespace pt = pangu_draw::testing;
using pangu_draw::Pipeline;
using pangu_draw::Request;

namespace {

const Pipeline& pipeline_for(const std::string& model) {
  static std::map<std::string, Pipeline> loaded;
  auto it = loaded.find(model);
  if (it == loaded.end()) it = loaded.emplace(model, Pipeline::load(model, pt::trusting())).first;
  return it->second;
}

const pt::EditCase& find_case(const std::string& key) {
  static const auto all = pt::editing_cases();
  for (const auto& c : all) {
    if (c.key == key) return c;
  }
  throw std::runtime_error("no editing case " + key);
}

// [H, W, 3] float of an image's pixels.
torch::Tensor pixels(const pangu_draw::Image& img) {
  return torch::from_blob(const_cast<uint8_t*>(img.rgb.data()), {img.height, img.width, 3},
                          torch::kUInt8)
      .to(torch::kFloat);
}

class EditingParity : public ::testing::TestWithParam<pt::EditCase> {};

}  // namespace

TEST_P(EditingParity, MatchesDiffusersWithTheSeedAlone) {
  const auto& c = GetParam();
  Request r = pt::edit_request(c);
  r.return_latents = true;
  const auto result = pipeline_for(c.model).generate(r);
  const auto expected = pt::edit_reference(c, "latent");
  PD_EXPECT_CLOSE(pt::to_torch(result.latents.at(0))[0], expected, 1e-3, c.key + " latent");
  EXPECT_EQ(result.images.at(0).width, c.width);
  EXPECT_EQ(result.images.at(0).height, c.height);
  if (c.has_image) {
    EXPECT_LE(pt::image_diff_255(result.images.at(0), pt::edit_reference(c, "image")), 2.0)
        << c.key;
  }
}

INSTANTIATE_TEST_SUITE_P(Diffusers, EditingParity, ::testing::ValuesIn(pt::editing_cases()),
                         [](const auto& info) { return pt::edit_case_name(info.param); });

TEST(Editing, PasteBackKeepsTheOriginalPixelsOutsideTheMask) {
  const auto& c = find_case("inpaint4.dpmpp_2m.strength0.75");
  Request r = pt::edit_request(c);
  const auto plain = pipeline_for(c.model).generate(r).images.at(0);
  r.paste_back = true;
  const auto result = pipeline_for(c.model).generate(r);
  const auto mask = pixels(r.mask_image).select(2, 0) >= 128;  // white = repainted
  const auto keep = (~mask).unsqueeze(2).expand({-1, -1, 3});
  const auto repaint = mask.unsqueeze(2).expand({-1, -1, 3});
  const auto ours = pixels(result.images.at(0));
  ASSERT_GT(keep.sum().item<int64_t>(), 0);
  ASSERT_GT(repaint.sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(ours.masked_select(keep), pixels(r.init_image).masked_select(keep)));
  EXPECT_TRUE(torch::equal(ours.masked_select(repaint), pixels(plain).masked_select(repaint)));
  EXPECT_FALSE(
      torch::equal(pixels(plain).masked_select(keep), pixels(r.init_image).masked_select(keep)))
      << "without --paste-back the kept region is the VAE's reconstruction, not the original";
}

TEST(Editing, MaskBlurFeathersThePasteBackAndIsRecorded) {
  const auto& c = find_case("inpaint4.dpmpp_2m.strength0.75");
  Request r = pt::edit_request(c);
  r.paste_back = true;
  r.mask_blur = 2;
  const auto result = pipeline_for(c.model).generate(r);
  EXPECT_NE(result.parameters.at(0).find("Mask blur: 2"), std::string::npos)
      << result.parameters[0];
  EXPECT_NE(result.parameters.at(0).find("Denoising strength: 0.75"), std::string::npos);
  // Pixels more than 3 sigma (6 px) from any masked pixel keep the original exactly.
  auto mask =
      (pixels(r.mask_image).select(2, 0) >= 128).to(torch::kFloat).unsqueeze(0).unsqueeze(0);
  auto near = torch::max_pool2d(mask, {13, 13}, {1, 1}, {6, 6})[0][0] > 0;
  const auto far = (~near).unsqueeze(2).expand({-1, -1, 3});
  ASSERT_GT(far.sum().item<int64_t>(), 0);
  EXPECT_TRUE(torch::equal(pixels(result.images.at(0)).masked_select(far),
                           pixels(r.init_image).masked_select(far)));
}

TEST(Editing, ATimeDecoupledPlanOfOneModelGivesThePlainRun) {
  // Editing lives in the plan: the same UNet as structure and texture generator (hand-over at
  // t = 500, inside the img2img / inpainting steps) must give the one-expert run's numbers.
  for (const char* key : {"img2img.dpmpp_2m.strength0.8", "inpaint4.euler.strength1.0",
                          "inpaint9.euler.strength1.0"}) {
    const auto& c = find_case(key);
    Request plain = pt::edit_request(c);
    Request planned = plain;
    planned.texture_model_path = c.model;
    planned.switch_t = 500;
    const auto& pipe = pipeline_for(c.model);
    PD_EXPECT_CLOSE(pt::final_latent(pipe, planned), pt::final_latent(pipe, plain), 1e-5, key);
  }
}

TEST(Editing, ACoopExpertAtAnotherSizeGetsItsOwnInputs) {
  // A Coop-Diffusion partner at 128x128 (weight 0: it is evaluated through the pixel bridge every
  // step but adds nothing) gets the init image, mask and masked image at its own size; the
  // run's numbers stay the plain run's (euler draws nothing after the encodings).
  for (const char* key : {"inpaint4.euler.strength1.0", "inpaint9.euler.strength1.0"}) {
    const auto& c = find_case(key);
    Request plain = pt::edit_request(c);
    Request coop = plain;
    pangu_draw::Expert host, partner;
    partner.model_path = c.model;
    partner.weight = 0.0f;
    partner.width = partner.height = 128;
    coop.experts = {host, partner};
    const auto& pipe = pipeline_for(c.model);
    PD_EXPECT_CLOSE(pt::final_latent(pipe, coop), pt::final_latent(pipe, plain), 1e-6, key);
  }
}

TEST(Editing, BatchImagesAreTheRunsOfSeedPlusIndex) {
  const auto& c = find_case("img2img.euler_a.strength0.7");
  Request r = pt::edit_request(c);
  r.batch_count = 2;
  r.return_latents = true;
  const auto& pipe = pipeline_for(c.model);
  const auto both = pipe.generate(r);
  Request second = pt::edit_request(c);
  second.seed = c.seed + 1;
  PD_EXPECT_CLOSE(pt::to_torch(both.latents.at(1)), pt::final_latent(pipe, second), 0.0, "item 1");
  PD_EXPECT_CLOSE(pt::to_torch(both.latents.at(0))[0], pt::edit_reference(c, "latent"), 1e-3,
                  "item 0");
}

TEST(Editing, BadRequestsAreUsageErrorsNamingTheFlag) {
  const auto& c = find_case("inpaint4.euler.strength1.0");
  const Request good = pt::edit_request(c);
  struct Bad {
    std::function<void(Request&)> change;
    std::string needle;
  };
  const std::vector<Bad> cases = {
      {[](Request& r) { r.strength = 0.0f; }, "--strength"},
      {[](Request& r) { r.strength = 1.5f; }, "--strength"},
      {[](Request& r) { r.strength = std::nanf(""); }, "--strength"},
      {[](Request& r) { r.strength = 0.01f; }, "no step to run"},
      {[](Request& r) { r.init_image = {}; }, "--mask-image needs --init-image"},
      {[](Request& r) {
         r.mask_image.width = 32;
         r.mask_image.rgb.resize(32 * 64 * 3);
       },
       "same size"},
      {[](Request& r) {
         r.init_image.width = r.mask_image.width = 60;
         r.init_image.rgb.resize(60 * 64 * 3);
         r.mask_image.rgb.resize(60 * 64 * 3);
       },
       "multiples of 8"},
      {[](Request& r) { r.outpaint.left = 12; }, "--outpaint"},
      {[](Request& r) { r.outpaint.top = -8; }, "--outpaint"},
      {[](Request& r) { r.width = 128; }, "--width/--height"},
      {[](Request& r) { r.mask_blur = -1; }, "--mask-blur"},
      {[](Request& r) {
         r.mask_image = {};
         r.paste_back = true;
       },
       "--paste-back"},
  };
  const auto& pipe = pipeline_for(c.model);
  for (size_t i = 0; i < cases.size(); ++i) {
    Request r = good;
    cases[i].change(r);
    try {
      pipe.generate(r);
      ADD_FAILURE() << "case " << i << " was accepted";
    } catch (const pangu_draw::Error& e) {
      EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Usage) << i << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(cases[i].needle), std::string::npos)
          << i << ": " << e.what();
    }
  }
  // A 9-channel inpainting UNet needs a mask: the masked image is its input.
  Request no_mask = pt::edit_request(find_case("inpaint9.euler.strength1.0"));
  no_mask.mask_image = {};
  try {
    pipeline_for(find_case("inpaint9.euler.strength1.0").model).generate(no_mask);
    ADD_FAILURE() << "a 9-channel UNet without a mask was accepted";
  } catch (const pangu_draw::Error& e) {
    EXPECT_EQ(e.kind, pangu_draw::ErrorKind::Usage) << e.what();
    EXPECT_NE(std::string(e.what()).find("--mask-image"), std::string::npos) << e.what();
  }
}
