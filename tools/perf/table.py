#!/usr/bin/env python3
# table.py: the markdown table of docs/performance.md from tools/perf/vs_diffusers.sh's JSON
# reports (out/perf/<model>-<dtype>-engine.json and -diffusers.json). FLOPs come from the engine's
# counting pass (the same architecture on both sides); shares of peak use the larger of the
# engine's measured GEMM and 3x3-conv peaks of that dtype (best of the peak-only runs and the
# SD 1.5 runs).
import glob
import json
import os
import sys

NAMES = {"sd15": "SD 1.5 512²", "sdxl": "SDXL 1024²"}
COMPONENTS = [("unet_step_cfg", "UNet CFG step"), ("vae_decode", "VAE decode"),
              ("text_encoder", "text encoders")]


def load(folder, name):
    """The runs <name>-r*.json merged: best median per component, highest peak RSS."""
    runs = []
    for f in sorted(glob.glob(os.path.join(folder, name + "-r*.json"))):
        with open(f) as fh:
            runs.append(json.load(fh))
    if not runs:
        return None
    out = dict(runs[0])
    out["runs"] = len(runs)
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in runs)
    for key in ("peak_gemm_gflops", "peak_conv_gflops"):
        if key in out:
            out[key] = max(r[key] for r in runs)
    if isinstance(out["components"], list):  # the engine's report
        out["components"] = {c["name"]: c for c in out["components"]}
        for r in runs[1:]:
            for c in r["components"]:
                if c["median_s"] < out["components"][c["name"]]["median_s"]:
                    out["components"][c["name"]] = c
    else:
        out["components"] = {k: min((r["components"][k] for r in runs), key=lambda c: c["median_s"])
                             for k in out["components"]}
    return out


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "out/perf"
    peaks = {}
    for dtype in ("fp32", "bf16"):
        for name in (f"peak-{dtype}", f"sd15-{dtype}-engine"):
            e = load(folder, name)
            if e:
                peaks[dtype] = max(peaks.get(dtype, 0), e["peak_gemm_gflops"], e["peak_conv_gflops"])
    print("| model | dtype | component | GFLOP | engine s | diffusers s | speed-up | engine share of peak"
          " | diffusers share of peak |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for model in ("sd15", "sdxl"):
        for dtype in ("fp32", "bf16"):
            e, d = load(folder, f"{model}-{dtype}-engine"), load(folder, f"{model}-{dtype}-diffusers")
            if not e or not d:
                continue
            comps = e["components"]
            for key, label in COMPONENTS:
                ec, dc = comps[key], d["components"][key]
                peak = peaks.get(dtype, 0)
                share = lambda s: f"{100 * ec['gflop'] / s / peak:.0f}%" if peak and s > 0 else "-"
                print(f"| {NAMES[model]} | {dtype} | {label} | {ec['gflop']:.1f} | {ec['median_s']:.2f} |"
                      f" {dc['median_s']:.2f} | {dc['median_s'] / ec['median_s']:.2f}x |"
                      f" {share(ec['median_s'])} | {share(dc['median_s'])} |")
            print(f"| {NAMES[model]} | {dtype} | peak RSS incl. load | | {e['peak_rss_mb']:.0f} MiB |"
                  f" {d['peak_rss_mb']:.0f} MiB | | | |")
            print(f"| | | (best of runs) | | {e['runs']} | {d['runs']} | | | |")
    for dtype, p in peaks.items():
        print(f"\nmachine peak {dtype}: {p:.0f} GFLOP/s (best of `pangu-draw bench --peak-only` and the SD 1.5 runs)")
    for model in ("sd15", "sdxl"):
        d = load(folder, f"{model}-fp32-diffusers")
        if d:
            print(f"{NAMES[model]}: {d['peer']}, torch {d['torch']}, {d['threads']} threads")


if __name__ == "__main__":
    main()
