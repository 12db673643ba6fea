// test_load_memory.cpp: loading builds each module directly in the requested dtype and streams
// every tensor from the file into it: a bf16 load never allocates a float32 copy of a weight,
// and a load allocates nothing beyond the module's own parameters. Every tensor allocation of
// this process goes through a counting CPU allocator (installed once, armed around each load).
#include <gtest/gtest.h>

#include <c10/core/CPUAllocator.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <mutex>
#include <set>
#include <vector>

#include "io/model_layout.h"
#include "io/safetensors.h"
#include "support/fixtures.h"
#include "text_encoders/clip_text.h"
#include "unet/controlnet.h"
#include "unet/unet_2d_condition.h"
#include "vae/autoencoder_kl.h"

namespace pangu_draw {
namespace {

namespace fx = testing;

// Records the size of every CPU allocation while armed; allocates through the default allocator.
class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* inner) : inner_(inner) {}

  c10::DataPtr allocate(size_t n) override {
    if (armed_) {
      std::lock_guard<std::mutex> lock(mutex_);
      sizes_.push_back(n);
    }
    return inner_->allocate(n);
  }
  c10::DeleterFnPtr raw_deleter() const override { return inner_->raw_deleter(); }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    inner_->copy_data(dest, src, count);
  }

  // The sizes of the allocations `fn` made.
  std::vector<size_t> record(const std::function<void()>& fn) {
    sizes_.clear();
    armed_ = true;
    fn();
    armed_ = false;
    return sizes_;
  }

  static CountingAllocator& instance() {
    static CountingAllocator* a = [] {
      auto* counting = new CountingAllocator(c10::GetDefaultCPUAllocator());
      c10::SetCPUAllocator(counting, /*priority=*/100);
      return counting;
    }();
    return *a;
  }

 private:
  c10::Allocator* inner_;
  std::atomic<bool> armed_{false};
  std::mutex mutex_;
  std::vector<size_t> sizes_;
};

struct Loaded {
  std::string what;
  torch::nn::Module* module;
  std::vector<size_t> allocations;
};

// What a load may allocate: the parameters and buffers themselves (plus 64 KiB of slack), all
// in `dtype`, and, in bf16, no buffer the size of a float32 copy of a weight of 1024 or more
// values. Returns what broke these rules.
std::vector<std::string> load_problems(const Loaded& l, torch::ScalarType dtype) {
  std::vector<std::string> problems;
  std::vector<torch::Tensor> tensors;
  for (const auto& p : l.module->parameters()) tensors.push_back(p);
  for (const auto& b : l.module->buffers()) tensors.push_back(b);
  size_t weight_bytes = 0;
  std::set<size_t> own_sizes, fp32_copy_sizes;
  for (const auto& t : tensors) {
    if (t.scalar_type() != dtype) problems.push_back(l.what + ": a weight is not in the dtype");
    weight_bytes += t.nbytes();
    own_sizes.insert(t.nbytes());
    if (t.numel() >= 1024) fp32_copy_sizes.insert(static_cast<size_t>(t.numel()) * 4);
  }
  size_t total = 0;
  for (size_t n : l.allocations) {
    total += n;
    if (dtype != torch::kFloat && !own_sizes.count(n) && fp32_copy_sizes.count(n)) {
      problems.push_back(l.what + ": allocated " + std::to_string(n) +
                         " bytes, a float32 copy of a weight");
    }
  }
  if (total > weight_bytes + (64u << 10)) {
    problems.push_back(l.what + ": the load allocated " + std::to_string(total) + " bytes for " +
                       std::to_string(weight_bytes) + " bytes of weights in " +
                       std::to_string(l.allocations.size()) + " allocations");
  }
  return problems;
}

void expect_lean_load(const Loaded& l, torch::ScalarType dtype) {
  const auto problems = load_problems(l, dtype);
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems.front();
}

// Each parameter holds its file tensor converted to the module's dtype.
void expect_file_values(torch::nn::Module& module, const io::WeightSource& source,
                        const std::string& what) {
  for (const auto& p : module.named_parameters()) {
    const auto expected = source.load(p.key(), p.value().scalar_type());
    EXPECT_TRUE(torch::equal(p.value(), expected)) << what << ": " << p.key();
  }
}

class LoadMemory : public ::testing::TestWithParam<torch::ScalarType> {};

TEST_P(LoadMemory, UNetAndControlNetAllocateOnlyTheirWeights) {
  const auto dtype = GetParam();
  auto& counter = CountingAllocator::instance();
  for (const auto& set : fx::fixture_sets()) {
    const auto layout = io::ModelLayout::open(fx::model_dir(set));
    unet::UNet2DConditionModel u{nullptr};
    const auto weights = layout.weights("unet");
    const auto sizes =
        counter.record([&] { u = unet::load_unet(layout.config("unet"), weights, dtype); });
    expect_lean_load({set + " unet", u.get(), sizes}, dtype);
    expect_file_values(*u, weights, set + " unet");
    const std::string control = fx::model_dir(set) + "/controlnet";
    if (!std::filesystem::exists(control)) continue;
    unet::ControlNetModel c{nullptr};
    const auto control_sizes =
        counter.record([&] { c = unet::load_controlnet(control, dtype); });
    expect_lean_load({set + " controlnet", c.get(), control_sizes}, dtype);
  }
}

TEST_P(LoadMemory, VaeAndTextEncodersAllocateOnlyTheirWeights) {
  const auto dtype = GetParam();
  auto& counter = CountingAllocator::instance();
  for (const auto& set : fx::fixture_sets()) {
    const auto layout = io::ModelLayout::open(fx::model_dir(set));
    vae::AutoencoderKL v{nullptr};
    const auto vae_weights = layout.weights("vae");
    const auto sizes =
        counter.record([&] { v = vae::load_vae(layout.config("vae"), vae_weights, dtype); });
    expect_lean_load({set + " vae", v.get(), sizes}, dtype);
    expect_file_values(*v, vae_weights, set + " vae");
    for (const char* folder : {"text_encoder", "text_encoder_2"}) {
      if (!layout.has(folder)) continue;
      text_encoders::CLIPTextModel e{nullptr};
      const auto weights = layout.weights(folder);
      const auto enc_sizes = counter.record(
          [&] { e = text_encoders::load_clip_text(layout.config(folder), weights, dtype); });
      expect_lean_load({set + " " + folder, e.get(), enc_sizes}, dtype);
      expect_file_values(*e, weights, set + " " + folder);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, LoadMemory, ::testing::Values(torch::kBFloat16, torch::kFloat),
                         [](const auto& info) {
                           return info.param == torch::kFloat ? "fp32" : "bf16";
                         });

// The rules above catch the old way of loading (a float32 module, then each weight converted to
// bf16): the test can fail.
TEST(LoadMemoryCheck, AFloat32ModuleConvertedToBf16IsCaught) {
  auto& counter = CountingAllocator::instance();
  const auto layout = io::ModelLayout::open(fx::model_dir(fx::fixture_sets().front()));
  vae::AutoencoderKL v{nullptr};
  const auto sizes = counter.record([&] {
    v = vae::load_vae(layout.config("vae"), layout.weights("vae"), torch::kFloat);
    v->to(torch::kBFloat16);
  });
  const auto problems = load_problems({"vae via float32", v.get(), sizes}, torch::kBFloat16);
  ASSERT_GE(problems.size(), 2u);
  EXPECT_NE(problems.front().find("a float32 copy of a weight"), std::string::npos)
      << problems.front();
  EXPECT_NE(problems.back().find("the load allocated"), std::string::npos) << problems.back();
}

}  // namespace
}  // namespace pangu_draw
