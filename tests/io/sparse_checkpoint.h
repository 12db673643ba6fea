// sparse_checkpoint.h: writes full-size safetensors checkpoints whose data region is a sparse
// file (ftruncate: reads as zeros, takes no disk) from a shape listing of tests/io/data, with a
// few tensors given real values, for architecture detection and key-map tests at full size.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace pangu_draw::testing {

// name -> shape, in the order of the listing file (tests/io/data/ldm_shapes_<set>.txt:
// "name d0,d1,..." per line, '#' comments; a scalar has an empty shape).
using ShapeListing = std::map<std::string, std::vector<int64_t>>;
ShapeListing read_shape_listing(const std::string& path);

// tests/io/data/canonical_shapes_<set>.txt: component -> canonical name -> shape.
std::map<std::string, ShapeListing> read_canonical_listing(const std::string& path);

struct SparseCheckpoint {
  ShapeListing shapes;                             // every tensor, zeros unless in `values`
  std::string dtype = "F32";                       // F32 | F16 for every tensor
  std::map<std::string, torch::Tensor> values;     // tensors written with these values (and shapes)
  std::map<std::string, std::string> metadata;     // __metadata__
};

// Writes `ckpt` to `path`; returns the file's logical size in bytes.
uint64_t write_sparse_checkpoint(const std::string& path, const SparseCheckpoint& ckpt);

// tests/io/data/<name>
std::string io_test_data(const std::string& name);

}  // namespace pangu_draw::testing
