"""make_sampler_references.py: diffusers reference runs of every sampler x sigma schedule that
diffusers 0.25 can express, driven by a fixed closed-form "model" (no UNet), for
tests/schedulers/test_sampler_references.cpp.

Made with: Python 3.11, torch 2.15.0 (CPU), diffusers 0.25.1, numpy 1.26.4, scipy 1.17.1
(LMSDiscreteScheduler integrates its coefficients with scipy), huggingface_hub 0.25.2 (diffusers
0.25 needs < 0.26), safetensors 0.8.0:
    python3 -m venv /work/pyref-sched
    /work/pyref-sched/bin/pip install torch==2.15.0 diffusers==0.25.1 "huggingface_hub<0.26" \
        "numpy<2" scipy safetensors
    /work/pyref-sched/bin/python tests/schedulers/make_sampler_references.py

Each case runs the loop of diffusers' StableDiffusionPipeline: one torch.Generator("cpu") seeded
with the case's seed draws the initial noise (times init_noise_sigma) and is then passed to every
scheduler.step that takes a generator, so stochastic steps draw from the same stream.

Schedules: "default" = the config's timestep spacing; "karras" = use_karras_sigmas;
"exponential" = the schedulers' own use_karras_sigmas code path with _convert_to_karras replaced
by k-diffusion's get_sigmas_exponential (diffusers 0.25 has no use_exponential_sigmas; later
versions added exactly this); "sgm_uniform" = timestep_spacing "trailing".

DPMSolverSDEScheduler draws its noise from torchsde's BrownianTree (seeded by
noise_sampler_seed, not the generator). These references replace its noise_sampler by
GeneratorBrownian below: the same Brownian law (the second increment of a step contains the
first), drawn from the run generator, which is what the engine implements.

Writes tests/schedulers/data/sampler_cases.json and sampler_reference.safetensors:
  {key}.latent     [1, 4, 8, 8] the final latent (float32)
  {key}.timesteps  the timesteps the model was called with, in order (float32)
  generator.seed1234  torch.randn((1, 4, 8, 8), generator=Generator().manual_seed(1234))
"""
import json
import math
import os

import diffusers
import numpy as np
import torch
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
SHAPE = (1, 4, 8, 8)

BASE = {
    "num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
    "beta_schedule": "scaled_linear", "clip_sample": False, "set_alpha_to_one": False,
}
CONFIGS = {
    # Stable Diffusion 1.x release config (epsilon, leading, steps_offset 1)
    "eps_leading": dict(BASE, prediction_type="epsilon", timestep_spacing="leading", steps_offset=1),
    # Stable Diffusion 2.x 768 (v_prediction)
    "v_leading": dict(BASE, prediction_type="v_prediction", timestep_spacing="leading", steps_offset=1),
    # float linspace timesteps (the diffusers default spacing of the k-samplers)
    "eps_linspace": dict(BASE, prediction_type="epsilon", timestep_spacing="linspace", steps_offset=0),
}

# our name -> (diffusers class, extra config, schedules diffusers 0.25 can run it with)
SIGMA = ["default", "karras", "exponential", "sgm_uniform"]
SAMPLERS = {
    "euler": (diffusers.EulerDiscreteScheduler, {}, SIGMA),
    "euler_a": (diffusers.EulerAncestralDiscreteScheduler, {}, ["default", "sgm_uniform"]),
    "heun": (diffusers.HeunDiscreteScheduler, {}, SIGMA),
    "lms": (diffusers.LMSDiscreteScheduler, {}, SIGMA),
    "dpm2": (diffusers.KDPM2DiscreteScheduler, {}, SIGMA),
    "dpm2_a": (diffusers.KDPM2AncestralDiscreteScheduler, {}, SIGMA),
    "dpmpp_sde": (diffusers.DPMSolverSDEScheduler, {}, SIGMA),
    "dpmpp_2m": (diffusers.DPMSolverMultistepScheduler,
                 {"algorithm_type": "dpmsolver++", "solver_order": 2}, SIGMA),
    "dpmpp_2m_sde": (diffusers.DPMSolverMultistepScheduler,
                     {"algorithm_type": "sde-dpmsolver++", "solver_order": 2}, SIGMA),
    "unipc": (diffusers.UniPCMultistepScheduler, {}, SIGMA),
    "ddim": (diffusers.DDIMScheduler, {}, ["default", "sgm_uniform"]),
    "ddpm": (diffusers.DDPMScheduler, {}, ["default", "sgm_uniform"]),
}
NEW = ["lms", "dpm2", "dpm2_a", "dpmpp_sde", "dpmpp_2m_sde", "unipc", "ddpm"]


def model(x, t):
    """The closed-form stand-in for the UNet: a smooth function of the model input and timestep
    (read as eps or v by the config's prediction_type). The C++ test evaluates the same ops."""
    t = float(t)
    return 0.6 * torch.tanh(x) + 0.3 * torch.sin(1.7 * x + t / 250.0) + 0.1 * x


def exponential(cls):
    """cls with its Karras conversion replaced by k-diffusion's get_sigmas_exponential."""

    class Exponential(cls):
        def _convert_to_karras(self, in_sigmas, num_inference_steps=None):
            n = num_inference_steps or self.num_inference_steps
            sigma_min, sigma_max = in_sigmas[-1].item(), in_sigmas[0].item()
            return np.exp(np.linspace(math.log(sigma_max), math.log(sigma_min), n))

    return Exponential


class GeneratorBrownian:
    """BrownianTreeNoiseSampler's law from the run generator. DPMSolverSDEScheduler asks per step
    for the increment (sigma -> sigma_mid), then (sigma -> sigma_next); the second contains the
    first: n2 = (sqrt|sigma - mid| z1 + sqrt|mid - next| z2) / sqrt|sigma - next|."""

    def __init__(self, generator):
        self.generator = generator
        self.pending = None

    def __call__(self, sigma, sigma_next):
        z = torch.randn(SHAPE, generator=self.generator, dtype=torch.float32)
        if self.pending is not None and bool(self.pending[0] == sigma):
            start, mid, z1 = self.pending
            self.pending = None
            a, b = (start - mid).abs(), (mid - sigma_next).abs()
            return (a.sqrt() * z1 + b.sqrt() * z) / (start - sigma_next).abs().sqrt()
        self.pending = (sigma, sigma_next, z)
        return z


def make_scheduler(sampler, schedule, config):
    cls, extra, _ = SAMPLERS[sampler]
    cfg = dict(config, **extra)
    if schedule == "karras":
        cfg["use_karras_sigmas"] = True
    elif schedule == "exponential":
        cls = exponential(cls)
        cfg["use_karras_sigmas"] = True
    elif schedule == "sgm_uniform":
        cfg["timestep_spacing"] = "trailing"
    return cls.from_config(cfg)


def run(sampler, schedule, config, steps, seed):
    """diffusers' denoising loop; returns (final latent, timesteps)."""
    scheduler = make_scheduler(sampler, schedule, config)
    scheduler.set_timesteps(steps)
    generator = torch.Generator("cpu").manual_seed(seed)
    latents = torch.randn(SHAPE, generator=generator, dtype=torch.float32) * scheduler.init_noise_sigma
    if sampler == "dpmpp_sde":
        scheduler.noise_sampler = GeneratorBrownian(generator)
    takes_generator = "generator" in scheduler.step.__code__.co_varnames
    kwargs = {"generator": generator} if takes_generator else {}
    timesteps = scheduler.timesteps
    for t in timesteps:
        x_in = scheduler.scale_model_input(latents, t)
        latents = scheduler.step(model(x_in, t), t, latents, **kwargs).prev_sample
    return latents, timesteps.to(torch.float64)


def cases():
    out = []
    for config in ["eps_leading", "v_leading"]:
        for sampler, (_, _, schedules) in SAMPLERS.items():
            for schedule in schedules:
                for steps in [10, 20]:
                    out.append((sampler, schedule, config, steps))
    for sampler in NEW:
        out.append((sampler, "default", "eps_linspace", 10))
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    tensors, listing = {}, []
    for i, (sampler, schedule, config, steps) in enumerate(cases()):
        seed = 1000 + i
        key = f"{sampler}.{schedule}.{config}.steps{steps}"
        latent, timesteps = run(sampler, schedule, CONFIGS[config], steps, seed)
        assert torch.isfinite(latent).all(), key
        tensors[key + ".latent"] = latent.contiguous()
        tensors[key + ".timesteps"] = timesteps.to(torch.float32).contiguous()
        listing.append({"key": key, "sampler": sampler, "schedule": schedule, "config": config,
                        "steps": steps, "seed": seed})
        print(f"{key}: |latent|max {latent.abs().max().item():.4f}")
    g = torch.Generator("cpu").manual_seed(1234)
    tensors["generator.seed1234"] = torch.randn(SHAPE, generator=g, dtype=torch.float32)
    save_file(tensors, os.path.join(OUT, "sampler_reference.safetensors"))
    meta = {
        "made_by": "tests/schedulers/make_sampler_references.py",
        "versions": {"torch": torch.__version__, "diffusers": diffusers.__version__,
                     "numpy": np.__version__},
        "model": "0.6 * tanh(x) + 0.3 * sin(1.7 * x + t / 250) + 0.1 * x",
        "shape": list(SHAPE),
        "configs": CONFIGS,
        "cases": listing,
    }
    with open(os.path.join(OUT, "sampler_cases.json"), "w") as f:
        json.dump(meta, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
