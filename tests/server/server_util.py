"""server_util.py: helpers of the `pangu-draw serve` tests (Python 3 standard library only):
starting a server on a free loopback port, JSON over HTTP, raw sockets, and a small PNG codec
(8-bit RGB / grey / RGBA, non-interlaced: what the server and the CLI write) to compare pixels."""
import base64
import json
import os
import signal
import socket
import struct
import subprocess
import time
import urllib.error
import urllib.request
import zlib


class Server:
    """`pangu-draw serve --listen 127.0.0.1:0 ...`; reads the port from its first stdout line."""

    def __init__(self, cli, model, *extra, env=None):
        cmd = [cli, "serve", "--model", model, "--listen", "127.0.0.1:0", "--threads", "1", *extra]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, text=True)
        line = self.proc.stdout.readline()
        if "listening on http://" not in line:
            self.proc.kill()
            raise RuntimeError("server did not start: %r (rc %s)" % (line, self.proc.wait()))
        self.url = line.split("listening on ")[1].split()[0]
        self.port = int(self.url.rsplit(":", 1)[1])

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=timeout)
        self.proc.stdout.close()
        return rc

    def rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return -1

    def call(self, method, path, body=None, raw=None, headers=None, timeout=120):
        """(status, parsed JSON or text) of one request; 4xx/5xx are answers, not exceptions."""
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        req = urllib.request.Request(self.url + path, data=data, method=method)
        req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text


def raw_request(port, method, path, body=b"", extra_headers=""):
    """A socket with a request written to it (the caller reads or closes it)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    head = ("%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n%s\r\n" % (method, path, len(body), extra_headers))
    s.sendall(head.encode() + body)
    return s


def wait_for(predicate, timeout=60.0, every=0.02):
    """Polls until predicate() is truthy; returns its value (None when the time ran out)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def _chunks(data):
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def _unfilter(raw, width, height, bpp):
    stride = width * bpp
    out, prev, pos = bytearray(), bytearray(stride), 0
    for _ in range(height):
        ftype, line = raw[pos], bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        out += line
        prev = line
    return bytes(out)


def png_decode(data):
    """(width, height, RGB bytes, {text key: value}) of an 8-bit non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    idat, texts = b"", {}
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and body[12] == 0, "only 8-bit non-interlaced PNGs here"
        elif kind == b"IDAT":
            idat += body
        elif kind == b"tEXt":
            key, value = body.split(b"\0", 1)
            texts[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt":
            key, rest = body.split(b"\0", 1)
            assert rest[0] == 0, "compressed iTXt not expected"
            _lang, _tkey, value = rest[2:].split(b"\0", 2)
            texts[key.decode("latin-1")] = value.decode("utf-8")
    bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
    px = _unfilter(zlib.decompress(idat), width, height, bpp)
    if bpp == 3:
        return width, height, px, texts
    rgb = bytearray()
    for i in range(0, len(px), bpp):
        rgb += bytes([px[i]] * 3) if bpp <= 2 else px[i:i + 3]
    return width, height, bytes(rgb), texts


def png_encode(width, height, pixels, channels=3):
    """A PNG (filter 0) of 8-bit grey (1) or RGB (3) pixels."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    stride = width * channels
    raw = b"".join(b"\0" + pixels[y * stride:(y + 1) * stride] for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, {1: 0, 3: 2}[channels], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) +
            chunk(b"IEND", b""))


def b64(data):
    return base64.b64encode(data).decode()


def run_cli(cli, *args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    r = subprocess.run([cli, "-q", *args], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, "pangu-draw %s failed: %s" % (" ".join(args), r.stderr)
