#!/usr/bin/env python3
"""pngsuite_reference.py: what Pillow reads from the PngSuite files of tests/io/data/pngsuite/.

Writes tests/io/data/pngsuite/reference.json, the peer reference of test_png's PngSuite tests:
  images: {name: {width, height, rgb_crc32}} - the image as 8-bit RGB (alpha dropped, no gamma,
          16-bit samples truncated to their high byte as stb, libspng and Pillow do), CRC-32 of
          the row-major RGB bytes;
  text:   {name: {keyword: text}} - every tEXt / zTXt / iTXt chunk as Pillow decodes it (tEXt and
          zTXt as Latin-1, iTXt as UTF-8, compressed chunks inflated).
Made with Python 3.11 and Pillow 13.0.0:
  python3 -m venv /work/pyref && /work/pyref/bin/pip install pillow
  /work/pyref/bin/python tests/io/pngsuite_reference.py
"""
import json
import pathlib
import zlib

from PIL import Image

DATA = pathlib.Path(__file__).resolve().parent / "data" / "pngsuite"


def rgb8(path):
    im = Image.open(path)
    if im.mode.startswith("I;16"):  # 16-bit grey: Pillow keeps the 16-bit values; take the high byte
        raw = im.tobytes()  # "I;16": little-endian 16-bit samples
        high = raw[1::2] if im.mode == "I;16" else raw[0::2]
        return im.size, bytes(g for v in high for g in (v, v, v))
    return im.size, im.convert("RGB").tobytes()


def main():
    images, text = {}, {}
    for path in sorted(DATA.glob("*.png")):
        name = path.stem
        if name.startswith("x"):  # the corrupt files: Pillow's own verdicts vary, none stored
            continue
        (w, h), data = rgb8(path)
        images[name] = {"width": w, "height": h, "rgb_crc32": zlib.crc32(data)}
        chunks = Image.open(path).text
        if chunks:
            text[name] = {str(k): str(v) for k, v in chunks.items()}
    out = DATA / "reference.json"
    out.write_text(json.dumps({"images": images, "text": text}, ensure_ascii=False, indent=1) + "\n",
                   encoding="utf-8")
    print(f"wrote {out}: {len(images)} images, {len(text)} with text")


if __name__ == "__main__":
    main()
