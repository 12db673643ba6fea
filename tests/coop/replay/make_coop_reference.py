"""Independent replay of Coop-Diffusion (PanGu-Draw Alg. 1) and the resolution hand-over with
diffusers' own modules, on the sd1 and sd2 fixture models; writes tests/coop/data/coop_replay.safetensors
(float32), which tests/coop/test_coop_replay.cpp compares the engine against.

Made with: python 3.11, torch 2.15.0 (CPU), diffusers 0.25.1, transformers 4.46.3,
huggingface_hub 0.25.2, safetensors 0.8.0:
    python3 -m venv /work/pyref-coop
    /work/pyref-coop/bin/pip install torch==2.15.0 diffusers==0.25.1 transformers==4.46.3 \
        huggingface_hub==0.25.2 safetensors
    /work/pyref-coop/bin/python tests/coop/replay/make_coop_reference.py [--fixtures DIR]

What is replayed (written from the paper and docs, not from the engine's code):
- Experts: A = sd1 (epsilon, 64x64 image, latent 8x8) is the host; B = sd2 (v_prediction) at
  twice the resolution (128x128, latent 16x16). Same prompt, negative "" encoded (not zeros),
  CFG 5 on each, weights 0.5 / 0.5; every x0 moves between them through pixels: decode with the
  source VAE (latent / scaling_factor), bicubic resize (antialiased when shrinking), clamp to
  [-1, 1], encode with the target VAE, posterior MEAN, times scaling_factor.
- Fused step at a noise level ab (host latent z, VP form):
    eps_A = CFG(unet_A(z))
    z_B   = first call: sqrt(ab)*0 + sqrt(1-ab)*n, n = randn([1,4,16,16]) of torch's CPU
            generator seeded (seed + 7919) (the engine's draw for a bridged expert's first step);
            later calls: sqrt(ab)*x0m + sqrt(1-ab)*epsm (B's mirrored state)
    eps_B' = sqrt(ab)*v_B + sqrt(1-ab)*z_B, v_B = CFG(unet_B(z_B))     (v -> eps)
    x0_B   = (z_B - sqrt(1-ab)*eps_B') / sqrt(ab);  x0_BA = bridge(x0_B, B -> A, 8x8)
    eps_BA = (z - sqrt(ab)*x0_BA) / sqrt(1-ab)
    fused  = 0.5*eps_A + 0.5*eps_BA;  x0 = (z - sqrt(1-ab)*fused) / sqrt(ab)
    mirror: x0m = bridge(x0, A -> B, 16x16), epsm = (z_B - sqrt(ab)*x0m) / sqrt(1-ab)
  Two calls, at the first two steps of diffusers' EulerDiscreteScheduler (10 steps, the sd1
  scheduler config); the state moves with the scheduler's own step() on the fused eps, the
  input of each call is scheduler.scale_model_input (the VP latent).
- Hand-over at step i (seed s): x0 = outgoing expert's own guided x0 at the VP latent x,
  bridged into the incoming expert's space and size, re-noised:
  sqrt(ab)*x0 + sqrt(1-ab)*randn(shape, generator=Generator().manual_seed(s + 1000003*(i+1))).
  Both directions: sd1 (8x8) -> sd2 (16x16) and sd2 (16x16) -> sd1 (8x8).
"""
import argparse
import json
import math
import os

import diffusers
import torch
import torch.nn.functional as F
from diffusers import AutoencoderKL, EulerDiscreteScheduler, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer
import transformers

PROMPT = "a photo of an astronaut riding a horse on the moon"
NEGATIVE = ""
CFG = 5.0
WEIGHTS = (0.5, 0.5)
FUSE_SEED = 11
STEPS = 10
HAND_OVER_SEED = 17
HAND_OVER_STEP = 4


def load_text_encoder(folder):
    """CLIPTextModel from config.json + model.safetensors (the fixtures' file has no metadata,
    which transformers' from_pretrained requires)."""
    model = CLIPTextModel(CLIPTextConfig.from_pretrained(folder)).eval()
    state = {k: v.float() for k, v in load_file(os.path.join(folder, "model.safetensors")).items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    assert all("position_ids" in k for k in missing + unexpected), (missing, unexpected)
    return model


class Model:
    """One fixture model: tokenizer + text encoder, UNet, VAE, and its guided prediction."""

    def __init__(self, folder):
        f32 = torch.float32
        self.tokenizer = CLIPTokenizer.from_pretrained(folder, subfolder="tokenizer")
        self.text = load_text_encoder(os.path.join(folder, "text_encoder"))
        self.unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet", torch_dtype=f32).eval()
        self.vae = AutoencoderKL.from_pretrained(folder, subfolder="vae", torch_dtype=f32).eval()
        with open(os.path.join(folder, "scheduler", "scheduler_config.json")) as fh:
            self.prediction = json.load(fh)["prediction_type"]
        self.scale = self.vae.config.scaling_factor
        self.context = torch.cat([self.encode(NEGATIVE), self.encode(PROMPT)])  # [uncond, cond]

    def encode(self, prompt):
        ids = self.tokenizer(prompt, padding="max_length", max_length=77, truncation=True,
                             return_tensors="pt").input_ids
        return self.text(ids).last_hidden_state

    def guided(self, z, t):
        """CFG over [uncond, cond] of the raw UNet output (this model's prediction type)."""
        timestep = torch.full((2,), float(t), dtype=torch.float32)
        out = self.unet(z.repeat(2, 1, 1, 1), timestep, encoder_hidden_states=self.context).sample
        uncond, cond = out.chunk(2)
        return uncond + CFG * (cond - uncond)

    def eps(self, z, t, ab):
        out = self.guided(z, t)
        if self.prediction == "epsilon":
            return out
        assert self.prediction == "v_prediction"
        return math.sqrt(ab) * out + math.sqrt(1 - ab) * z


def bridge(x0, src, dst, size):
    """Clean latent of src -> pixels -> resize -> clamp -> dst's clean latent (posterior mean)."""
    image = src.vae.decode(x0 / src.scale).sample
    h, w = size[0] * 8, size[1] * 8
    if tuple(image.shape[-2:]) != (h, w):
        shrink = h < image.shape[-2] or w < image.shape[-1]
        image = F.interpolate(image, size=(h, w), mode="bicubic", align_corners=False, antialias=shrink)
    return dst.vae.encode(image.clamp(-1, 1)).latent_dist.mean * dst.scale


def x0_of(eps, z, ab):
    return (z - math.sqrt(1 - ab) * eps) / math.sqrt(ab)


def eps_of(x0, z, ab):
    return (z - math.sqrt(ab) * x0) / math.sqrt(1 - ab)


def noised(x0, eps, ab):
    return math.sqrt(ab) * x0 + math.sqrt(1 - ab) * eps


def cpu_randn(shape, seed):
    return torch.randn(shape, generator=torch.Generator("cpu").manual_seed(seed), dtype=torch.float32)


def fused_steps(a, b, scheduler, out):
    """Two Euler steps of the fused A (host, 8x8) + B (bridged, 16x16) denoiser."""
    scheduler.set_timesteps(STEPS)
    init = torch.randn((1, 4, 8, 8), generator=torch.Generator("cpu").manual_seed(2024))
    out["fuse.init_noise"] = init
    x = init * scheduler.init_noise_sigma
    mirror = None
    for k in range(2):
        t = scheduler.timesteps[k]
        ab = float(scheduler.alphas_cumprod[int(t)])
        z = scheduler.scale_model_input(x, t)
        eps_a = a.eps(z, t, ab)
        if mirror is None:
            z_b = noised(torch.zeros(1, 4, 16, 16), cpu_randn((1, 4, 16, 16), FUSE_SEED + 7919), ab)
        else:
            z_b = noised(mirror[0], mirror[1], ab)
        v_b = b.guided(z_b, t)
        x0_ba = bridge(x0_of(b.eps(z_b, t, ab), z_b, ab), b, a, (8, 8))
        eps_ba = eps_of(x0_ba, z, ab)
        fused = (WEIGHTS[0] * eps_a + WEIGHTS[1] * eps_ba) / sum(WEIGHTS)
        x0 = x0_of(fused, z, ab)
        x0m = bridge(x0, a, b, (16, 16))
        mirror = (x0m, eps_of(x0m, z_b, ab))
        p = f"fuse.call{k}."
        out[p + "timestep"] = torch.tensor([float(t)])
        out[p + "alpha_bar"] = torch.tensor([ab])
        out[p + "z"] = z
        out[p + "eps_a"] = eps_a
        out[p + "z_b"] = z_b
        out[p + "v_b"] = v_b
        out[p + "x0_ba"] = x0_ba
        out[p + "fused"] = fused
        out[p + "mirror_x0"] = mirror[0]
        x = scheduler.step(fused, t, x).prev_sample
    out["fuse.after2.state"] = x


def hand_over(src, dst, src_shape, dst_shape, scheduler, key, x_seed, out):
    scheduler.set_timesteps(STEPS)
    t = scheduler.timesteps[HAND_OVER_STEP]
    ab = float(scheduler.alphas_cumprod[int(t)])
    x = torch.randn(src_shape, generator=torch.Generator("cpu").manual_seed(x_seed))
    x0 = bridge(x0_of(src.eps(x, t, ab), x, ab), src, dst, dst_shape[2:])
    noise = cpu_randn(dst_shape, HAND_OVER_SEED + 1000003 * (HAND_OVER_STEP + 1))
    p = f"hand_over.{key}."
    out[p + "timestep"] = torch.tensor([float(t)])
    out[p + "alpha_bar"] = torch.tensor([ab])
    out[p + "x"] = x
    out[p + "x0"] = x0
    out[p + "noise"] = noise
    out[p + "out"] = noised(x0, noise, ab)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    default_fixtures = os.path.normpath(os.path.join(here, "..", "..", "..", "..", "shared", "fixtures"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--fixtures", default=os.environ.get("PANGU_FIXTURES", default_fixtures))
    parser.add_argument("--out", default=os.path.join(here, "..", "data", "coop_replay.safetensors"))
    args = parser.parse_args()
    torch.manual_seed(0)
    with torch.no_grad():
        a = Model(os.path.join(args.fixtures, "sd1", "model"))
        b = Model(os.path.join(args.fixtures, "sd2", "model"))
        scheduler = EulerDiscreteScheduler.from_pretrained(os.path.join(args.fixtures, "sd1", "model"),
                                                           subfolder="scheduler")
        out = {}
        fused_steps(a, b, scheduler, out)
        hand_over(a, b, (1, 4, 8, 8), (1, 4, 16, 16), scheduler, "sd1_to_sd2", 101, out)
        hand_over(b, a, (1, 4, 16, 16), (1, 4, 8, 8), scheduler, "sd2_to_sd1", 102, out)
    out = {k: v.detach().float().contiguous() for k, v in out.items()}
    meta = {"prompt": PROMPT, "negative": NEGATIVE, "cfg": str(CFG), "weights": json.dumps(WEIGHTS),
            "fuse_seed": str(FUSE_SEED), "steps": str(STEPS), "sampler": "euler",
            "hand_over_seed": str(HAND_OVER_SEED), "hand_over_step": str(HAND_OVER_STEP),
            "made_with": f"torch {torch.__version__}, diffusers {diffusers.__version__}, "
                         f"transformers {transformers.__version__}"}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(out, args.out, metadata=meta)
    for k, v in out.items():
        print(f"{k:34s} {list(v.shape)} max|.| {v.abs().max().item():.4g}")


if __name__ == "__main__":
    main()
