// latents.h: public <-> LibTorch tensors for tests, and a run's final latent through the public
// API (Request::return_latents). Header-only: only tests that link the library include it.
#pragma once

#include <torch/torch.h>

#include "pangu_draw/pangu_draw.h"

namespace pangu_draw::testing {

inline torch::Tensor to_torch(const Tensor& t) {
  return torch::from_blob(const_cast<float*>(t.data.data()), t.shape, torch::kFloat).clone();
}

inline Tensor from_torch(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat).contiguous();
  Tensor out;
  out.shape = c.sizes().vec();
  out.data.assign(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return out;
}

// The final latent of a one-image run of `r` (latents asked for here).
inline torch::Tensor final_latent(const Pipeline& pipe, Request r) {
  r.return_latents = true;
  r.batch_count = 1;
  return to_torch(pipe.generate(r).latents.at(0));
}

}  // namespace pangu_draw::testing
