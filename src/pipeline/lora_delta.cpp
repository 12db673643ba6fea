// lora_delta.cpp: the weight change of one adapter module per format (LyCORIS' documented math:
// LoRA / LoCon up @ down, LoHa's Hadamard product of two low-rank products, LoKr's Kronecker
// product), scaled by alpha / rank as kohya and LyCORIS do.
#include <sstream>

#include "core/error.h"
#include "pipeline/lora.h"

namespace pangu_draw::pipeline {

namespace {

std::string shape_text(at::IntArrayRef s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

struct Scaled {
  torch::Tensor delta;  // [out, ...]
  double scale = 1.0;
};

Scaled lora(const io::LoraModule& m, const torch::Tensor& down, const torch::Tensor& up,
            const std::string& what) {
  PD_CHECK(up.dim() >= 2 && down.dim() >= 2 && up.size(1) == down.size(0), Input,
           what << ": lora_up " << up.sizes() << " and lora_down " << down.sizes()
                << " do not share a rank; the file is damaged");
  PD_CHECK(up.dim() == 2 || up[0].numel() == up.size(1), Input,
           what << ": lora_up " << up.sizes() << " has a kernel; only 1x1 up convolutions (LoCon) "
                << "are supported");
  const int64_t rank = down.size(0);
  torch::Tensor d = up.flatten(1).mm(down.flatten(1));  // [out, in * kh * kw]
  if (down.dim() == 4) d = d.reshape({up.size(0), down.size(1), down.size(2), down.size(3)});
  return {d, m.alpha ? *m.alpha / static_cast<double>(rank) : 1.0};
}

Scaled loha(const io::LoraModule& m, const std::map<std::string, torch::Tensor>& t) {
  const torch::Tensor w1 = t.at("hada_w1_a").flatten(1).mm(t.at("hada_w1_b").flatten(1));
  const torch::Tensor w2 = t.at("hada_w2_a").flatten(1).mm(t.at("hada_w2_b").flatten(1));
  const int64_t rank = t.at("hada_w1_b").size(0);
  return {w1 * w2, m.alpha ? *m.alpha / static_cast<double>(rank) : 1.0};
}

// One Kronecker factor: whole ("lokr_w1") or the product of "<f>_a" [rows, r] and "<f>_b"
// [r, cols, (kh, kw)]; `rank` gets r for a product.
torch::Tensor lokr_factor(const std::map<std::string, torch::Tensor>& t, const std::string& f,
                          int64_t& rank) {
  auto whole = t.find(f);
  if (whole != t.end()) return whole->second;
  const torch::Tensor& a = t.at(f + "_a");
  const torch::Tensor& b = t.at(f + "_b");
  rank = b.size(0);
  std::vector<int64_t> shape = b.sizes().vec();
  shape[0] = a.size(0);
  return a.flatten(1).mm(b.flatten(1)).reshape(shape);
}

Scaled lokr(const io::LoraModule& m, const std::map<std::string, torch::Tensor>& t) {
  int64_t rank = 0;
  torch::Tensor w1 = lokr_factor(t, "lokr_w1", rank);
  torch::Tensor w2 = lokr_factor(t, "lokr_w2", rank);  // w2's rank wins, as LyCORIS' loaders
  while (w1.dim() < w2.dim()) w1 = w1.unsqueeze(-1);
  while (w2.dim() < w1.dim()) w2 = w2.unsqueeze(-1);
  // With neither factor a product LyCORIS sets alpha = rank: scale 1.
  const double scale = m.alpha && rank > 0 ? *m.alpha / static_cast<double>(rank) : 1.0;
  return {torch::kron(w1, w2), scale};
}

}  // namespace

torch::Tensor lora_delta(const io::LoraModule& m, at::IntArrayRef shape, torch::Device device,
                         const std::string& what) {
  std::map<std::string, torch::Tensor> t;
  for (const auto& [role, tensor] : m.tensors) t[role] = tensor.to(device, torch::kFloat);
  Scaled s;
  switch (m.kind) {
    case io::LoraKind::LoRA:
      s = lora(m, t.at("down"), t.at("up"), what);
      break;
    case io::LoraKind::LoHa:
      s = loha(m, t);
      break;
    case io::LoraKind::LoKr:
      s = lokr(m, t);
      break;
    case io::LoraKind::Full:
      s = {t.at("diff"), 1.0};
      break;
  }
  int64_t numel = 1;
  for (int64_t d : shape) numel *= d;
  PD_CHECK(!shape.empty() && s.delta.dim() >= 1 && s.delta.numel() == numel &&
               s.delta.size(0) == shape[0],
           Input,
           what << " changes a weight of shape " << shape_text(s.delta.sizes())
                << ", but that layer is " << shape_text(shape)
                << " in this model: a LoRA made for another architecture (say "
                << "SD 1.x vs SDXL); use one trained for this model");
  return s.delta.reshape(shape).mul(s.scale);
}

}  // namespace pangu_draw::pipeline
