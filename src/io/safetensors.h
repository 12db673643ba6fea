// safetensors.h: a memory-mapped, bounds-checked safetensors reader and an atomic writer.
// Format: u64 little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
// then the raw little-endian tensor bytes.
#pragma once

#include <torch/torch.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace pangu_draw::io {

enum class DType { F32, F16, BF16, I64 };

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;  // byte offsets into the data section
  uint64_t end = 0;
};

class SafetensorsFile {
 public:
  // Maps the file and validates the whole header; Error{Input} naming the file on any defect.
  static std::shared_ptr<const SafetensorsFile> open(const std::string& path);
  // Parses an in-memory buffer (used by the fuzz target and tests).
  static std::shared_ptr<const SafetensorsFile> from_bytes(std::string bytes,
                                                           const std::string& origin);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  std::vector<std::string> names() const;
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Copies one tensor out of the file, converted to `dtype` (Error{Input} if unknown name).
  torch::Tensor load(const std::string& name, torch::ScalarType dtype = torch::kFloat) const;
  // One tensor's bytes where they lie, in the stored dtype, without a copy (a copy only when
  // the data is not aligned to its element size). Valid while this file is alive; never write
  // to it. io::WeightSource hands out views that keep the file alive.
  torch::Tensor view(const std::string& name) const;
  // Drops the pages of one tensor's bytes from this process's resident memory (they are read
  // from the file again if touched): a loader calls it after copying a tensor, so that a load
  // does not hold the whole mapped file next to the weights it built. No effect on from_bytes.
  void release(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  void parse_header();

  std::string path_;
  const uint8_t* base_ = nullptr;  // whole file
  size_t size_ = 0;
  size_t data_offset_ = 0;         // 8 + header length
  void* mapping_ = nullptr;        // mmap'ed region, or nullptr when owned_ holds the bytes
  std::string owned_;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

using NamedTensors = std::vector<std::pair<std::string, torch::Tensor>>;

// Serialises tensors (F32/F16/BF16/I64, stored in their own dtype) to safetensors bytes.
std::string safetensors_bytes(const NamedTensors& tensors,
                              const std::map<std::string, std::string>& metadata = {});

// Writes a safetensors file atomically, one tensor at a time (no in-memory copy of the file).
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {},
                      bool overwrite = true);

}  // namespace pangu_draw::io
