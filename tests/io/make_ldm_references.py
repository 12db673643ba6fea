#!/usr/bin/env python3
"""make_ldm_references.py: reference data for the ldm (single-file) key map tests of tests/io.

Made with diffusers 0.31.0, transformers 4.46.3, torch 2.15.0 (CPU), Python 3.11:
    python3 -m venv V && V/bin/pip install diffusers==0.31.0 transformers==4.46.3 safetensors numpy torch
    V/bin/python tests/io/make_ldm_references.py

It writes, under tests/io/data/:
1. l1_model/: a tiny SD-1-style diffusers folder whose UNet and ControlNet have ONE layer per
   block (`layers_per_block: 1`) and two transformer layers in the first block (the fixture sd1
   configs with smaller channels), with seeded random weights, plus l1_single_file.safetensors (the UNet as `model.diffusion_model.*`) and
   l1_controlnet_single_file.safetensors (the ControlNet as `control_model.*`): the same weights
   in the original ldm layout; unet_mixed/ + mixed_single_file.safetensors: layers_per_block
   [1, 2, 1] (not checkable with diffusers' converter, which takes an int).
2. ldm_shapes_<set>.txt / canonical_shapes_<set>.txt for each family of configs/builtin: every
   tensor name and shape of a full-size original checkpoint of that family (the ldm layout),
   and every tensor of the diffusers / transformers modules built from the built-in configs.

The ldm layout is produced by an inverse mapping written here (after ldm's openaimodel.UNetModel,
ldm's AutoencoderKL, open_clip's text tower), independent of the C++ key map. It is checked
against the peer: diffusers' own ldm -> diffusers converters (single_file_utils) must turn it back
into exactly the diffusers key set, shapes (and, for the tiny model, values). The real checkpoints'
tensors that diffusers drops on purpose are added by hand (listed in EXTRAS).
"""
import json
import os
import sys

import torch
from accelerate import init_empty_weights
from diffusers import AutoencoderKL, ControlNetModel, UNet2DConditionModel
from diffusers.loaders import single_file_utils as sfu
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DATA = os.path.join(HERE, "data")
BUILTIN = os.path.join(ROOT, "configs", "builtin")
FIXTURES = os.environ.get("PANGU_FIXTURES", os.path.join(ROOT, "..", "shared", "fixtures"))

RESNET = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
          ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection")]


def per_block(value, n):
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


def rename_resnet(rest):
    for new, old in RESNET:
        if rest.startswith(new + "."):
            return old + rest[len(new):]
    raise KeyError(rest)


def unet_module_map(config, controlnet=False):
    """diffusers module prefix -> ldm module prefix, from the config (ldm's construction order)."""
    n = len(config["block_out_channels"])
    layers = per_block(config["layers_per_block"], n)
    attn = [t.startswith("CrossAttn") for t in config["down_block_types"]]
    m = {"conv_in": "input_blocks.0.0", "time_embedding.linear_1": "time_embed.0",
         "time_embedding.linear_2": "time_embed.2", "mid_block.resnets.0": "middle_block.0",
         "mid_block.attentions.0": "middle_block.1", "mid_block.resnets.1": "middle_block.2"}
    if config.get("addition_embed_type") == "text_time":
        m.update({"add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2"})
    i = 1
    for b in range(n):
        for l in range(layers[b]):
            m[f"down_blocks.{b}.resnets.{l}"] = f"input_blocks.{i}.0"
            if attn[b]:
                m[f"down_blocks.{b}.attentions.{l}"] = f"input_blocks.{i}.1"
            i += 1
        if b != n - 1:
            m[f"down_blocks.{b}.downsamplers.0.conv"] = f"input_blocks.{i}.0.op"
            i += 1
    if controlnet:
        for k in range(i):
            m[f"controlnet_down_blocks.{k}"] = f"zero_convs.{k}.0"
        m["controlnet_mid_block"] = "middle_block_out.0"
        emb = config.get("conditioning_embedding_out_channels", [16, 32, 96, 256])
        m["controlnet_cond_embedding.conv_in"] = "input_hint_block.0"
        for k in range(2 * (len(emb) - 1)):
            m[f"controlnet_cond_embedding.blocks.{k}"] = f"input_hint_block.{2 * k + 2}"
        m["controlnet_cond_embedding.conv_out"] = f"input_hint_block.{4 * len(emb) - 2}"
        return m
    up_attn = [t.startswith("CrossAttn") for t in config["up_block_types"]]
    o = 0
    for j in range(n):
        count = layers[n - 1 - j] + 1
        for l in range(count):
            m[f"up_blocks.{j}.resnets.{l}"] = f"output_blocks.{o}.0"
            if up_attn[j]:
                m[f"up_blocks.{j}.attentions.{l}"] = f"output_blocks.{o}.1"
            if l == count - 1 and j != n - 1:
                m[f"up_blocks.{j}.upsamplers.0"] = f"output_blocks.{o}.{2 if up_attn[j] else 1}"
            o += 1
    m.update({"conv_norm_out": "out.0", "conv_out": "out.2"})
    return m


def to_ldm_unet(state, config, prefix, controlnet=False):
    mods = sorted(unet_module_map(config, controlnet).items(), key=lambda kv: -len(kv[0]))
    out = {}
    for name, t in state.items():
        for new, old in mods:
            if name.startswith(new + "."):
                rest = name[len(new) + 1:]
                if ".resnets." in new or new in ("mid_block.resnets.0", "mid_block.resnets.1"):
                    rest = rename_resnet(rest)
                out[prefix + old + "." + rest] = t
                break
        else:
            raise KeyError(name)
    return out


def to_ldm_vae(state, prefix):
    n = 4
    out = {}
    attn = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
    for name, t in state.items():
        key = name
        for part in ("encoder", "decoder"):
            if not name.startswith(part + "."):
                continue
            rest = name[len(part) + 1:]
            if rest.startswith("conv_norm_out."):
                rest = "norm_out." + rest[len("conv_norm_out."):]
            elif rest.startswith("mid_block.resnets."):
                r, tail = rest[len("mid_block.resnets."):].split(".", 1)
                rest = f"mid.block_{int(r) + 1}." + tail.replace("conv_shortcut", "nin_shortcut")
            elif rest.startswith("mid_block.attentions.0."):
                tail = rest[len("mid_block.attentions.0."):]
                for new, old in attn.items():
                    if tail.startswith(new + "."):
                        tail = old + tail[len(new):]
                        break
                rest = "mid.attn_1." + tail
                if tail.endswith("weight") and not tail.startswith("norm"):
                    t = t.reshape(*t.shape, 1, 1)  # ldm: 1x1 convolutions
            elif rest.startswith("down_blocks.") or rest.startswith("up_blocks."):
                kind, b, what, tail = rest.split(".", 3)
                b = int(b)
                stack = "down" if kind == "down_blocks" else "up"
                if stack == "up":
                    b = n - 1 - b
                if what == "resnets":
                    r, tail2 = tail.split(".", 1)
                    rest = f"{stack}.{b}.block.{r}." + tail2.replace("conv_shortcut", "nin_shortcut")
                else:  # downsamplers.0.conv / upsamplers.0.conv
                    rest = f"{stack}.{b}.{'downsample' if stack == 'down' else 'upsample'}." + tail.split(".", 1)[1]
            key = part + "." + rest
        out[prefix + key] = t
    return out


def to_ldm_clip(state, prefix):
    return {prefix + k: t for k, t in state.items()}


def to_open_clip(state, prefix, layers):
    out = {}
    ren = {"layer_norm1": "ln_1", "layer_norm2": "ln_2", "self_attn.out_proj": "attn.out_proj",
           "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"}
    for name, t in state.items():
        if name == "text_model.embeddings.token_embedding.weight":
            out[prefix + "token_embedding.weight"] = t
        elif name == "text_model.embeddings.position_embedding.weight":
            out[prefix + "positional_embedding"] = t
        elif name == "text_projection.weight":
            out[prefix + "text_projection"] = t.T
        elif name.startswith("text_model.final_layer_norm."):
            out[prefix + "ln_final." + name.split(".")[-1]] = t
        elif name.startswith("text_model.encoder.layers."):
            l, rest = name[len("text_model.encoder.layers."):].split(".", 1)
            base = f"{prefix}transformer.resblocks.{l}."
            if rest.startswith("self_attn.") and rest.split(".")[1] in ("q_proj", "k_proj", "v_proj"):
                if rest.split(".")[1] != "q_proj":
                    continue
                kind = rest.split(".")[-1]
                parts = [state[f"text_model.encoder.layers.{l}.self_attn.{p}.{kind}"] for p in ("q_proj", "k_proj", "v_proj")]
                out[base + f"attn.in_proj_{kind}"] = torch.cat(parts, 0)
            else:
                for new, old in ren.items():
                    if rest.startswith(new + "."):
                        rest = old + rest[len(new):]
                        break
                out[base + rest] = t
        else:
            raise KeyError(name)
    return out


def same(a, b, values, what):
    ka, kb = set(a), set(b)
    if ka != kb:
        sys.exit(f"{what}: key sets differ: only ours {sorted(ka - kb)[:5]}, only diffusers' {sorted(kb - ka)[:5]}")
    for k in ka:
        if tuple(a[k].shape) != tuple(b[k].shape):
            sys.exit(f"{what}: {k} shape {tuple(a[k].shape)} vs {tuple(b[k].shape)}")
        if values and not torch.equal(a[k], b[k]):
            sys.exit(f"{what}: {k} values differ")
    print(f"{what}: {len(ka)} tensors agree with diffusers' converter")


def load_json(path):
    with open(path) as f:
        return json.load(f)


def make_l1_model():
    """Item 1: one layer per block, converted to ldm and checked against diffusers' converters."""
    out = os.path.join(DATA, "l1_model")
    torch.manual_seed(15)
    uc = load_json(os.path.join(FIXTURES, "sd1", "model", "unet", "config.json"))
    small = {"layers_per_block": 1, "transformer_layers_per_block": [2, 1, 1], "block_out_channels": [8, 8, 16],
             "norm_num_groups": 4, "attention_head_dim": 2, "cross_attention_dim": 8}
    uc.update(small)
    cc = load_json(os.path.join(FIXTURES, "sd1", "model", "controlnet", "config.json"))
    cc.update(small, conditioning_embedding_out_channels=[4, 8, 8, 16])
    unet = UNet2DConditionModel.from_config(uc)
    control = ControlNetModel.from_config(cc)
    for model in (unet, control):  # zero-initialised convolutions would hide mix-ups: randomise all
        for p in model.parameters():
            p.data = torch.randn_like(p) * 0.1
    us = {k: v.contiguous() for k, v in unet.state_dict().items()}
    cs = {k: v.contiguous() for k, v in control.state_dict().items()}
    unet.save_pretrained(os.path.join(out, "unet"))
    control.save_pretrained(os.path.join(out, "controlnet"))
    ldm_u = to_ldm_unet(us, uc, "model.diffusion_model.")
    ldm_c = to_ldm_unet(cs, cc, "control_model.", controlnet=True)
    same(sfu.convert_ldm_unet_checkpoint(dict(ldm_u), dict(unet.config)), us, True, "l1 unet")
    same(sfu.convert_controlnet_checkpoint(dict(ldm_c), dict(control.config)), cs, True, "l1 controlnet")
    save_file(ldm_u, os.path.join(DATA, "l1_single_file.safetensors"))
    save_file(ldm_c, os.path.join(DATA, "l1_controlnet_single_file.safetensors"))

    # A per-block layer count (diffusers and sgm's openaimodel both take a list): diffusers'
    # single-file converter only handles an int, so this layout rests on the inverse above alone.
    mc = dict(uc, layers_per_block=[1, 2, 1])
    mixed = UNet2DConditionModel.from_config(mc)
    for p in mixed.parameters():
        p.data = torch.randn_like(p) * 0.1
    ms = {k: v.contiguous() for k, v in mixed.state_dict().items()}
    mixed.save_pretrained(os.path.join(out, "unet_mixed"))
    save_file(to_ldm_unet(ms, mc, "model.diffusion_model."), os.path.join(DATA, "mixed_single_file.safetensors"))


# Tensors of the real checkpoints that diffusers does not load (the engine must tolerate them).
SD_BUFFERS = ["betas", "alphas_cumprod", "alphas_cumprod_prev", "sqrt_alphas_cumprod",
              "sqrt_one_minus_alphas_cumprod", "log_one_minus_alphas_cumprod", "sqrt_recip_alphas_cumprod",
              "sqrt_recipm1_alphas_cumprod", "posterior_variance", "posterior_log_variance_clipped",
              "posterior_mean_coef1", "posterior_mean_coef2"]


def extras(set_name):
    e = {}
    if set_name in ("sd15", "sd21"):
        for b in SD_BUFFERS:
            e[b] = [1000]
    if set_name == "sd15":
        e["cond_stage_model.transformer.text_model.embeddings.position_ids"] = [1, 77]
    if set_name == "sd21":  # open_clip's 24th layer (SD 2.x conditions on the 23rd), projection, scale
        p = "cond_stage_model.model."
        e[p + "logit_scale"] = []
        e[p + "text_projection"] = [1024, 1024]
        l = p + "transformer.resblocks.23."
        for k, s in [("ln_1.weight", [1024]), ("ln_1.bias", [1024]), ("attn.in_proj_weight", [3072, 1024]),
                     ("attn.in_proj_bias", [3072]), ("attn.out_proj.weight", [1024, 1024]),
                     ("attn.out_proj.bias", [1024]), ("ln_2.weight", [1024]), ("ln_2.bias", [1024]),
                     ("mlp.c_fc.weight", [4096, 1024]), ("mlp.c_fc.bias", [4096]),
                     ("mlp.c_proj.weight", [1024, 4096]), ("mlp.c_proj.bias", [1024])]:
            e[l + k] = s
    if set_name == "sdxl-base":
        e["conditioner.embedders.0.transformer.text_model.embeddings.position_ids"] = [1, 77]
        e["conditioner.embedders.1.model.logit_scale"] = []
    return e


def meta_state(model):
    return {k: v for k, v in model.state_dict().items()}


def family_listing(set_name):
    """Item 2: full-size ldm / canonical shape listings of one built-in family (meta tensors)."""
    cfg = lambda comp: load_json(os.path.join(BUILTIN, set_name, comp, "config.json"))
    uc, vc = cfg("unet"), cfg("vae")
    with init_empty_weights():
        unet = UNet2DConditionModel.from_config(uc)
        vae = AutoencoderKL.from_config(vc)
        encs = []
        for comp in ("text_encoder", "text_encoder_2"):
            if os.path.isdir(os.path.join(BUILTIN, set_name, comp)):
                c = cfg(comp)
                cls = CLIPTextModelWithProjection if c["architectures"][0].endswith("WithProjection") else CLIPTextModel
                encs.append((comp, cls(CLIPTextConfig(**c))))
    canonical = {"unet": meta_state(unet), "vae": meta_state(vae)}
    ldm = {}
    ldm.update(to_ldm_unet(canonical["unet"], uc, "model.diffusion_model."))
    ldm.update(to_ldm_vae(canonical["vae"], "first_stage_model."))
    same(sfu.convert_ldm_unet_checkpoint(dict(ldm), dict(unet.config)), canonical["unet"], False, f"{set_name} unet")
    same(sfu.convert_ldm_vae_checkpoint(dict(ldm), dict(vae.config)), canonical["vae"], False, f"{set_name} vae")
    for comp, enc in encs:
        state = meta_state(enc)
        canonical[comp] = state
        if set_name == "sd15":
            part = to_ldm_clip(state, "cond_stage_model.transformer.")
            back = sfu.convert_ldm_clip_checkpoint(part)
        elif set_name == "sd21":
            part = to_open_clip(state, "cond_stage_model.model.", enc.config.num_hidden_layers)
            # diffusers splits in_proj by text_projection's rows (the real checkpoint's 1024 x 1024),
            # else by projection_dim (512): give it the real file's extra tensors too.
            real = dict(part, **{k: torch.empty(s, device="meta") for k, s in extras(set_name).items()})
            back = sfu.convert_open_clip_checkpoint(enc, real, prefix="cond_stage_model.model.")
        elif comp == "text_encoder":
            part = to_ldm_clip(state, "conditioner.embedders.0.transformer.")
            back = sfu.convert_ldm_clip_checkpoint(part, "conditioner.embedders.0.transformer.")
        else:
            part = to_open_clip(state, "conditioner.embedders.1.model.", enc.config.num_hidden_layers)
            back = sfu.convert_open_clip_checkpoint(enc, part, prefix="conditioner.embedders.1.model.")
        same(back, state, False, f"{set_name} {comp}")
        ldm.update(part)
    shapes = {k: list(v.shape) for k, v in ldm.items()}
    shapes.update(extras(set_name))
    with open(os.path.join(DATA, f"ldm_shapes_{set_name}.txt"), "w") as f:
        f.write(f"# {set_name}: every tensor of a full-size original checkpoint: name shape (made by "
                f"make_ldm_references.py)\n")
        for k in sorted(shapes):
            f.write(f"{k} {','.join(map(str, shapes[k]))}\n")
    with open(os.path.join(DATA, f"canonical_shapes_{set_name}.txt"), "w") as f:
        f.write(f"# {set_name}: component name shape of the diffusers / transformers modules built from "
                f"configs/builtin/{set_name} (made by make_ldm_references.py)\n")
        for comp in sorted(canonical):
            for k in sorted(canonical[comp]):
                f.write(f"{comp} {k} {','.join(map(str, canonical[comp][k].shape))}\n")


def main():
    os.makedirs(DATA, exist_ok=True)
    make_l1_model()
    for set_name in ("sd15", "sd21", "sdxl-base"):  # sd21-base has sd21's shapes
        family_listing(set_name)


if __name__ == "__main__":
    main()
