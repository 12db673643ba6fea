// flop_counter.cpp: a RecordFunction callback that turns convolution and matrix-product calls
// into FLOPs (2 per multiply-add), the way profilers' "with_flops" count them.
#include "core/flop_counter.h"

#include <cstring>

#include "core/error.h"

namespace pangu_draw::core {

namespace {

std::atomic<int64_t> g_flops{0};
std::atomic<bool> g_active{false};

std::vector<int64_t> sizes_of(const c10::IValue& v) {
  if (!v.isTensor()) return {};
  return v.toTensor().sizes().vec();
}

int64_t int_at(const c10::IValue& v, size_t i, int64_t fallback) {
  if (!v.isIntList()) return fallback;
  const auto list = v.toIntVector();
  if (list.empty()) return fallback;
  return list[std::min(i, list.size() - 1)];
}

// aten::convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
// groups): output elements x (input channels per group x kernel elements) multiply-adds.
int64_t conv_flops(c10::ArrayRef<const c10::IValue> in) {
  if (in.size() < 9) return 0;
  const auto x = sizes_of(in[0]);
  const auto w = sizes_of(in[1]);
  if (x.size() < 3 || w.size() != x.size()) return 0;
  const bool transposed = in[6].isBool() && in[6].toBool();
  int64_t macs_per_out = 1;
  for (size_t d = 1; d < w.size(); ++d) macs_per_out *= w[d];  // C_in/groups x kernel
  int64_t out_elems = x[0] * (transposed ? w[1] * (in[8].isInt() ? in[8].toInt() : 1) : w[0]);
  for (size_t d = 2; d < x.size(); ++d) {
    const int64_t k = w[d], s = int_at(in[3], d - 2, 1), p = int_at(in[4], d - 2, 0),
                  dil = int_at(in[5], d - 2, 1);
    out_elems *= transposed ? x[d] : (x[d] + 2 * p - dil * (k - 1) - 1) / s + 1;
  }
  if (transposed) macs_per_out = w[0] / (in[8].isInt() ? in[8].toInt() : 1);
  for (size_t d = 2; transposed && d < w.size(); ++d) macs_per_out *= w[d];
  return 2 * out_elems * macs_per_out;
}

// [.., m, k] x [.., k, n]: 2 * batch * m * k * n.
int64_t matmul_flops(const c10::IValue& a, const c10::IValue& b) {
  const auto x = sizes_of(a);
  const auto y = sizes_of(b);
  if (x.size() < 2 || y.size() < 2) return 0;
  int64_t batch = 1;
  for (size_t d = 0; d + 2 < x.size(); ++d) batch *= x[d];
  return 2 * batch * x[x.size() - 2] * x.back() * y.back();
}

// q [.., N, d], k [.., M, d], v [.., M, dv]: q k^T and (scores) v, 2 * batch * N * M * (d + dv).
int64_t attention_flops(const c10::IValue& q, const c10::IValue& k, const c10::IValue& v) {
  const auto x = sizes_of(q);
  const auto y = sizes_of(k);
  const auto z = sizes_of(v);
  if (x.size() < 2 || y.size() < 2 || z.size() < 2) return 0;
  int64_t batch = 1;
  for (size_t d = 0; d + 2 < x.size(); ++d) batch *= x[d];
  return 2 * batch * x[x.size() - 2] * y[y.size() - 2] * (x.back() + z.back());
}

// The fused scaled-dot-product-attention kernels (CPU flash; CUDA flash, memory-efficient,
// cuDNN). SDPA's math fallback is counted through the bmm calls it makes instead.
bool is_fused_attention(const char* op) {
  for (const char* name : {"aten::_scaled_dot_product_flash_attention_for_cpu",
                           "aten::_scaled_dot_product_flash_attention",
                           "aten::_scaled_dot_product_efficient_attention",
                           "aten::_scaled_dot_product_cudnn_attention"}) {
    if (std::strcmp(op, name) == 0) return true;
  }
  return false;
}

std::unique_ptr<at::ObserverContext> on_call(const at::RecordFunction& fn) {
  g_flops.fetch_add(flops_of_call(fn.name(), fn.inputs()), std::memory_order_relaxed);
  return nullptr;
}

}  // namespace

int64_t flops_of_call(const char* op, c10::ArrayRef<const c10::IValue> in) {
  if (std::strcmp(op, "aten::convolution") == 0) return conv_flops(in);
  if (std::strcmp(op, "aten::mm") == 0 || std::strcmp(op, "aten::bmm") == 0) {
    return in.size() >= 2 ? matmul_flops(in[0], in[1]) : 0;
  }
  if (std::strcmp(op, "aten::addmm") == 0 || std::strcmp(op, "aten::baddbmm") == 0) {
    return in.size() >= 3 ? matmul_flops(in[1], in[2]) : 0;
  }
  if (is_fused_attention(op)) return in.size() >= 3 ? attention_flops(in[0], in[1], in[2]) : 0;
  return 0;
}

FlopCounter::FlopCounter() {
  bool expected = false;
  PD_CHECK(g_active.compare_exchange_strong(expected, true), Runtime,
           "a FlopCounter is already counting in this process: count one pass at a time");
  g_flops = 0;
  handle_ = at::addGlobalCallback(at::RecordFunctionCallback(&on_call)
                                      .needsInputs(true)
                                      .scopes({at::RecordScope::FUNCTION}));
}

FlopCounter::~FlopCounter() {
  at::removeCallback(handle_);
  g_active = false;
}

int64_t FlopCounter::flops() const { return g_flops.load(); }

}  // namespace pangu_draw::core
