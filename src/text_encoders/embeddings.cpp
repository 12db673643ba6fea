// embeddings.cpp: textual-inversion files -> per-encoder vectors, with A1111's layout rules and
// clear errors for pickles and for embeddings made for another model.
#include "text_encoders/embeddings.h"

#include <sstream>

#include "core/error.h"
#include "core/tensor_check.h"
#include "io/safetensors.h"

namespace pangu_draw::text_encoders {

namespace {

// Pickle protocol 2+ starts with 0x80; torch.save's zip archives with "PK".
bool looks_pickled(const std::vector<uint8_t>& b) {
  return (!b.empty() && b[0] == 0x80) || (b.size() >= 2 && b[0] == 'P' && b[1] == 'K');
}

std::string widths_str(const std::vector<int64_t>& widths) {
  std::ostringstream s;
  for (size_t i = 0; i < widths.size(); ++i) s << (i ? " and " : "") << widths[i];
  return s.str();
}

// [n, width] from a stored tensor: [dim] -> [1, dim], [..., dim] -> [-1, dim] (A1111's reshape).
torch::Tensor as_vectors(const io::SafetensorsFile& f, const std::string& key,
                         const std::string& who) {
  torch::Tensor t = f.load(key, torch::kFloat);
  PD_CHECK(t.dim() >= 1 && t.numel() > 0, Input,
           who << ": tensor '" << key << "' is " << core::shape_str(t.sizes())
               << "; an embedding holds [vectors, width]");
  return t.dim() == 1 ? t.unsqueeze(0) : t.reshape({-1, t.size(-1)});
}

void check_width(const torch::Tensor& v, int64_t width, const std::string& who,
                 const std::string& key, const std::vector<int64_t>& widths) {
  PD_CHECK(v.size(1) == width, Input,
           who << ": '" << key << "' has vectors of width " << v.size(1)
               << " but this model's text "
               << "encoder" << (widths.size() > 1 ? "s take " : " takes ") << widths_str(widths)
               << ": the embedding was made for another model family");
}

}  // namespace

TextualInversion read_textual_inversion(const EmbeddingFile& file,
                                        const std::vector<int64_t>& widths) {
  const std::string who = "embedding '" + file.name + "'";
  PD_CHECK(!file.name.empty(), Input, "an embedding needs a name (the prompt word it stands for)");
  PD_CHECK(file.bytes && !file.bytes->empty(), Input, who << ": the file is empty");
  PD_CHECK(!looks_pickled(*file.bytes), Input,
           who << ": the file is a pickle (.pt/.bin/.ckpt); pickles can run code and are never "
               << "loaded: convert it to .safetensors");
  const auto f =
      io::SafetensorsFile::from_bytes(std::string(file.bytes->begin(), file.bytes->end()), who);
  const auto names = f->names();
  TextualInversion out;
  out.name = file.name;
  if (f->contains("clip_l") && f->contains("clip_g")) {
    PD_CHECK(widths.size() == 2, Input,
             who << ": an SDXL embedding (clip_l + clip_g) needs a model with two text encoders; "
                 << "this one has " << widths.size() << " (width " << widths_str(widths) << ")");
    out.vectors = {as_vectors(*f, "clip_l", who), as_vectors(*f, "clip_g", who)};
    check_width(out.vectors[0], widths[0], who, "clip_l", widths);
    check_width(out.vectors[1], widths[1], who, "clip_g", widths);
    PD_CHECK(out.vectors[0].size(0) == out.vectors[1].size(0), Input,
             who << ": clip_l has " << out.vectors[0].size(0) << " vectors but clip_g "
                 << out.vectors[1].size(0) << "; they must match");
    return out;
  }
  PD_CHECK(names.size() == 1, Input,
           who << ": holds " << names.size() << " tensors; an embedding is one tensor [vectors, "
               << "width] (e.g. 'emb_params') or an SDXL pair 'clip_l' + 'clip_g'");
  PD_CHECK(widths.size() == 1, Input,
           who << ": a single-tensor embedding fits a model with one text encoder; this one has "
               << widths.size() << " and needs 'clip_l' + 'clip_g' vectors of widths "
               << widths_str(widths));
  out.vectors = {as_vectors(*f, names[0], who)};
  check_width(out.vectors[0], widths[0], who, names[0], widths);
  return out;
}

}  // namespace pangu_draw::text_encoders
