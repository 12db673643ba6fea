#!/usr/bin/env python3
# flop_split.py: a CFG UNet step's FLOPs by operator (convolutions, matrix products, attention),
# counted by torch.utils.flop_counter on diffusers' UNet built on the meta device (no weights,
# no arithmetic). With the per-operator times of `pangu-draw bench --profile` it gives each
# kernel family's GFLOP/s (docs/performance.md, "Where the time goes").
#
#   PYTHONPATH=<diffusers site> .venv/bin/python tools/perf/flop_split.py --model /tmp/pd-bench-sd15 -W 512 -H 512
import argparse
import collections

import torch
from torch.utils.flop_counter import FlopCounterMode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("-W", "--width", type=int, default=512)
    ap.add_argument("-H", "--height", type=int, default=512)
    args = ap.parse_args()
    import diffusers
    cfg = diffusers.UNet2DConditionModel.load_config(args.model, subfolder="unet")
    with torch.device("meta"):
        unet = diffusers.UNet2DConditionModel.from_config(cfg)
        h, w = args.height // 8, args.width // 8
        x = torch.empty(2, unet.config.in_channels, h, w)
        ctx = torch.empty(2, 77, unet.config.cross_attention_dim)
        t = torch.full((2,), 500.0)
        added = None
        if unet.config.addition_embed_type == "text_time":
            pooled = (unet.config.projection_class_embeddings_input_dim
                      - 6 * unet.config.addition_time_embed_dim)
            added = {"text_embeds": torch.empty(2, pooled), "time_ids": torch.empty(2, 6)}
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            unet(x, t, encoder_hidden_states=ctx, added_cond_kwargs=added)
    groups = collections.Counter()
    for op, flops in counter.get_flop_counts()["Global"].items():
        name = str(op).split(".")[-1] if "." in str(op) else str(op)
        # On the meta device SDPA runs its math fallback: its products are the bmm calls.
        key = ("convolution" if "convolution" in name else
               "attention (q k^T, p v)" if "bmm" in name or "attention" in name else
               "linear layers (mm, addmm)" if name in ("mm", "addmm") else name)
        groups[key] += flops
    total = sum(groups.values())
    for key, flops in groups.most_common():
        print(f"{key:34s} {flops / 1e9:9.1f} GFLOP {100 * flops / total:5.1f}%")
    print(f"{'total':34s} {total / 1e9:9.1f} GFLOP")


if __name__ == "__main__":
    main()
