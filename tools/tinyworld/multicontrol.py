#!/usr/bin/env python3
"""multicontrol.py: Coop-Diffusion multi-control with the embedded model's edge ControlNet.

For held-out prompts whose scene has two objects, each object's outline is a control image of its
own (`tinyworld edges --object K`). Three plans draw the prompt and the TinyWorld checker reads
the images:
  full   one ControlNet run with the whole edge map (both objects);
  half   one ControlNet run with object 0's outline only;
  multi  Coop-Diffusion: two experts, each with the ControlNet and one object's outline
         (d = 0.5 / 0.5; both for the structure UNet's steps and the texture UNet's).
Reported: how often the image shows the scene's two objects (count), its shape and position.

Usage: multicontrol.py OUT_DIR [N] (N prompts, default 12; run from the repository root after
building pangu-draw and tinyworld into build/). Standard library only.
"""
import json
import os
import subprocess
import sys

MODEL = "models/tiny"
CN = f"{MODEL}/controlnet_edges"
BUILD = os.environ.get("BUILD_DIR", "build")


def run(args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def experts(maps):
    """Structure and texture experts for each control image, weights split evenly."""
    w = 1.0 / len(maps)
    out = []
    for m in maps:
        out += ["--expert", f"to-t=500,weight={w},controlnet={CN},control-image={m}"]
    for m in maps:
        out += ["--expert", f"model={MODEL}/unet_texture,from-t=500,weight={w},controlnet={CN},"
                            f"control-image={m}"]
    return out


def main():
    out_dir, n = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 12
    os.makedirs(out_dir, exist_ok=True)
    prompts = [json.loads(l) for l in open("tools/tinyworld/heldout_prompts.jsonl", encoding="utf-8")]
    prompts = [p for p in prompts if p["truth"]["count"] == 2][:n]
    plans = ["full", "half", "multi"]
    hits = {p: {"count": 0, "shape": 0, "position": 0} for p in plans}
    for p in prompts:
        i = p["id"]
        maps = {k: f"{out_dir}/edges_{i}_{k}.png" for k in ("all", "0", "1")}
        for k, path in maps.items():
            run([f"{BUILD}/tinyworld", "edges", "-i", str(i), "-o", path]
                + ([] if k == "all" else ["--object", k]))
        base = [f"{BUILD}/pangu-draw", "generate", "--model", MODEL, "--prompt", p["en"],
                "--seed", str(i), "--steps", "20", "--overwrite", "-q"]
        args = {"full": ["--controlnet", CN, "--control-image", maps["all"]],
                "half": ["--controlnet", CN, "--control-image", maps["0"]],
                "multi": experts([maps["0"], maps["1"]])}
        for plan in plans:
            image = f"{out_dir}/{plan}_{i}.png"
            run(base + args[plan] + ["--output", image])
            got = json.loads(subprocess.run([f"{BUILD}/tinyworld", "check", image], check=True,
                                            capture_output=True, text=True).stdout)
            for key in hits[plan]:
                hits[plan][key] += got.get(key) == p["truth"][key]
    print(f"{len(prompts)} held-out prompts with two objects (English); share of images showing:")
    print("plan    count  shape  position")
    for plan in plans:
        h = hits[plan]
        print(f"{plan:7} {h['count'] / len(prompts):.3f}  {h['shape'] / len(prompts):.3f}  "
              f"{h['position'] / len(prompts):.3f}")


if __name__ == "__main__":
    main()
