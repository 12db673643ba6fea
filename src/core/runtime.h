// runtime.h: process-wide compute settings: thread count and the compute dtype.
#pragma once

#include <torch/torch.h>

#include <string>

namespace pangu_draw::core {

// Sets intra-op threads (0 = $OMP_NUM_THREADS when set, else all cores); returns the count in use.
int configure_threads(int threads);

// "fp32" -> kFloat, "bf16" -> kBFloat16; anything else is a usage error.
torch::ScalarType parse_dtype(const std::string& name);

}  // namespace pangu_draw::core
