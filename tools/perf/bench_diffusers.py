#!/usr/bin/env python3
# bench_diffusers.py: the peer's side of docs/performance.md's engine-vs-diffusers table. Times
# diffusers' modules on the same folder and in the same way as `pangu-draw bench --model DIR`:
# text encoders (prompt + negative, [1, 77] ids each, every encoder), one CFG UNet step (batch 2
# plus the CFG combination) and one VAE decode; warm-up run, then the median of --steps runs.
# Peak RSS is the process's VmHWM (load included), as the engine's report.
#
#   pangu-draw bench --arch sd15 --save-model /tmp/sd15     # the folder both sides load
#   PYTHONPATH=/path/to/diffusers-site .venv/bin/python tools/perf/bench_diffusers.py \
#       --model /tmp/sd15 --dtype bf16 -W 512 -H 512 --threads 2 --steps 2
#
# Uses the project's .venv torch (the LibTorch the engine is built on), so both sides run the
# same ATen kernels; diffusers and transformers come from PyPI (no torch dependency pulled).
import argparse
import json
import os
import statistics
import time


def rss_mib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def timed(fn, steps, warmup):
    if warmup:
        fn()
    wall, cpu = [], []
    for _ in range(steps):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    return {"median_s": statistics.median(wall), "min_s": min(wall),
            "cpu_s": statistics.median(cpu)}


def load(model, dtype):
    import diffusers
    import transformers
    kw = {"torch_dtype": dtype}
    unet = diffusers.UNet2DConditionModel.from_pretrained(model, subfolder="unet", **kw)
    vae = diffusers.AutoencoderKL.from_pretrained(model, subfolder="vae", **kw)
    encoders = []
    for sub in ("text_encoder", "text_encoder_2"):
        folder = os.path.join(model, sub)
        if not os.path.isdir(folder):
            continue
        with open(os.path.join(folder, "config.json")) as f:
            arch = json.load(f)["architectures"][0]  # CLIPTextModel[WithProjection]
        cfg = transformers.CLIPTextConfig.from_pretrained(folder)
        encoders.append(getattr(transformers, arch).from_pretrained(folder, config=cfg, **kw))
    return unet, vae, encoders


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("-W", "--width", type=int, default=512)
    ap.add_argument("-H", "--height", type=int, default=512)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--vae-tiling", action="store_true", help="diffusers' enable_tiling()")
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="no untimed first run (as the engine's --no-warmup, for SDXL 1024^2)")
    args = ap.parse_args()

    import torch
    import diffusers
    import transformers
    torch.set_num_threads(args.threads)
    dtype = torch.float32 if args.dtype == "fp32" else torch.bfloat16
    t0 = time.perf_counter()
    unet, vae, encoders = load(args.model, dtype)
    load_s = time.perf_counter() - t0
    if args.vae_tiling:
        vae.enable_tiling()
    report = {"peer": f"diffusers {diffusers.__version__}, transformers {transformers.__version__}",
              "torch": torch.__version__, "dtype": args.dtype, "threads": torch.get_num_threads(),
              "width": args.width, "height": args.height, "load_s": load_s,
              "rss_after_load_mb": rss_mib("VmRSS"), "components": {}}
    ids = torch.zeros(1, 77, dtype=torch.long)

    def encode():
        with torch.inference_mode():
            for enc in encoders:
                for _ in range(2):  # prompt and negative prompt
                    enc(ids, output_hidden_states=True)

    h, w = args.height // 8, args.width // 8
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, unet.config.in_channels, h, w, generator=gen).to(dtype)
    t = torch.full((2,), 500.0)
    ctx = torch.randn(2, 77, unet.config.cross_attention_dim, generator=gen).to(dtype)
    added = None
    if unet.config.addition_embed_type == "text_time":
        pooled = unet.config.projection_class_embeddings_input_dim - 6 * unet.config.addition_time_embed_dim
        added = {"text_embeds": torch.randn(2, pooled, generator=gen).to(dtype),
                 "time_ids": torch.tensor([[args.height, args.width, 0, 0, args.height, args.width]] * 2,
                                          dtype=dtype)}

    def unet_step():
        with torch.inference_mode():
            out = unet(x, t, encoder_hidden_states=ctx, added_cond_kwargs=added).sample
            u, c = out.float().chunk(2)
            return u + 7.5 * (c - u)

    z = torch.randn(1, vae.config.latent_channels, h, w, generator=gen).to(dtype)

    def decode():
        with torch.inference_mode():
            return vae.decode(z).sample

    report["components"]["text_encoder"] = timed(encode, args.steps, args.warmup)
    report["components"]["unet_step_cfg"] = timed(unet_step, args.steps, args.warmup)
    report["components"]["vae_decode"] = timed(decode, args.steps, args.warmup)
    report["peak_rss_mb"] = rss_mib("VmHWM")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
