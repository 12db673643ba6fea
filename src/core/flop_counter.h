// flop_counter.h: counts the floating-point operations of the LibTorch calls made while a
// FlopCounter is alive (a counting pass): convolutions and matrix products, from their shapes.
#pragma once

#include <ATen/record_function.h>

#include <atomic>
#include <cstdint>

namespace pangu_draw::core {

// While alive, every aten::convolution, mm, addmm, bmm, baddbmm and fused scaled-dot-product
// attention call adds 2 * multiply-adds to flops(), from its argument shapes. Element-wise ops (norms, softmax, activations) are not
// counted: they are < 2% of a diffusion UNet's FLOPs and run at memory speed. Not reentrant:
// one counter at a time per process (Error{Runtime} otherwise).
class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;

  int64_t flops() const;

 private:
  at::CallbackHandle handle_ = 0;
};

// The FLOPs of one call, from the op name and its inputs (0 for ops not counted).
int64_t flops_of_call(const char* op, c10::ArrayRef<const c10::IValue> inputs);

}  // namespace pangu_draw::core
