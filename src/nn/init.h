// init.h: random initialisation of the engine's layers (nn/layers.h, nn/group_norm.h), which are
// constructed uninitialised: training from scratch and random-weight benchmarks call it.
#pragma once

#include <torch/torch.h>

#include <cstdint>

namespace pangu_draw::nn {

// torch.nn's default initialisation for every layer under `module` (the module itself included),
// in module order, from a generator seeded with `seed` (not torch's global one):
//   Linear, Conv2d: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform with
//   a = sqrt(5)), Embedding: weight ~ N(0, 1), LayerNorm and GroupNorm: weight 1, bias 0.
// Values are drawn in float32 on the CPU and converted into each parameter, so one seed gives the
// same weights (up to rounding) in every dtype and on every device. Error{Runtime} naming the
// parameter when a parameter belongs to no layer this function knows (it would stay garbage).
void init_parameters(torch::nn::Module& module, uint64_t seed);

}  // namespace pangu_draw::nn
