// Tests for the strict module loader: all missing and misshapen tensors in one message.
#include <gtest/gtest.h>

#include "core/error.h"
#include "io/state_dict.h"

using pangu_draw::Error;
using pangu_draw::io::SafetensorsFile;
using pangu_draw::io::WeightSource;

namespace {
struct TinyImpl : torch::nn::Module {
  TinyImpl() {
    fc = register_module("fc", torch::nn::Linear(3, 2));
    norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({2})));
  }
  torch::nn::Linear fc{nullptr};
  torch::nn::LayerNorm norm{nullptr};
};
}  // namespace

TEST(StateDict, LoadsByNameWithPrefixAndConvertsDtype) {
  auto w = torch::randn({2, 3});
  auto bytes = pangu_draw::io::safetensors_bytes({{"m.fc.weight", w.to(torch::kHalf)},
                                                  {"m.fc.bias", torch::ones({2})},
                                                  {"m.norm.weight", torch::ones({2})},
                                                  {"m.norm.bias", torch::zeros({2})},
                                                  {"m.extra", torch::zeros({1})}});
  WeightSource src(SafetensorsFile::from_bytes(bytes, "mem"), "m.");
  TinyImpl tiny;
  auto report = pangu_draw::io::load_into(tiny, src, "tiny");
  EXPECT_TRUE(torch::equal(tiny.fc->weight, w.to(torch::kHalf).to(torch::kFloat)));
  EXPECT_EQ(tiny.fc->weight.scalar_type(), torch::kFloat);
  ASSERT_EQ(report.unexpected.size(), 1u);
  EXPECT_EQ(report.unexpected[0], "extra");
}

TEST(StateDict, ReportsAllMissingAndMisshapenTogether) {
  auto bytes = pangu_draw::io::safetensors_bytes(
      {{"fc.weight", torch::zeros({3, 3})}, {"norm.weight", torch::ones({2})}});
  WeightSource src(SafetensorsFile::from_bytes(bytes, "model.safetensors"));
  TinyImpl tiny;
  try {
    pangu_draw::io::load_into(tiny, src, "tiny");
    FAIL() << "loaded a model with missing tensors";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("model.safetensors"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fc.bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("norm.bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fc.weight is [3, 3], the model needs [2, 3]"), std::string::npos) << msg;
  }
}
