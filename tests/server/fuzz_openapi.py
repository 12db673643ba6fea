#!/usr/bin/env python3
"""fuzz_openapi.py: a bounded schemathesis run over `pangu-draw serve`'s /openapi.json (valid and
invalid requests generated from the description; check: not_a_server_error, i.e. no 5xx), then the
server must still answer /health and exit 0 on SIGTERM. The server runs with small limits
(64 px, 2 steps, 2 images) so that the valid generations it receives stay fast.

Runs the schemathesis command of the repository's .venv (tools/install_deps.sh puts it there) or
of PATH; exits 77 (skipped) without one. Made with schemathesis 4.32.5.

Usage: fuzz_openapi.py --cli build/pangu-draw --model models/tiny [--examples 8]"""
import argparse
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_util import Server  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--examples", type=int, default=8)
    args = parser.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    st = os.path.join(here, "..", "..", ".venv", "bin", "schemathesis")
    st = st if os.access(st, os.X_OK) else shutil.which("schemathesis")
    if not st:
        print("SKIP: schemathesis is not installed in .venv or PATH (tools/install_deps.sh)")
        return 77
    server = Server(args.cli, args.model, "--max-side", "64", "--max-steps", "2", "--max-images", "2",
                    "--max-queue", "4", "-q")
    cmd = [st, "run", server.url + "/openapi.json", "--checks", "not_a_server_error",
           "--max-examples", str(args.examples), "--seed", "1", "--workers", "1",
           "--request-timeout", "60", "--suppress-health-check", "all", "--no-color",
           "--phases", "examples,fuzzing"]  # the coverage phase takes minutes on 2 cores
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    print(run.stdout[-6000:], run.stderr[-2000:])
    alive = server.call("GET", "/health")[0] == 200
    rc = server.stop()
    print("schemathesis exit %d; server alive %s; server exit %d" % (run.returncode, alive, rc))
    return 0 if run.returncode == 0 and alive and rc == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
