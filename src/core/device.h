// device.h: where a run computes: parsing --device / LoadOptions::device, the default compute
// dtype per device, and what this build and machine offer (for --version).
#pragma once

#include <torch/torch.h>

#include <string>

namespace pangu_draw::core {

// "auto" (CUDA when a GPU is visible, else CPU), "cpu", "cuda" or "cuda:N". Error{Usage} for
// another spelling; Error{Runtime} when CUDA is asked for and this build or machine has none.
torch::Device parse_device(const std::string& name);

// The dtype a run computes in when the caller asks for "auto": float32 on the CPU; on CUDA
// bfloat16 where the GPU supports it, else float16.
torch::ScalarType default_dtype(const torch::Device& device);

// "LibTorch 2.15.0; CUDA 13.2 compiled in; devices: cpu, cuda:0 (NVIDIA H200)".
std::string runtime_description();

}  // namespace pangu_draw::core
