// tensor_check.h: shape and finiteness checks with messages that name the tensor.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

namespace pangu_draw::core {

// Formats a shape as "[1, 4, 8, 8]".
std::string shape_str(at::IntArrayRef shape);

// Throws Error{kind} unless t has exactly `shape` (-1 matches any size).
void expect_shape(const torch::Tensor& t, const std::vector<int64_t>& shape,
                  const std::string& what);

// Throws Error{Runtime} naming `what` when t holds NaN or Inf.
void expect_finite(const torch::Tensor& t, const std::string& what);

}  // namespace pangu_draw::core
