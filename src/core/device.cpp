// device.cpp: device parsing, per-device default dtype, and the runtime description.
#include "core/device.h"

#include <ATen/Context.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <sstream>

#include "core/error.h"

namespace pangu_draw::core {

torch::Device parse_device(const std::string& name) {
  if (name.empty() || name == "auto") {
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  }
  if (name == "cpu") return torch::kCPU;
  const bool cuda = name == "cuda" || name.rfind("cuda:", 0) == 0;
  PD_CHECK(cuda, Usage, "unknown device '" << name << "': use auto, cpu, cuda or cuda:N");
  int index = 0;
  if (name.size() > 5) {
    const std::string digits = name.substr(5);
    PD_CHECK(!digits.empty() && digits.size() < 4 &&
                 digits.find_first_not_of("0123456789") == std::string::npos,
             Usage, "device '" << name << "': N in cuda:N must be a GPU number such as 0");
    index = std::stoi(digits);
  }
  PD_CHECK(at::hasCUDA(), Runtime,
           "device '" << name << "': this build of pangu-draw has no CUDA support or sees no GPU ("
                      << runtime_description() << "); use --device cpu");
  const int count = static_cast<int>(torch::cuda::device_count());
  PD_CHECK(index < count, Runtime,
           "device '" << name << "': only " << count << " CUDA device(s) are visible; use cuda:0"
                      << (count > 1 ? " .. cuda:" + std::to_string(count - 1) : std::string()));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

torch::ScalarType default_dtype(const torch::Device& device) {
  if (!device.is_cuda()) return torch::kFloat;
  // Compute capability >= 8.0 (Ampere on) runs bf16 convolutions natively.
  return at::detail::getCUDAHooks().supportsBFloat16ConvolutionWithCuDNNv8() ? torch::kBFloat16
                                                                            : torch::kHalf;
}

std::string runtime_description() {
  std::ostringstream os;
  os << "LibTorch " << TORCH_VERSION;
  // The hooks are registered by libtorch_cuda when it is linked in (CUDA compiled in).
  const long v = at::detail::getCUDAHooks().hasCUDART() ? at::detail::getCUDAHooks().versionCUDART() : 0;
  if (v > 0) {
    os << "; CUDA " << v / 1000 << "." << (v % 1000) / 10 << " compiled in";
  } else {
    os << "; CPU only";
  }
  os << "; devices: cpu";
  const int count = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
  for (int i = 0; i < count; ++i) os << ", cuda:" << i;
  return os.str();
}

}  // namespace pangu_draw::core
