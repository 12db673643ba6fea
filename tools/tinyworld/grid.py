#!/usr/bin/env python3
"""grid.py: a picture grid from 8-bit RGB(A) PNGs, standard library only (no PIL here).

Usage: grid.py OUT.png SCALE ROW [ROW ...], each ROW a comma-separated list of PNG paths.
Every image is scaled up by the integer SCALE (nearest neighbour) and padded to the largest
image of the grid (smaller ones, e.g. a 32x32 row among 64x64 ones, are first scaled to match
its width); cells are separated by a 2-pixel white gap.
"""
import struct
import sys
import zlib


def read_png(path):
    data = open(path, "rb").read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path}: not a PNG"
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour in (2, 6) and not interlace, f"{path}: not 8-bit RGB(A)"
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw, stride = zlib.decompress(idat), width * channels
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b, c = prev[i], prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * channels:x * channels + 3]) for x in range(width)])
        prev = line
    return rows


def scaled(rows, factor):
    return [[px for px in row for _ in range(factor)] for row in rows for _ in range(factor)]


def write_png(path, rows):
    height, width = len(rows), len(rows[0])
    raw = b"".join(b"\x00" + bytes(v for px in row for v in px) for row in rows)
    chunk = lambda kind, body: (struct.pack(">I", len(body)) + kind + body +
                                struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main(out, factor, *row_specs):
    grid = [[read_png(p) for p in spec.split(",")] for spec in row_specs]
    cell = max(len(img) for row in grid for img in row) * int(factor)
    gap, white = 2, (255, 255, 255)
    lines = []
    for row in grid:
        cells = [scaled(img, cell // len(img)) for img in row]
        for y in range(cell):
            line = []
            for img in cells:
                line += img[y] + [white] * gap
            lines.append(line[:-gap])
        lines += [[white] * len(lines[-1]) for _ in range(gap)]
    write_png(out, lines[:-gap])


if __name__ == "__main__":
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
