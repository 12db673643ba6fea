// tensor_check.cpp: shape and finiteness checks that name the tensor in their error, and shape
// formatting.
#include "core/tensor_check.h"

#include <sstream>

#include "core/error.h"

namespace pangu_draw::core {

std::string shape_str(at::IntArrayRef shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

void expect_shape(const torch::Tensor& t, const std::vector<int64_t>& shape,
                  const std::string& what) {
  bool ok = t.dim() == static_cast<int64_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i) {
    ok = shape[i] < 0 || t.size(static_cast<int64_t>(i)) == shape[i];
  }
  PD_CHECK(ok, Input, what << ": expected shape " << shape_str(shape) << ", got "
                           << shape_str(t.sizes()));
}

void expect_finite(const torch::Tensor& t, const std::string& what) {
  PD_CHECK(torch::isfinite(t).all().item<bool>(), Runtime,
           what << " contains NaN or Inf values; try --dtype fp32 or a lower --cfg-scale");
}

}  // namespace pangu_draw::core
