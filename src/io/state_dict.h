// state_dict.h: named weights for one component (a view of a safetensors file under the
// component's canonical, diffusers-layout names) and the strict loader that fills a module.
// Tensors go from the file's mapping straight into the module's parameters: one conversion
// (dtype and device) per tensor, and the file's pages are let go as each tensor is copied.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace pangu_draw::io {

// How one canonical tensor is read from its file: the file key, optionally a block of rows
// (one of q/k/v in a fused in_proj_weight), a transpose, and a reshape (1x1 conv -> linear).
struct WeightEntry {
  std::string key;
  int64_t row_begin = 0;
  int64_t row_count = -1;        // -1: all rows
  bool transpose = false;        // 2-D tensors only, applied after the row slice
  std::vector<int64_t> reshape;  // empty: keep the shape
};

class WeightSource {
 public:
  WeightSource() = default;
  // Every tensor of `file` whose name starts with `prefix`, named without the prefix.
  WeightSource(std::shared_ptr<const SafetensorsFile> file, const std::string& prefix = "");
  // Explicit canonical name -> file key table (e.g. from key_map_ldm).
  WeightSource(std::shared_ptr<const SafetensorsFile> file,
               std::map<std::string, WeightEntry> canonical_to_file);

  const std::string& path() const;
  std::vector<std::string> names() const;  // canonical names
  bool contains(const std::string& name) const { return keys_.count(name) != 0; }
  const WeightEntry& entry(const std::string& name) const;
  std::vector<int64_t> shape(const std::string& name) const;
  // A new tensor in `dtype` on `device`, converted from the file in one step.
  torch::Tensor load(const std::string& name, torch::ScalarType dtype = torch::kFloat,
                     torch::Device device = torch::kCPU) const;
  // Copies `name` into `target` (same shape; any dtype, device and layout), converting on the way,
  // then lets the file's pages for it go (SafetensorsFile::release).
  void read_into(const std::string& name, torch::Tensor& target) const;
  // The source restricted to names under `prefix` ("controlnet_cond_embedding."), renamed
  // without it.
  WeightSource sub(const std::string& prefix) const;

 private:
  // The tensor as it lies in the file (no copy; kept alive with the file), sliced, transposed
  // and reshaped as its entry says.
  torch::Tensor view(const std::string& name) const;

  std::shared_ptr<const SafetensorsFile> file_;
  std::map<std::string, WeightEntry> keys_;
};

struct LoadReport {
  std::vector<std::string> unexpected;  // in the file, not in the module (logged, not fatal)
};

// Fills every parameter and buffer of `module` from `source`. A tensor already in `dtype` on
// `device` (a module built with nn::ParamOptions{dtype, device}) is filled in place: the load
// allocates nothing. Any other is replaced by a new tensor in `dtype` on `device`.
// All missing and misshapen tensors are reported together in one Error{Input} that names the
// file and `component`. Names ending in one of `ignored_suffixes` are never "unexpected".
LoadReport load_into(torch::nn::Module& module, const WeightSource& source,
                     const std::string& component, torch::ScalarType dtype = torch::kFloat,
                     torch::Device device = torch::kCPU,
                     const std::vector<std::string>& ignored_suffixes = {});

}  // namespace pangu_draw::io
