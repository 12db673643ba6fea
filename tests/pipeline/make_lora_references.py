#!/usr/bin/env python3
"""make_lora_references.py: random LoRA / LyCORIS adapters for the sd1 fixture, in each format
in circulation, and what the peers compute with them (tests/pipeline/test_lora*.cpp reads both).

Made with diffusers 0.31.0, peft 0.21.2, lycoris-lora 4.1.3 (+ einops, toml), transformers
4.46.3, torch 2.15.0 (a venv such as /work/pyref-lora: diffusers + peft + lycoris-lora on top of
torch). Run from the repository root:
    /work/pyref-lora/bin/python tests/pipeline/make_lora_references.py

Writes tests/pipeline/data/lora/:
  <case>.safetensors        the adapter files (rank 2..4, a few layers each)
  references.safetensors    per case, at the case's weight:
      <case>.unet.<param>   merged UNet weights of every layer the adapter touches
      <case>.te.<param>     merged text-encoder weights
      <case>.unet_out       UNet output for the fixture's unet.input at t = 500 with the
                            fixture's context.prompt0 (the UNet alone is patched by then)
      <case>.te_hidden      text-encoder last hidden state [77, 32] for prompt 0's token ids
  cases.json                case -> file, weight, peer

Peers: kohya (ldm and diffusers module names, incl. LoCon 3x3 convs), PEFT and the older diffusers
attention-processor format go through diffusers' own `load_lora_weights` + `fuse_lora(lora_scale=w)`
+ `unload_lora_weights` (the documented way to bake a LoRA into a model). diffusers has no LoHa /
LoKr loader: their merged weights are W0 + w * dW with dW from LyCORIS' own
lycoris.functional.{loha,lokr}.diff_weight (LoHa: (w1a @ w1b) * (w2a @ w2b) * alpha / rank; LoKr:
kron(w1, w2) * alpha / rank, scale 1 when neither factor is decomposed), and those weights are
loaded into the diffusers models for the outputs.
"""
import json
import os

import torch
from diffusers import StableDiffusionPipeline
from lycoris.functional import loha as lyco_loha
from lycoris.functional import lokr as lyco_lokr
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel

FIXTURE = "/work/shared/fixtures/sd1"
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "lora")
gen = torch.Generator().manual_seed(1234)


def randn(*shape, scale=0.2):
    return (torch.randn(*shape, generator=gen) * scale).float()


def load_pipe():
    # The fixture's model.safetensors has no "format" metadata, which transformers 4.46's
    # from_pretrained insists on: build the encoder from its config and load the tensors.
    config = CLIPTextConfig.from_pretrained(FIXTURE + "/model/text_encoder")
    text_encoder = CLIPTextModel(config).eval()
    text_encoder.load_state_dict(load_file(FIXTURE + "/model/text_encoder/model.safetensors"),
                                 strict=False)  # position_ids is a buffer
    return StableDiffusionPipeline.from_pretrained(
        FIXTURE + "/model", text_encoder=text_encoder, safety_checker=None,
        requires_safety_checker=False, torch_dtype=torch.float32)


PIPE0 = load_pipe()
UNET0 = {k: v.clone() for k, v in PIPE0.unet.state_dict().items()}
TE0 = {k: v.clone() for k, v in PIPE0.text_encoder.state_dict().items()}


def kohya_pair(prefix, weight, rank, alpha=None):
    """kohya LoRA (LoCon for 4-d weights): down [r, in, kh, kw], up [out, r, 1, 1]."""
    out_dim, in_dim = weight.shape[0], weight.shape[1]
    if weight.dim() == 4:
        down = randn(rank, in_dim, weight.shape[2], weight.shape[3])
        up = randn(out_dim, rank, 1, 1)
    else:
        down, up = randn(rank, in_dim), randn(out_dim, rank)
    sd = {prefix + ".lora_down.weight": down, prefix + ".lora_up.weight": up}
    if alpha is not None:
        sd[prefix + ".alpha"] = torch.tensor(float(alpha))
    return sd


# (kohya module name, the diffusers parameter it patches)
KOHYA_LDM_UNET = [
    ("input_blocks_1_1_proj_in", "down_blocks.0.attentions.0.proj_in.weight"),
    ("input_blocks_1_1_transformer_blocks_0_attn1_to_q", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"),
    ("input_blocks_4_1_transformer_blocks_0_attn2_to_k", "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight"),
    ("input_blocks_2_1_transformer_blocks_0_ff_net_0_proj", "down_blocks.0.attentions.1.transformer_blocks.0.ff.net.0.proj.weight"),
    ("middle_block_1_transformer_blocks_0_attn2_to_out_0", "mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0.weight"),
    ("output_blocks_4_1_proj_out", "up_blocks.1.attentions.1.proj_out.weight"),
    ("input_blocks_1_0_in_layers_2", "down_blocks.0.resnets.0.conv1.weight"),  # LoCon 3x3
    ("output_blocks_3_0_emb_layers_1", "up_blocks.1.resnets.0.time_emb_proj.weight"),
]
# diffusers 0.31 loads a kohya text-encoder LoRA with attention and MLP layers only partly (it
# detects one key convention per dict, and the two kinds convert to different ones): each file
# holds one kind.
KOHYA_TE = [
    ("text_model_encoder_layers_0_self_attn_q_proj", "text_model.encoder.layers.0.self_attn.q_proj.weight"),
    ("text_model_encoder_layers_2_self_attn_out_proj", "text_model.encoder.layers.2.self_attn.out_proj.weight"),
]
KOHYA_TE_MLP = [
    ("text_model_encoder_layers_2_mlp_fc1", "text_model.encoder.layers.2.mlp.fc1.weight"),
]
KOHYA_DIFFUSERS_UNET = [
    ("down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_v", "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v.weight"),
    ("up_blocks_2_attentions_2_proj_out", "up_blocks.2.attentions.2.proj_out.weight"),
    ("down_blocks_0_resnets_1_conv2", "down_blocks.0.resnets.1.conv2.weight"),           # 3x3
    ("down_blocks_0_downsamplers_0_conv", "down_blocks.0.downsamplers.0.conv.weight"),   # 3x3 s2
    ("up_blocks_0_resnets_0_conv_shortcut", "up_blocks.0.resnets.0.conv_shortcut.weight"),  # 1x1
]


def kohya_file(unet_layers, te_layers, rank, alpha):
    sd = {}
    for name, param in unet_layers:
        sd.update(kohya_pair("lora_unet_" + name, UNET0[param], rank, alpha))
    for name, param in te_layers:
        sd.update(kohya_pair("lora_te_" + name, TE0[param], rank, alpha))
    return sd


def peft_file(rank):
    sd = {}
    for param in ["down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q.weight",
                  "up_blocks.1.attentions.2.transformer_blocks.0.ff.net.2.weight"]:
        w = UNET0[param]
        base = "unet." + param[: -len(".weight")]
        sd[base + ".lora_A.weight"] = randn(rank, w.shape[1])
        sd[base + ".lora_B.weight"] = randn(w.shape[0], rank)
    for param in ["text_model.encoder.layers.1.self_attn.v_proj.weight"]:
        w = TE0[param]
        base = "text_encoder." + param[: -len(".weight")]
        sd[base + ".lora_A.weight"] = randn(rank, w.shape[1])
        sd[base + ".lora_B.weight"] = randn(w.shape[0], rank)
    return sd


def old_diffusers_file(rank):
    """diffusers' attention-processor format (LoRAAttnProcessor, diffusers < 0.21)."""
    sd = {}
    for proc, param in [("down_blocks.0.attentions.1.transformer_blocks.0.attn2.processor.to_k_lora",
                         "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight"),
                        ("up_blocks.2.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora",
                         "up_blocks.2.attentions.0.transformer_blocks.0.attn1.to_out.0.weight")]:
        w = UNET0[param]
        sd["unet." + proc + ".down.weight"] = randn(rank, w.shape[1])
        sd["unet." + proc + ".up.weight"] = randn(w.shape[0], rank)
    return sd


def peer_merge(files_and_weights):
    """diffusers: load every adapter, fuse at its weight, unload; the plain models' weights."""
    pipe = load_pipe()
    names = []
    for i, (path, _) in enumerate(files_and_weights):
        names.append("a%d" % i)
        # unet_config: SD 1.x's load_lora_weights maps ldm (SGM) kohya names only when given
        # it (SDXL's passes it itself); it reaches lora_state_dict through **kwargs.
        pipe.load_lora_weights(load_file(path), adapter_name=names[-1], unet_config=pipe.unet.config)
    pipe.set_adapters(names, adapter_weights=[w for _, w in files_and_weights])
    pipe.fuse_lora(components=["unet", "text_encoder"], lora_scale=1.0, adapter_names=names)
    pipe.unload_lora_weights()
    return pipe.unet.state_dict(), pipe.text_encoder.state_dict()


# ---- LyCORIS LoHa / LoKr (lycoris-lora's functional diff_weight) ----
def loha_file(layers, rank, alpha):
    sd = {}
    for name, param in layers:
        w = UNET0[param] if not name.startswith("te:") else TE0[param]
        prefix = ("lora_te_" + name[3:]) if name.startswith("te:") else "lora_unet_" + name
        out_dim, rest = w.shape[0], w[0].numel()
        sd[prefix + ".hada_w1_a"] = randn(out_dim, rank, scale=0.5)
        sd[prefix + ".hada_w1_b"] = randn(rank, rest, scale=0.5)
        sd[prefix + ".hada_w2_a"] = randn(out_dim, rank, scale=0.5)
        sd[prefix + ".hada_w2_b"] = randn(rank, rest, scale=0.5)
        sd[prefix + ".alpha"] = torch.tensor(float(alpha))
    return sd


def loha_delta(sd, prefix, shape):
    # LyCORIS' own functional form: (w1d, w1u, w2d, w2u, t1, t2), gamma = alpha / rank.
    gamma = sd[prefix + ".alpha"].item() / sd[prefix + ".hada_w1_b"].shape[0]
    return lyco_loha.diff_weight(sd[prefix + ".hada_w1_b"], sd[prefix + ".hada_w1_a"],
                                 sd[prefix + ".hada_w2_b"], sd[prefix + ".hada_w2_a"], None, None,
                                 gamma=gamma, backend="torch").reshape(shape)


def lokr_file(specs, rank, alpha):
    """specs: (name, param, w1 shape [a, b], decompose w2?) with out = a * c, in = b * d."""
    sd = {}
    for name, param, (a, b), decompose in specs:
        is_te = name.startswith("te:")
        w = TE0[param] if is_te else UNET0[param]
        prefix = ("lora_te_" + name[3:]) if is_te else "lora_unet_" + name
        c, d = w.shape[0] // a, w.shape[1] // b
        sd[prefix + ".lokr_w1"] = randn(a, b, scale=0.5)
        if decompose:
            sd[prefix + ".lokr_w2_a"] = randn(c, rank, scale=0.5)
            sd[prefix + ".lokr_w2_b"] = randn(rank, d, *w.shape[2:], scale=0.5)
            sd[prefix + ".alpha"] = torch.tensor(float(alpha))
        else:
            sd[prefix + ".lokr_w2"] = randn(c, d, *w.shape[2:], scale=0.5)
    return sd


def lokr_delta(sd, prefix, shape):
    # LyCORIS' functional form (w1, w1a, w1b, w2, w2a, w2b, t) with gamma = alpha: it scales by
    # alpha / rank when a factor is a product, by 1 when none is.
    w1 = sd[prefix + ".lokr_w1"]
    if prefix + ".lokr_w2" in sd:
        weights, gamma = (w1, None, None, sd[prefix + ".lokr_w2"], None, None, None), 1.0
    else:
        weights = (w1, None, None, None, sd[prefix + ".lokr_w2_a"], sd[prefix + ".lokr_w2_b"], None)
        gamma = sd[prefix + ".alpha"].item()
    return lyco_lokr.diff_weight(*weights, gamma=gamma, backend="torch").reshape(shape)


def own_merge(sd, delta_fn, weight):
    unet, te = dict(UNET0), dict(TE0)
    for key in sd:
        if key.endswith(".alpha"):
            continue
        prefix = key.split(".")[0]
        for table, base, names in ((unet, UNET0, "lora_unet_"), (te, TE0, "lora_te_")):
            if not prefix.startswith(names):
                continue
            param = LYCO_PARAMS[prefix]
            table[param] = base[param] + weight * delta_fn(sd, prefix, base[param].shape)
    return unet, te


LOHA_LAYERS = [
    ("down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_k", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_k.weight"),
    ("up_blocks_1_resnets_2_conv1", "up_blocks.1.resnets.2.conv1.weight"),  # 3x3
    ("te:text_model_encoder_layers_1_mlp_fc2", "text_model.encoder.layers.1.mlp.fc2.weight"),
]
LOKR_SPECS = [
    ("down_blocks_0_attentions_1_transformer_blocks_0_attn1_to_q", "down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_q.weight", (4, 8), True),
    ("mid_block_attentions_0_proj_in", "mid_block.attentions.0.proj_in.weight", (8, 4), False),
    ("up_blocks_2_resnets_0_conv2", "up_blocks.2.resnets.0.conv2.weight", (4, 4), False),  # 3x3
    ("te:text_model_encoder_layers_0_self_attn_out_proj", "text_model.encoder.layers.0.self_attn.out_proj.weight", (2, 4), True),
]
LYCO_PARAMS = {("lora_te_" + n[3:]) if n.startswith("te:") else "lora_unet_" + n: p
               for n, p, *_ in LOHA_LAYERS + LOKR_SPECS}


def outputs(unet_sd, te_sd):
    pipe = load_pipe()
    pipe.unet.load_state_dict(unet_sd)
    pipe.text_encoder.load_state_dict(te_sd)
    ref = load_file(FIXTURE + "/reference/reference.safetensors")
    tokens = json.load(open(FIXTURE + "/reference/tokens.json"))
    prompt0 = tokens["prompts"][0]
    ids = torch.tensor([tokens["token_ids"][prompt0][0]])  # the one tokenizer's 77 ids
    with torch.no_grad():
        out = pipe.unet(ref["unet.input"][None], torch.tensor([500]),
                        encoder_hidden_states=ref["context.prompt0"][None]).sample[0]
        hidden = pipe.text_encoder(ids)[0][0]
    return out, hidden


def record(refs, case, unet_sd, te_sd, expected):
    changed = [k for k in unet_sd if not torch.equal(unet_sd[k], UNET0[k])] + \
        [k for k in te_sd if not torch.equal(te_sd[k], TE0[k])]
    assert sorted(changed) == sorted(set(expected)), (case, sorted(changed), sorted(set(expected)))
    for key in unet_sd:
        if not torch.equal(unet_sd[key], UNET0[key]):
            refs[case + ".unet." + key] = unet_sd[key].contiguous()
    for key in te_sd:
        if not torch.equal(te_sd[key], TE0[key]):
            refs[case + ".te." + key] = te_sd[key].contiguous()
    refs[case + ".unet_out"], refs[case + ".te_hidden"] = outputs(unet_sd, te_sd)


EXPECTED = {
    "kohya_ldm": [p for _, p in KOHYA_LDM_UNET + KOHYA_TE],
    "kohya_diffusers": [p for _, p in KOHYA_DIFFUSERS_UNET + KOHYA_TE_MLP],
    "peft": ["down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q.weight",
             "up_blocks.1.attentions.2.transformer_blocks.0.ff.net.2.weight",
             "text_model.encoder.layers.1.self_attn.v_proj.weight"],
    "diffusers_old": ["down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k.weight",
                      "up_blocks.2.attentions.0.transformer_blocks.0.attn1.to_out.0.weight"],
    "loha": [p for _, p in LOHA_LAYERS],
    "lokr": [p for _, p, *_ in LOKR_SPECS],
}


def main():
    os.makedirs(OUT, exist_ok=True)
    files = {
        "kohya_ldm": kohya_file(KOHYA_LDM_UNET, KOHYA_TE, rank=4, alpha=2.0),
        "kohya_diffusers": kohya_file(KOHYA_DIFFUSERS_UNET, KOHYA_TE_MLP, rank=2, alpha=1.0),
        "peft": peft_file(rank=3),
        "diffusers_old": old_diffusers_file(rank=2),
        "loha": loha_file(LOHA_LAYERS, rank=2, alpha=1.0),
        "lokr": lokr_file(LOKR_SPECS, rank=2, alpha=3.0),
    }
    paths = {}
    for name, sd in files.items():
        paths[name] = os.path.join(OUT, name + ".safetensors")
        save_file({k: v.contiguous() for k, v in sd.items()}, paths[name])
    cases = {
        "kohya_ldm": ([("kohya_ldm", 0.7)], "diffusers"),
        "kohya_diffusers": ([("kohya_diffusers", 1.0)], "diffusers"),
        "peft": ([("peft", 0.6)], "diffusers"),
        "diffusers_old": ([("diffusers_old", 1.3)], "diffusers"),
        "two": ([("kohya_ldm", 0.5), ("peft", 0.8)], "diffusers"),
        "loha": ([("loha", 0.9)], "lycoris"),
        "lokr": ([("lokr", 0.8)], "lycoris"),
    }
    refs = {}
    for case, (members, peer) in cases.items():
        if peer == "diffusers":
            unet_sd, te_sd = peer_merge([(paths[f], w) for f, w in members])
        else:
            (f, w), = members
            unet_sd, te_sd = own_merge(files[f], loha_delta if f == "loha" else lokr_delta, w)
        expected = [p for f, _ in members for p in EXPECTED[f]]
        record(refs, case, unet_sd, te_sd, expected)
        print(case, sum(1 for k in refs if k.startswith(case + ".")), "tensors")
    save_file(refs, os.path.join(OUT, "references.safetensors"))
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({c: {"loras": [{"file": m + ".safetensors", "weight": w} for m, w in members],
                       "peer": peer} for c, (members, peer) in cases.items()}, f, indent=1)


if __name__ == "__main__":
    main()
