#!/usr/bin/env python3
"""Writes the small LoRA and embedding files the recipe tests (test_recipes.cpp) run with
models/tiny, in the formats Civitai recipes use:

  tests/cli/data/recipes/loras/tiny_style.safetensors
      kohya LoRA (lora_unet_* / lora_te_* keys, .lora_down / .lora_up / .alpha, F16 as kohya
      saves them) of rank 4 on the attention projections of models/tiny's UNet (down_blocks.1,
      mid_block, up_blocks.1) and on every layer of its text encoder (q/k/v/out_proj, fc1/fc2).
  tests/cli/data/recipes/embeddings/tiny_neg.safetensors
      A1111 textual inversion: {"emb_params": [2, 96]} F32 (2 vectors of the text encoder's width).

The values are random (seeded): the tests check that a recipe naming these files runs through
--from-png exactly as the same settings given as flags, not what the LoRA draws. Shapes come from
models/tiny (UNet cross_attention_dim 96, block widths 64/64/96; text encoder hidden 96,
intermediate 384, 5 layers). Plain Python 3 (no packages): run it from the repository root.
"""
import json
import os
import random
import struct

RANK = 4
ALPHA = 2.0
OUT = os.path.join("tests", "cli", "data", "recipes")


def safetensors(path, tensors, metadata=None):
    """tensors: name -> (dtype 'F16'|'F32', shape, flat list of floats)."""
    header, blobs, offset = {}, [], 0
    for name in sorted(tensors):
        dtype, shape, values = tensors[name]
        fmt = "<%d%s" % (len(values), "e" if dtype == "F16" else "f")
        blob = struct.pack(fmt, *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def lora_pair(rng, tensors, key, out_features, in_features, scale):
    tensors[key + ".lora_down.weight"] = ("F16", [RANK, in_features],
                                          [rng.gauss(0, 0.2) for _ in range(RANK * in_features)])
    tensors[key + ".lora_up.weight"] = ("F16", [out_features, RANK],
                                        [rng.gauss(0, scale) for _ in range(out_features * RANK)])
    tensors[key + ".alpha"] = ("F16", [], [ALPHA])


def unet_keys():
    """(kohya key, out, in) for the attention projections of models/tiny's UNet."""
    blocks = [("down_blocks_1_attentions_%d" % a, 64) for a in (0, 1)]
    blocks += [("mid_block_attentions_0", 96), ("up_blocks_1_attentions_0", 64)]
    keys = []
    for block, width in blocks:
        for t in (0, 1):
            for attn, ctx in (("attn1", width), ("attn2", 96)):
                base = "lora_unet_%s_transformer_blocks_%d_%s_" % (block, t, attn)
                keys += [(base + "to_q", width, width), (base + "to_k", width, ctx),
                         (base + "to_v", width, ctx), (base + "to_out_0", width, width)]
    return keys


def text_encoder_keys():
    keys = []
    for layer in range(5):
        base = "lora_te_text_model_encoder_layers_%d_" % layer
        keys += [(base + "self_attn_%s_proj" % p, 96, 96) for p in ("q", "k", "v", "out")]
        keys += [(base + "mlp_fc1", 384, 96), (base + "mlp_fc2", 96, 384)]
    return keys


def main():
    rng = random.Random(19)
    tensors = {}
    for key, out_f, in_f in unet_keys():
        lora_pair(rng, tensors, key, out_f, in_f, 0.3)
    for key, out_f, in_f in text_encoder_keys():
        lora_pair(rng, tensors, key, out_f, in_f, 0.3)
    safetensors(os.path.join(OUT, "loras", "tiny_style.safetensors"), tensors,
                {"ss_network_module": "networks.lora", "ss_network_dim": str(RANK),
                 "ss_network_alpha": str(ALPHA)})
    emb = [rng.gauss(0, 0.5) for _ in range(2 * 96)]
    safetensors(os.path.join(OUT, "embeddings", "tiny_neg.safetensors"), {"emb_params": ("F32", [2, 96], emb)})


if __name__ == "__main__":
    main()
