#!/usr/bin/env python3
"""make_lora_xl_references.py: a kohya SDXL LoRA (SGM module names on the UNet, lora_te1_ and
lora_te2_ on both text encoders) for the xl fixture and what diffusers computes with it.

Made with diffusers 0.31.0, peft 0.21.2, transformers 4.46.3, torch 2.15.0 (the venv of
make_lora_references.py). Run from the repository root:
    /work/pyref-lora/bin/python tests/pipeline/make_lora_xl_references.py

Peer: StableDiffusionXLPipeline.load_lora_weights (which maps SGM names with the UNet config
itself) + fuse_lora(lora_scale=0.8) on all three models + unload_lora_weights, in float32.
Writes tests/pipeline/data/lora/xl_kohya.safetensors and xl_references.safetensors:
  xl_kohya.{unet,te,te2}.<param>  merged weights of every patched layer
  xl_kohya.unet_out               UNet output for the fixture's unet.input at t = 500 with
                                  context.prompt0, pooled.prompt0, time ids [64, 64, 0, 0, 64, 64]
  xl_kohya.te_hidden / te2_hidden last hidden state [77, W] of each encoder for prompt 0's ids
"""
import json
import os

import torch
from diffusers import StableDiffusionXLPipeline
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

FIXTURE = "/work/shared/fixtures/xl"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "lora")
gen = torch.Generator().manual_seed(4321)


def encoder(folder, cls):
    # transformers 4.46 refuses the fixture's model.safetensors (no "format" metadata).
    model = cls(CLIPTextConfig.from_pretrained(FIXTURE + "/model/" + folder)).eval()
    weights = {k: v.float() for k, v in load_file(FIXTURE + "/model/" + folder + "/model.safetensors").items()}
    model.load_state_dict(weights, strict=False)
    return model


def load_pipe():
    return StableDiffusionXLPipeline.from_pretrained(
        FIXTURE + "/model", text_encoder=encoder("text_encoder", CLIPTextModel),
        text_encoder_2=encoder("text_encoder_2", CLIPTextModelWithProjection), torch_dtype=torch.float32)


LAYERS = [  # (kohya name, model, parameter)
    ("lora_unet_input_blocks_1_1_transformer_blocks_0_attn2_to_k", "unet", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"),
    ("lora_unet_middle_block_1_proj_in", "unet", "mid_block.attentions.0.proj_in.weight"),
    ("lora_unet_output_blocks_3_1_transformer_blocks_0_attn1_to_out_0", "unet", "up_blocks.1.attentions.1.transformer_blocks.0.attn1.to_out.0.weight"),
    ("lora_te1_text_model_encoder_layers_0_self_attn_k_proj", "te", "text_model.encoder.layers.0.self_attn.k_proj.weight"),
    ("lora_te2_text_model_encoder_layers_1_self_attn_v_proj", "te2", "text_model.encoder.layers.1.self_attn.v_proj.weight"),
    ("lora_te2_text_model_encoder_layers_2_self_attn_q_proj", "te2", "text_model.encoder.layers.2.self_attn.q_proj.weight"),
    # diffusers 0.31 infers a text-encoder dict's convention from an out_proj key: one each.
    ("lora_te1_text_model_encoder_layers_1_self_attn_out_proj", "te", "text_model.encoder.layers.1.self_attn.out_proj.weight"),
    ("lora_te2_text_model_encoder_layers_0_self_attn_out_proj", "te2", "text_model.encoder.layers.0.self_attn.out_proj.weight"),
]


def main():
    pipe = load_pipe()
    models = {"unet": pipe.unet, "te": pipe.text_encoder, "te2": pipe.text_encoder_2}
    before = {m: {k: v.clone() for k, v in models[m].state_dict().items()} for m in models}
    sd = {}
    for name, model, param in LAYERS:
        w = before[model][param]
        rank = 3
        sd[name + ".lora_down.weight"] = torch.randn(rank, w.shape[1], generator=gen) * 0.2
        sd[name + ".lora_up.weight"] = torch.randn(w.shape[0], rank, generator=gen) * 0.2
        sd[name + ".alpha"] = torch.tensor(2.0)
    path = os.path.join(OUT, "xl_kohya.safetensors")
    save_file(sd, path)
    pipe.load_lora_weights(load_file(path), adapter_name="xl")
    pipe.fuse_lora(components=["unet", "text_encoder", "text_encoder_2"], lora_scale=0.8)
    pipe.unload_lora_weights()
    refs = {}
    for m in models:
        for k, v in models[m].state_dict().items():
            if not torch.equal(v, before[m][k]):
                refs["xl_kohya.%s.%s" % (m, k)] = v.contiguous()
    assert sorted(k.split(".", 2)[2] for k in refs) == sorted(p for _, _, p in LAYERS), sorted(refs)
    ref = load_file(FIXTURE + "/reference/reference.safetensors")
    tokens = json.load(open(FIXTURE + "/reference/tokens.json"))
    ids = tokens["token_ids"][tokens["prompts"][0]]
    with torch.no_grad():
        refs["xl_kohya.unet_out"] = pipe.unet(
            ref["unet.input"][None], torch.tensor([500]), encoder_hidden_states=ref["context.prompt0"][None],
            added_cond_kwargs={"text_embeds": ref["pooled.prompt0"][None],
                               "time_ids": torch.tensor([[64.0, 64, 0, 0, 64, 64]])}).sample[0]
        refs["xl_kohya.te_hidden"] = pipe.text_encoder(torch.tensor([ids[0]]))[0][0]
        refs["xl_kohya.te2_hidden"] = pipe.text_encoder_2(torch.tensor([ids[1]]))[1][0]
    save_file(refs, os.path.join(OUT, "xl_references.safetensors"))
    print(len(refs), "tensors")


if __name__ == "__main__":
    main()
