#!/usr/bin/env python3
"""loss_plot.py: an SVG figure of training loss curves from pangu-draw-train logs.

Usage: loss_plot.py OUT.svg NAME=LOG[@OFFSET] [NAME=LOG[@OFFSET] ...]
OFFSET (steps) shifts a log that continues another run (a second training phase). Reads the "step N loss L (ema E) M min" lines of each log and draws the EMA loss against the
step on a log scale, one coloured line per log (standard library only).
"""
import math
import re
import sys

LINE = re.compile(r"^step (\d+) loss [0-9.eE+-]+ \(ema ([0-9.eE+-]+)\)")
COLOURS = ["#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2",
           "#7f7f7f"]
W, H, L, R, T, B = 640, 360, 60, 150, 20, 40


def read(spec):
    path, _, offset = spec.partition("@")
    offset = int(offset) if offset else 0
    points = []
    for line in open(path, encoding="utf-8"):
        m = LINE.match(line)
        if m:
            points.append((offset + int(m.group(1)), float(m.group(2))))
    return points


def main():
    out, specs = sys.argv[1], [a.split("=", 1) for a in sys.argv[2:]]
    curves = [(name, read(path)) for name, path in specs]
    curves = [(n, p) for n, p in curves if p]
    max_step = max(s for _, p in curves for s, _ in p)
    lo = math.log10(min(v for _, p in curves for _, v in p))
    hi = math.log10(max(v for _, p in curves for _, v in p))
    x = lambda s: L + (W - L - R) * s / max_step
    y = lambda v: T + (H - T - B) * (hi - math.log10(v)) / max(hi - lo, 1e-9)
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<line x1="{L}" y1="{H - B}" x2="{W - R}" y2="{H - B}" stroke="black"/>',
           f'<line x1="{L}" y1="{T}" x2="{L}" y2="{H - B}" stroke="black"/>',
           f'<text x="{(W - R + L) / 2}" y="{H - 8}" text-anchor="middle">step</text>',
           f'<text x="{W - R}" y="{H - B + 15}" text-anchor="end">{max_step}</text>',
           f'<text x="{L - 4}" y="{T + 4}" text-anchor="end">{10 ** hi:.3g}</text>',
           f'<text x="{L - 4}" y="{H - B}" text-anchor="end">{10 ** lo:.3g}</text>',
           f'<text x="14" y="{(H - B + T) / 2}" transform="rotate(-90 14 {(H - B + T) / 2})" '
           'text-anchor="middle">EMA loss (log)</text>']
    for i, (name, points) in enumerate(curves):
        colour = COLOURS[i % len(COLOURS)]
        path = " ".join(f"{x(s):.1f},{y(v):.1f}" for s, v in points)
        svg.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{path}"/>')
        svg.append(f'<text x="{W - R + 10}" y="{T + 16 * (i + 1)}" fill="{colour}">{name}</text>')
    svg.append("</svg>")
    with open(out, "w", encoding="utf-8") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
