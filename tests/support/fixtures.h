// fixtures.h: locate the reference fixtures ($PANGU_FIXTURES, default ../shared/fixtures),
// read their references, and compare tensors element by element as llm.c's check_tensor does.
#pragma once

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/safetensors.h"
#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::testing {

// The fixture root folder.
std::string fixtures_root();
// Names of fixture sets (folders with model/ and reference/), sorted: e.g. pangu, sd1, sd2, xl.
std::vector<std::string> fixture_sets();
// <root>/<set>/model
std::string model_dir(const std::string& set);
// Parsed JSON file.
nlohmann::json read_json(const std::string& path);
// <root>/<set>/reference/cases.json and tokens.json.
nlohmann::json cases(const std::string& set);
nlohmann::json tokens(const std::string& set);

class Reference {
 public:
  explicit Reference(const std::string& set);
  bool has(const std::string& key) const { return file_->contains(key); }
  torch::Tensor get(const std::string& key) const;  // float32
  std::vector<std::string> keys_with_prefix(const std::string& prefix) const;

 private:
  std::shared_ptr<const io::SafetensorsFile> file_;
};

// Asserts max|actual - expected| <= rel_tol * max|expected| (shapes must match); the failure
// message gives the max difference, its flat index and both values there.
::testing::AssertionResult close_to(const torch::Tensor& actual, const torch::Tensor& expected,
                                    double rel_tol, const std::string& what);
#define PD_EXPECT_CLOSE(actual, expected, rel_tol, what) \
  EXPECT_TRUE(::pangu_draw::testing::close_to((actual), (expected), (rel_tol), (what)))

// `options` of a host that trusts every model path its requests name (the tests' own files:
// LoadOptions::resolve_model).
inline pangu_draw::LoadOptions trusting(pangu_draw::LoadOptions options = {}) {
  options.resolve_model = [](const std::string& name) { return name; };
  return options;
}

// A fresh temporary directory under $TMPDIR, removed by the caller or left for inspection.
std::string temp_dir(const std::string& tag);

}  // namespace pangu_draw::testing
