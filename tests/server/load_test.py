#!/usr/bin/env python3
"""load_test.py: a bounded load test of `pangu-draw serve` on loopback: --requests requests from
--clients concurrent clients (2 of 3 are txt2img at 32x32 with 1-2 steps on models/tiny, the
rest progress / options / samplers / a refused request), then it stops by itself. Fails when a
request goes unanswered, an answer is not the one expected, the server dies, or its resident
memory grows by more than --max-growth-mib over the second half of the run (a leak of the
jobs' images or answers). Prints the numbers docs/server.md records.

Usage: load_test.py --cli build/pangu-draw --model models/tiny [--requests 300] [--clients 4]"""
import argparse
import collections
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_util import Server  # noqa: E402


def one_request(server, i):
    """(kind, expected status, actual status) of request number i."""
    kind = i % 6
    if kind in (0, 1, 2, 3):
        body = {"prompt": "load %d" % i, "seed": i, "steps": 1 + i % 2, "width": 32, "height": 32}
        status, answer = server.call("POST", "/sdapi/v1/txt2img", body)
        ok = status == 200 and len(answer["images"]) == 1
        return "txt2img", 200, status if ok else -status
    if kind == 4:
        path = ("/sdapi/v1/progress", "/sdapi/v1/options", "/sdapi/v1/samplers")[i % 3]
        return "get", 200, server.call("GET", path)[0]
    return "refused", 422, server.call("POST", "/sdapi/v1/txt2img", {"steps": -1})[0]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--max-growth-mib", type=float, default=64)
    args = parser.parse_args()
    server = Server(args.cli, args.model, "--max-queue", str(args.clients * 2), "-q")
    for i in range(3):  # warm up: first runs allocate the caches
        one_request(server, i)
    rss = {"start": server.rss_kib()}
    counts, failures, lock = collections.Counter(), [], threading.Lock()
    next_index = iter(range(args.requests))

    def client():
        while True:
            with lock:
                i = next(next_index, None)
                if i == args.requests // 2:
                    rss["half"] = server.rss_kib()
            if i is None:
                return
            try:
                kind, want, got = one_request(server, i)
            except Exception as e:  # noqa: BLE001 - an unanswered request is the failure we count
                kind, want, got = "error", 0, repr(e)
            with lock:
                counts[kind] += 1
                if got != want:
                    failures.append((i, kind, want, got))

    t0 = time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.monotonic() - t0
    rss["end"] = server.rss_kib()
    alive = server.call("GET", "/health")[0] == 200
    rc = server.stop()
    print("requests %d from %d clients in %.1f s: %s" % (args.requests, args.clients, seconds, dict(counts)))
    print("RSS MiB: start %.1f, half %.1f, end %.1f" % tuple(rss[k] / 1024 for k in ("start", "half", "end")))
    print("failures: %d %s; alive %s; exit %d" % (len(failures), failures[:5], alive, rc))
    growth = (rss["end"] - rss["half"]) / 1024
    ok = not failures and alive and rc == 0 and growth <= args.max_growth_mib
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
