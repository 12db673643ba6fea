#!/usr/bin/env python3
"""editing_grid.py: docs/images/editing_tiny_grid.png from the embedded model's editing examples.

    PD_EDITING_EXAMPLE_OUT=/tmp/ex build/test_cli_editing --gtest_filter='TinyEditing.*'
    python tools/tinyworld/editing_grid.py /tmp/ex docs/images/editing_tiny_grid.png

Row 1: scene, mask, inpainted ("one large blue plain circle at the bottom"); row 2: scene,
outpainted (--outpaint 0,8,32,8). Every picture scaled 4x (nearest), 8-pixel white gaps. Needs Pillow.
"""
import sys

from PIL import Image

ROWS = [["inpaint_scene", "inpaint_mask", "inpaint_result"], ["outpaint_scene", "outpaint_result"]]
SCALE, GAP = 4, 8


def main(folder, out):
    rows = [[Image.open(f"{folder}/{name}.png").convert("RGB") for name in row] for row in ROWS]
    rows = [[im.resize((im.width * SCALE, im.height * SCALE), Image.NEAREST) for im in row] for row in rows]
    width = max(sum(im.width for im in row) + GAP * (len(row) - 1) for row in rows)
    height = sum(max(im.height for im in row) for row in rows) + GAP * (len(rows) - 1)
    grid = Image.new("RGB", (width, height), (255, 255, 255))
    y = 0
    for row in rows:
        x = 0
        for im in row:
            grid.paste(im, (x, y))
            x += im.width + GAP
        y += max(im.height for im in row) + GAP
    grid.save(out, optimize=True)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(*sys.argv[1:])
