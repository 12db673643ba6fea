#!/usr/bin/env python3
"""make_sparse_checkpoint.py: writes a full-size single-file checkpoint of zeros whose data region
is a sparse file (it takes no disk), from a shape listing of tests/io/data (ldm_shapes_<set>.txt:
"name d0,d1,..." per line). For trying the loader on real architectures without real weights:

    python3 tools/make_sparse_checkpoint.py tests/io/data/ldm_shapes_sd15.txt /tmp/sd15.safetensors
    build/pangu-draw generate --model /tmp/sd15.safetensors --prompt x --width 64 --height 64 --steps 1 ...

Only the standard library: the safetensors header is JSON, the data is ftruncate()d zeros.
--dtype F16 halves the logical size; --meta KEY=VALUE adds __metadata__ entries.
"""
import argparse
import json
import os
import struct

SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def read_listing(path):
    shapes = {}
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            name, _, dims = line.partition(" ")
            shapes[name] = [int(d) for d in dims.split(",") if d]
    return shapes


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("listing")
    ap.add_argument("output")
    ap.add_argument("--dtype", default="F32", choices=sorted(SIZES))
    ap.add_argument("--meta", action="append", default=[], metavar="KEY=VALUE")
    args = ap.parse_args()
    header, offset = {}, 0
    if args.meta:
        header["__metadata__"] = dict(m.split("=", 1) for m in args.meta)
    for name, shape in sorted(read_listing(args.listing).items()):
        n = 1
        for d in shape:
            n *= d
        size = n * SIZES[args.dtype]
        header[name] = {"dtype": args.dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    with open(args.output, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.truncate(8 + len(text) + offset)
    print(f"{args.output}: {len(header) - bool(args.meta)} tensors, {(8 + len(text) + offset) / 2**30:.2f} GiB "
          f"(sparse: {os.stat(args.output).st_blocks * 512 / 2**20:.1f} MiB on disk)")


if __name__ == "__main__":
    main()
