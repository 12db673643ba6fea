#!/usr/bin/env python3
# make_threshold_reference.py: reference outputs of diffusers' dynamic thresholding
# (DDPMScheduler._threshold_sample, Imagen's rule) for tests/guidance/test_threshold_reference.cpp.
# Made with diffusers 0.25.1 + torch 2.15.0 (/work/pyref-sched). The data-range variant is the
# same diffusers function applied to x0 / R and scaled back by R (README, --dynamic-threshold-range).
# Run: python3 tests/guidance/make_threshold_reference.py  (writes tests/guidance/data/threshold.safetensors)
import os

import torch
from diffusers import DDPMScheduler
from safetensors.torch import save_file

out = {}
g = torch.Generator().manual_seed(7)
# Two samples of a 4x8x8 latent: one within a moderate range, one with a saturated region.
x0 = torch.randn(2, 4, 8, 8, generator=g) * torch.tensor([1.0, 3.0]).view(2, 1, 1, 1)
x0[1, :, :2, :] += 6.0
out["x0"] = x0
cases = {  # name: (ratio, sample_max_value, data range R)
    "p995_max1_r1": (0.995, 1.0, 1.0),
    "p90_max1p5_r1": (0.90, 1.5, 1.0),
    "p995_max1_r4": (0.995, 1.0, 4.0),
    "p90_max2_r4": (0.90, 2.0, 4.0),
}
for name, (ratio, smax, r) in cases.items():
    s = DDPMScheduler(thresholding=True, dynamic_thresholding_ratio=ratio, sample_max_value=smax)
    out[name] = s._threshold_sample(x0 / r) * r
here = os.path.dirname(os.path.abspath(__file__))
save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(here, "data", "threshold.safetensors"))
print({k: float(v.abs().max()) for k, v in out.items()})
