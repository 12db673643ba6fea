// Full text-to-image runs through the public library API against the peers' references: every
// sampling case of every fixture set (cases.json), the final latent within 1e-3 of the reference
// latent's max magnitude and the decoded image within 2/255; the single-file checkpoint too.
#include <gtest/gtest.h>

#include <filesystem>

#include "io/safetensors.h"
#include "support/fixtures.h"
#include "support/latents.h"
#include "support/sampling_cases.h"

namespace fs = std::filesystem;
namespace pt = pangu_draw::testing;
using pangu_draw::Pipeline;

namespace {

struct RunOutcome {
  torch::Tensor latent;
  pangu_draw::Image image;
};

RunOutcome run_case(const Pipeline& pipe, const pt::SamplingCase& c, const std::string& dir) {
  (void)dir;
  auto request = pt::to_request(c);
  request.return_latents = true;
  auto result = pipe.generate(request);
  return {pt::to_torch(result.latents.at(0)), result.images.at(0)};
}

void expect_matches_reference(const RunOutcome& out, const pt::SamplingCase& c) {
  pt::Reference ref(c.set);
  PD_EXPECT_CLOSE(out.latent[0], ref.get(c.key + ".latent"), 1e-3, c.set + " " + c.key + " latent");
  EXPECT_LE(pt::image_diff_255(out.image, ref.get(c.key + ".image")), 2.0) << c.set << " " << c.key;
}

class SamplingParity : public ::testing::TestWithParam<pt::SamplingCase> {};

}  // namespace

TEST_P(SamplingParity, MatchesReference) {
  const auto& c = GetParam();
  auto pipe = Pipeline::load(pt::model_dir(c.set), pt::trusting());
  expect_matches_reference(run_case(pipe, c, pt::temp_dir("t2i")), c);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, SamplingParity, ::testing::ValuesIn(pt::sampling_cases()),
                         [](const auto& info) {
                           std::string name = info.param.set + "_" + info.param.key;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

TEST(SamplingParity, SingleFileCheckpointGivesTheFolderNumbers) {
  int checked = 0;
  for (const auto& c : pt::sampling_cases()) {
    const std::string single = pt::fixtures_root() + "/" + c.set + "/model_single_file.safetensors";
    if (!fs::exists(single) || !c.controlnet.empty()) continue;
    pangu_draw::LoadOptions options;
    options.config_dir = pt::model_dir(c.set);
    auto pipe = Pipeline::load(single, pt::trusting(options));
    expect_matches_reference(run_case(pipe, c, pt::temp_dir("t2i_single")), c);
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no fixture set has a single-file checkpoint";
}

TEST(Determinism, SameSeedSameImageDifferentSeedDifferentImage) {
  const auto set = pt::fixture_sets().front();
  auto pipe = Pipeline::load(pt::model_dir(set), pt::trusting());
  pangu_draw::Request r;
  r.prompt = "a red circle";
  r.steps = 3;
  r.seed = 11;
  r.batch_count = 2;
  auto a = pipe.generate(r);
  auto b = pipe.generate(r);
  ASSERT_EQ(a.images.size(), 2u);
  EXPECT_EQ(a.images[0].rgb, b.images[0].rgb);
  EXPECT_EQ(a.seeds, (std::vector<int64_t>{11, 12}));
  EXPECT_NE(a.images[0].rgb, a.images[1].rgb);
}
