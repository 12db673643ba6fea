// Tests that the branches of one guided UNet call (negative prompt, prompt, style prompts) read
// A1111 syntax with the request's options and share one sequence length: the shorter ones end
// in the empty chunk's context (the Python reference's, tests/text_encoders/data).
#include <gtest/gtest.h>

#include "pipeline/denoiser.h"
#include "text_encoders/prompt_fixtures.h"

namespace pl = pangu_draw::pipeline;
using namespace pangu_draw::testing::prompts;

namespace {

const nlohmann::json& find_case(const std::string& key) {
  for (const auto& c : references()["cases"]) {
    if (c["key"] == key) return c;
  }
  throw std::runtime_error("no reference case " + key);
}

torch::Tensor context_of(const std::string& key) {
  return reference_tensors().load(key + ".context");
}

double rel_err(const torch::Tensor& a, const torch::Tensor& e) {
  return ((a - e).abs().max() / e.abs().max()).item<double>();
}

}  // namespace

TEST(PromptBranches, ShorterBranchesArePaddedWithTheEmptyChunk) {
  pl::ModelBundle model;
  model.conditioner = conditioner("sd1");
  const auto& neg = find_case("sd1.embedding_neg");  // 1 chunk, with the embedding
  const auto& pos = find_case("sd1.three_chunks");   // 3 chunks
  const auto& style = find_case("sd1.two_chunks");   // 2 chunks
  const auto opts = options_for(neg, *model.conditioner);
  const auto g = pl::guided_conditioning(model, pos["prompt"], neg["prompt"], {style["prompt"]},
                                         {7.5, {4.0}}, 64, 64, opts);
  ASSERT_EQ(g.batched.context.sizes(), (std::vector<int64_t>{3, 231, 32}));
  const auto empty = context_of("sd1.empty");
  EXPECT_LT(
      rel_err(g.batched.context[0], torch::cat({context_of("sd1.embedding_neg"), empty, empty})),
      1e-4);
  EXPECT_LT(rel_err(g.batched.context[1], context_of("sd1.three_chunks")), 1e-4);
  EXPECT_LT(rel_err(g.batched.context[2], torch::cat({context_of("sd1.two_chunks"), empty})), 1e-4);
}

TEST(PromptBranches, TwoEncodersKeepThePooledVectorOfTheFirstChunk) {
  pl::ModelBundle model;
  model.conditioner = conditioner("xl");
  const auto g = pl::guided_conditioning(model, find_case("xl.two_chunks")["prompt"], "", {},
                                         {5.0, {}}, 64, 64);
  ASSERT_EQ(g.batched.context.sizes(), (std::vector<int64_t>{2, 154, 96}));
  const auto empty = context_of("xl.empty");
  EXPECT_LT(rel_err(g.batched.context[0], torch::cat({empty, empty})), 1e-4);
  EXPECT_LT(rel_err(g.batched.context[1], context_of("xl.two_chunks")), 1e-4);
  EXPECT_LT(rel_err(g.batched.pooled[0], reference_tensors().load("xl.empty.pooled")), 1e-4);
  EXPECT_LT(rel_err(g.batched.pooled[1], reference_tensors().load("xl.two_chunks.pooled")), 1e-4);
  EXPECT_EQ(g.batched.time_ids.size(0), 2);
}
