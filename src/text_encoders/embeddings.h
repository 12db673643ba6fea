// embeddings.h: textual-inversion embeddings read from safetensors bytes, in the layouts A1111
// loads: one tensor [n, dim] (or [dim]; "emb_params", a diffusers concept, any single name), or
// SDXL's pair "clip_l" [n, 768] + "clip_g" [n, 1280] for a model with two text encoders. Pickled
// files (.pt, .bin, .ckpt) are refused: no pickle is ever parsed.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace pangu_draw::text_encoders {

// An embedding file as a request carries it (pangu_draw::Embedding).
struct EmbeddingFile {
  std::string name;                                   // the prompt word it replaces
  std::shared_ptr<const std::vector<uint8_t>> bytes;  // the .safetensors file
};

struct TextualInversion {
  std::string name;
  std::vector<torch::Tensor> vectors;  // per text encoder: [n, width] float32 on the CPU
};

// Reads `file` for a model whose text encoders have `widths` (hidden sizes, in order).
// Error{Input} naming the embedding when the bytes are a pickle or not safetensors, when the
// tensors are not one of the layouts above, or when their widths or count do not fit the model
// (an SD 1.x embedding on SDXL and the like), saying what the model needs.
TextualInversion read_textual_inversion(const EmbeddingFile& file,
                                        const std::vector<int64_t>& widths);

}  // namespace pangu_draw::text_encoders
