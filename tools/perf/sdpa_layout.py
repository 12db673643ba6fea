#!/usr/bin/env python3
# sdpa_layout.py: the micro-benchmark behind attention.cpp's contiguous heads: torch's
# scaled_dot_product_attention on [2, 8, 4096, d] with q/k/v as the projections' strided view
# ([B, T, heads, d] transposed) vs contiguous, best of 3 (docs/performance.md). The engine's own
# figure is `pangu-draw bench --profile` (SDPA self time per UNet step).
#   .venv/bin/python tools/perf/sdpa_layout.py
import time

import torch
import torch.nn.functional as F


def best(fn, n=3):
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


torch.set_num_threads(2)
for dtype in (torch.bfloat16, torch.float32):
    for d in (40, 64, 80):
        b, h, n = 2, 8, 4096
        q, k, v = (torch.randn(b, n, h, d).to(dtype).transpose(1, 2) for _ in range(3))
        strided = best(lambda: F.scaled_dot_product_attention(q, k, v))
        qc, kc, vc = q.contiguous(), k.contiguous(), v.contiguous()
        dense = best(lambda: F.scaled_dot_product_attention(qc, kc, vc))
        print(f"{dtype} d={d}: strided {strided:.3f} s, contiguous {dense:.3f} s")
