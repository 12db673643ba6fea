#!/usr/bin/env python3
"""Extra image-editing references beyond ../shared/fixtures/sd1/pipelines (which this script
first re-computes and checks, to prove the setup): diffusers' own StableDiffusionImg2ImgPipeline /
StableDiffusionInpaintPipeline on the sd1 fixture, each called with
generator=torch.Generator("cpu").manual_seed(seed) and the fixture's text conditioning, for the
random-draw orders the fixture cases leave open (ancestral steps after the VAE posterior
samples, a 9-channel UNet with strength < 1, Heun) and for outpainting as pangu-draw defines it
(the canvas padded by edge replication, the new area the mask: white = repaint), and editing
with the fixture's ControlNet (diffusers' ControlNet img2img / inpainting pipelines).

Made with: diffusers 0.25.0, torch 2.15.0 (CPU), transformers 4.36.2, numpy 2.4, Pillow 13.
Run:  python tests/pipeline/make_editing_references.py [fixtures_dir]
Writes tests/pipeline/data/editing_cases.json and editing_references.safetensors
({key}.latent [4, h, w]: output_type "latent", before division by the VAE scaling factor;
{key}.image [3, H, W] in [-1, 1] for the outpainting cases, whose size no fixture has).
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file, save_file
from diffusers import (AutoencoderKL, ControlNetModel, DDIMScheduler, DPMSolverMultistepScheduler,
                       EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,
                       HeunDiscreteScheduler, StableDiffusionImg2ImgPipeline,
                       StableDiffusionControlNetImg2ImgPipeline,
                       StableDiffusionControlNetInpaintPipeline, StableDiffusionInpaintPipeline,
                       StableDiffusionPipeline, UNet2DConditionModel)

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "../../../shared/fixtures")
SD1 = os.path.join(FIX, "sd1")
PROMPT = "a photo of an astronaut riding a horse on the moon"

# key, pipeline, sampler, steps, cfg, seed, strength, mask, model, outpaint (L, T, R, B)
EXTRA = [
    ("img2img.euler_a.strength0.7", "img2img", "euler_a", 8, 7.5, 731, 0.7, False, "model", None),
    ("img2img.heun.strength0.5", "img2img", "heun", 6, 6.0, 4242, 0.5, False, "model", None),
    ("img2img.euler.strength1.0", "img2img", "euler", 5, 7.5, 99, 1.0, False, "model", None),
    ("inpaint4.euler_a.strength1.0", "inpaint", "euler_a", 8, 7.5, 5150, 1.0, True, "model", None),
    ("inpaint4.ddim.strength0.5", "inpaint", "ddim", 10, 5.0, 77, 0.5, True, "model", None),
    ("inpaint9.dpmpp_2m.strength0.6", "inpaint", "dpmpp_2m", 8, 7.5, 2024, 0.6, True,
     "pipelines/inpaint_model", None),
    ("inpaint9.euler_a.strength1.0", "inpaint", "euler_a", 8, 7.5, 31337, 1.0, True,
     "pipelines/inpaint_model", None),
    ("outpaint4.euler.strength1.0", "inpaint", "euler", 8, 7.5, 8, 1.0, False, "model",
     (16, 0, 16, 0)),
    ("outpaint9.dpmpp_2m.strength0.9", "inpaint", "dpmpp_2m", 8, 7.5, 909, 0.9, True,
     "pipelines/inpaint_model", (0, 32, 0, 0)),
]
# Editing with the sd1 ControlNet (model/controlnet, reference/control.png, scale 0.8):
# StableDiffusionControlNetImg2ImgPipeline / StableDiffusionControlNetInpaintPipeline.
CONTROLNET = [
    ("controlnet_img2img.euler_a.strength0.7", "img2img", "euler_a", 8, 7.5, 4711, 0.7, False, "model"),
    ("controlnet_inpaint4.dpmpp_2m.strength0.75", "inpaint", "dpmpp_2m", 8, 7.5, 815, 0.75, True, "model"),
    ("controlnet_inpaint9.euler.strength1.0", "inpaint", "euler", 8, 7.5, 1234, 1.0, True,
     "pipelines/inpaint_model"),
]
CONTROL_SCALE = 0.8


def scheduler(name, folder):
    cfg = dict(EulerDiscreteScheduler.load_config(os.path.join(folder, "scheduler")))
    if name == "euler":
        return EulerDiscreteScheduler.from_config(cfg)
    if name == "euler_a":
        return EulerAncestralDiscreteScheduler.from_config(cfg)
    if name == "heun":
        return HeunDiscreteScheduler.from_config(cfg)
    if name == "dpmpp_2m":
        return DPMSolverMultistepScheduler.from_config(cfg, algorithm_type="dpmsolver++", solver_order=2)
    if name == "ddim":
        return DDIMScheduler.from_config(cfg, clip_sample=False, set_alpha_to_one=False)
    raise ValueError(name)


def pipeline(kind, folder, sampler, controlnet=None):
    parts = dict(vae=AutoencoderKL.from_pretrained(os.path.join(folder, "vae")), text_encoder=None,
                 tokenizer=None, unet=UNet2DConditionModel.from_pretrained(os.path.join(folder, "unet")),
                 scheduler=scheduler(sampler, folder), safety_checker=None, feature_extractor=None,
                 requires_safety_checker=False)
    if controlnet is not None:
        cls = {"img2img": StableDiffusionControlNetImg2ImgPipeline,
               "inpaint": StableDiffusionControlNetInpaintPipeline}[kind]
        return cls(controlnet=controlnet, **parts)
    cls = {"txt2img": StableDiffusionPipeline, "img2img": StableDiffusionImg2ImgPipeline,
           "inpaint": StableDiffusionInpaintPipeline}[kind]
    return cls(**parts)


def outpaint_canvas(image, mask, pad):
    """pangu-draw's outpainting: edge-replicated canvas, the new area white in the mask."""
    left, top, right, bottom = pad
    rgb = np.pad(np.array(image.convert("RGB")), ((top, bottom), (left, right), (0, 0)), mode="edge")
    if mask is None:
        m = np.zeros(np.array(image).shape[:2], np.uint8)
    else:
        m = np.array(mask.convert("L"))
    m = np.pad(m, ((top, bottom), (left, right)), constant_values=255)
    return Image.fromarray(rgb), Image.fromarray(m)


def run(kind, sampler, steps, cfg, seed, strength, init, mask, folder, embeds, control=None):
    pipe = pipeline(kind, folder, sampler, None if control is None else control[0])
    kw = dict(prompt_embeds=embeds[0], negative_prompt_embeds=embeds[1], num_inference_steps=steps,
              guidance_scale=cfg, generator=torch.Generator("cpu").manual_seed(seed))
    if control is not None:
        kw.update(control_image=control[1], controlnet_conditioning_scale=CONTROL_SCALE)
    if kind == "txt2img":
        kw.update(height=64, width=64)
    else:
        kw.update(image=init, strength=strength)
    if kind == "inpaint":
        kw.update(mask_image=mask, height=init.height, width=init.width)
    latent = pipe(output_type="latent", **kw).images[0]
    with torch.no_grad():
        image = pipe.vae.decode(latent[None] / pipe.vae.config.scaling_factor).sample[0]
    return latent, image


def main():
    context = load_file(os.path.join(SD1, "reference/reference.safetensors"))
    embeds = (context["context.prompt0"][None], context["context.prompt2"][None])
    init = Image.open(os.path.join(SD1, "pipelines/init.png")).convert("RGB")
    mask = Image.open(os.path.join(SD1, "pipelines/mask.png"))
    # 1. the shared fixture, re-computed: proves this setup is diffusers' and the fixture's
    fixture = json.load(open(os.path.join(SD1, "pipelines/cases.json")))
    ref = load_file(os.path.join(SD1, "pipelines/reference.safetensors"))
    kinds = {"StableDiffusionPipeline": "txt2img", "StableDiffusionImg2ImgPipeline": "img2img",
             "StableDiffusionInpaintPipeline": "inpaint"}
    for c in fixture["cases"]:
        latent, _ = run(kinds[c["pipeline"]], c["sampler"], c["steps"], c["cfg"], c["seed"],
                        c.get("strength", 1.0), init, mask, os.path.join(SD1, c.get("model", "model")),
                        embeds)
        expected = ref[c["key"] + ".latent"]
        err = float((latent - expected).abs().max() / expected.abs().max())
        print(f"fixture {c['key']}: rel err {err:.2e}")
        assert err < 1e-4, c["key"]
    # 2. the extra cases
    cases, tensors = [], {}
    for key, kind, sampler, steps, cfg, seed, strength, use_mask, model, pad in EXTRA:
        image, m = init, (mask if use_mask else None)
        if pad is not None:
            image, m = outpaint_canvas(init, m, pad)
        latent, decoded = run(kind, sampler, steps, cfg, seed, strength, image, m,
                              os.path.join(SD1, model), embeds)
        tensors[key + ".latent"] = latent.contiguous()
        case = dict(key=key, pipeline=kind, sampler=sampler, steps=steps, cfg=cfg, seed=seed,
                    strength=strength, init_image="pipelines/init.png", model=model,
                    width=image.width, height=image.height)
        if use_mask:
            case["mask_image"] = "pipelines/mask.png"
        if pad is not None:
            case["outpaint"] = list(pad)
            tensors[key + ".image"] = decoded.contiguous()
        cases.append(case)
        print(f"{key}: latent {tuple(latent.shape)} max {float(latent.abs().max()):.3f}")
    controlnet = ControlNetModel.from_pretrained(os.path.join(SD1, "model/controlnet"))
    hint = Image.open(os.path.join(SD1, "reference/control.png")).convert("RGB")
    for key, kind, sampler, steps, cfg, seed, strength, use_mask, model in CONTROLNET:
        latent, _ = run(kind, sampler, steps, cfg, seed, strength, init, mask if use_mask else None,
                        os.path.join(SD1, model), embeds, (controlnet, hint))
        tensors[key + ".latent"] = latent.contiguous()
        case = dict(key=key, pipeline=kind, sampler=sampler, steps=steps, cfg=cfg, seed=seed,
                    strength=strength, init_image="pipelines/init.png", model=model, width=64,
                    height=64, controlnet="model/controlnet", control_image="reference/control.png",
                    control_scale=CONTROL_SCALE)
        if use_mask:
            case["mask_image"] = "pipelines/mask.png"
        cases.append(case)
        print(f"{key}: latent {tuple(latent.shape)} max {float(latent.abs().max()):.3f}")
    out = os.path.join(HERE, "data")
    os.makedirs(out, exist_ok=True)
    meta = {"diffusers": "0.25.0", "torch": torch.__version__, "prompt": PROMPT,
            "generator": "torch.Generator('cpu').manual_seed(seed)",
            "conditioning": "prompt_embeds = sd1 reference context.prompt0, negative = context.prompt2",
            "outpaint": "canvas = edge-replicated init image, mask = 255 on the new area (L, T, R, B)",
            "cases": cases}
    with open(os.path.join(out, "editing_cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
    save_file(tensors, os.path.join(out, "editing_references.safetensors"))


if __name__ == "__main__":
    with torch.no_grad():
        main()
