// mindspore_ckpt.h: reader for MindSpore .ckpt checkpoints (the container of the released
// PanGu-Draw 3.0 weights) and a converter to an original-layout safetensors single file.
// Format (protobuf 2): Checkpoint{ repeated Value value = 1 },
// Value{ string tag = 1; TensorProto tensor = 2 },
// TensorProto{ repeated int64 dims = 1; string tensor_type = 2; bytes tensor_content = 3 }.
// Files exceed protobuf's 2 GB message limit, so the wire format is walked record by record
// over a memory map; a tensor split over several Values with the same tag is concatenated.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace pangu_draw::io {

struct MindSporeTensor {
  std::string name;                 // the tag as stored
  std::string type;                 // "Float32", "Float16", "BFloat16", "Int64", ...
  std::vector<int64_t> dims;
  std::vector<std::pair<const uint8_t*, uint64_t>> parts;  // content slices in file order
  uint64_t bytes() const;
};

class MindSporeCheckpoint {
 public:
  // Maps and indexes the file; Error{Input} naming the file and byte offset on malformed data.
  static std::unique_ptr<MindSporeCheckpoint> open(const std::string& path);
  // Parses an in-memory copy (tests, fuzzing).
  static std::unique_ptr<MindSporeCheckpoint> from_bytes(std::string bytes, const std::string& origin);
  ~MindSporeCheckpoint();

  const std::vector<MindSporeTensor>& tensors() const { return tensors_; }

 private:
  MindSporeCheckpoint() = default;
  void parse();

  std::string path_;
  const uint8_t* base_ = nullptr;
  size_t size_ = 0;
  void* mapping_ = nullptr;
  std::string owned_;
  std::vector<MindSporeTensor> tensors_;
};

// MindSpore -> PyTorch parameter names: norm gamma/beta -> weight/bias, embedding_table ->
// weight, the "._backbone" infix removed. Keys otherwise keep their (sgm / ldm) layout.
std::string torch_name_of(const std::string& mindspore_name);

// Writes every tensor to a safetensors file under its PyTorch name (dtype kept, or cast to
// `cast` when it is F32/F16/BF16). Returns the number of tensors written.
size_t convert_mindspore_to_safetensors(const MindSporeCheckpoint& ckpt, const std::string& out_path,
                                        const std::string& cast = "");

}  // namespace pangu_draw::io
