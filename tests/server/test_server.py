#!/usr/bin/env python3
"""test_server.py: `pangu-draw serve` driven with A1111's payloads (as webuiapi and other A1111
clients send them) on models/tiny: the images equal the CLI's for the same settings and seed,
progress / interrupt / queue / disconnect / signal behave as A1111's API and docs/server.md say,
and hostile requests get 4xx with a message while the server keeps serving.

Usage: test_server.py --cli build/pangu-draw --model models/tiny   (Python 3 standard library)"""
import argparse
import json
import os
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from server_util import (Server, b64, png_decode, png_encode, raw_request, run_cli,  # noqa: E402
                         wait_for)

ARGS = None
LONG = {"prompt": "a long one", "steps": 150, "width": 64, "height": 64, "seed": 3}


def busy(server):
    return server.call("GET", "/sdapi/v1/progress")[1]["state"]["sampling_step"] > 0


class A1111Api(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.server = Server(ARGS.cli, ARGS.model, "--max-queue", "1")

    @classmethod
    def tearDownClass(cls):
        rc = cls.server.stop()
        assert rc == 0, "the server exited %d on SIGTERM" % rc
        cls.tmp.cleanup()

    def cli_png(self, name, *args):
        path = os.path.join(self.tmp.name, name)
        run_cli(ARGS.cli, "generate", "-m", ARGS.model, "-o", path, "--overwrite", *args)
        with open(path, "rb") as f:
            return png_decode(f.read())

    def test_txt2img_equals_cli(self):
        body = {"prompt": "two red circles on the left", "negative_prompt": "blue", "seed": 42,
                "steps": 3, "cfg_scale": 7.0, "width": 64, "height": 64, "sampler_name": "Euler a",
                "scheduler": "Karras", "batch_size": 2, "n_iter": 1, "restore_faces": False,
                "enable_hr": False, "styles": [], "override_settings": {}, "alwayson_scripts": {}}
        status, answer = self.server.call("POST", "/sdapi/v1/txt2img", body)
        self.assertEqual(status, 200, answer)
        info = json.loads(answer["info"])
        self.assertEqual(info["all_seeds"], [42, 43])
        self.assertEqual(info["seed"], 42)
        self.assertEqual(len(answer["images"]), 2)
        self.assertEqual(answer["parameters"]["prompt"], body["prompt"])
        for i, seed in enumerate([42, 43]):
            w, h, px, texts = png_decode(__import__("base64").b64decode(answer["images"][i]))
            cw, ch, cpx, ctexts = self.cli_png("t%d.png" % i, "-p", body["prompt"], "-n", "blue",
                                               "-s", str(seed), "--steps", "3", "--cfg-scale", "7",
                                               "-W", "64", "-H", "64", "--sampler", "euler_a",
                                               "--schedule", "karras")
            self.assertEqual((w, h), (cw, ch))
            self.assertEqual(px, cpx, "image %d differs from the CLI's" % i)
            self.assertEqual(texts["parameters"], ctexts["parameters"])
            self.assertEqual(info["infotexts"][i], texts["parameters"])

    def test_img2img_with_mask_equals_cli(self):
        _, _, init_px, _ = self.cli_png("init.png", "-p", "a green square", "-s", "5", "--steps", "2")
        init = png_encode(64, 64, init_px)
        mask = png_encode(64, 64, bytes(255 if 16 <= x < 48 else 0 for y in range(64) for x in range(64)), 1)
        paths = [os.path.join(self.tmp.name, n) for n in ("in.png", "mask.png")]
        for path, data in zip(paths, (init, mask)):
            with open(path, "wb") as f:
                f.write(data)
        body = {"prompt": "a red circle", "init_images": [b64(init)], "mask": b64(mask), "seed": 11,
                "steps": 4, "denoising_strength": 0.6, "mask_blur": 2, "inpainting_fill": 1,
                "inpaint_full_res": False, "sampler_name": "Euler", "cfg_scale": 5}
        status, answer = self.server.call("POST", "/sdapi/v1/img2img", body)
        self.assertEqual(status, 200, answer)
        self.assertIsNone(answer["parameters"]["init_images"])
        w, h, px, texts = png_decode(__import__("base64").b64decode(answer["images"][0]))
        cw, ch, cpx, ctexts = self.cli_png("edit.png", "-p", "a red circle", "--init-image", paths[0],
                                           "--mask-image", paths[1], "-s", "11", "--steps", "4",
                                           "--strength", "0.6", "--mask-blur", "2", "--paste-back",
                                           "--cfg-scale", "5")
        self.assertEqual((w, h, px), (cw, ch, cpx))
        self.assertEqual(texts["parameters"], ctexts["parameters"])
        self.assertEqual(json.loads(answer["info"])["denoising_strength"], 0.6)

    def test_progress_interrupt_keeps_finished_images(self):
        result = {}
        job = threading.Thread(target=lambda: result.update(
            answer=self.server.call("POST", "/sdapi/v1/txt2img", dict(LONG, n_iter=2))))
        job.start()
        second = wait_for(lambda: (lambda p: p if p["state"]["job_no"] == 1 and p["state"]["sampling_step"] > 0 else None)(
            self.server.call("GET", "/sdapi/v1/progress")[1]))
        self.assertIsNotNone(second, "the second image never started")
        self.assertEqual(second["state"]["job_count"], 2)
        self.assertEqual(second["state"]["sampling_steps"], 150)
        self.assertGreater(second["progress"], 0.5)
        self.assertLess(second["progress"], 1.0)
        self.assertEqual(self.server.call("POST", "/sdapi/v1/interrupt")[0], 200)
        job.join(120)
        status, answer = result["answer"]
        self.assertEqual(status, 200, answer)
        self.assertEqual(len(answer["images"]), 1)  # the first image, finished before the interrupt
        info = json.loads(answer["info"])
        self.assertTrue(info["interrupted"])
        self.assertEqual(info["all_seeds"], [3])
        state = self.server.call("GET", "/sdapi/v1/progress")[1]
        self.assertTrue(state["state"]["interrupted"])
        self.assertEqual(state["progress"], 0)

    def test_full_queue_429_and_disconnect_cancels(self):
        running = raw_request(self.server.port, "POST", "/sdapi/v1/txt2img", json.dumps(LONG).encode())
        self.assertTrue(wait_for(lambda: busy(self.server)))
        queued = raw_request(self.server.port, "POST", "/sdapi/v1/txt2img", json.dumps(LONG).encode())
        self.assertTrue(wait_for(lambda: self.server.call("GET", "/sdapi/v1/progress")[1]["state"]["queued"] == 1))
        status, answer = self.server.call("POST", "/sdapi/v1/txt2img", LONG)
        self.assertEqual(status, 429, answer)
        self.assertIn("queue", answer["detail"])
        queued.close()  # a queued job whose client left is dropped
        self.assertTrue(wait_for(lambda: self.server.call("GET", "/sdapi/v1/progress")[1]["state"]["queued"] == 0))
        running.close()  # and a running one stops
        idle = wait_for(lambda: (lambda p: p if p["state"]["job_count"] == 0 else None)(
            self.server.call("GET", "/sdapi/v1/progress")[1]))
        self.assertIsNotNone(idle)
        self.assertTrue(idle["state"]["interrupted"])

    def test_models_samplers_schedulers_options(self):
        status, models = self.server.call("GET", "/sdapi/v1/sd-models")
        self.assertEqual((status, [m["title"] for m in models]), (200, ["tiny"]))
        samplers = {s["name"]: s["aliases"] for s in self.server.call("GET", "/sdapi/v1/samplers")[1]}
        self.assertEqual(samplers["Euler a"][0], "euler_a")
        self.assertEqual(samplers["DPM++ 2M"][0], "dpmpp_2m")
        self.assertEqual(len(samplers), 13)  # pangu_draw::sampler_names()
        labels = [s["label"] for s in self.server.call("GET", "/sdapi/v1/schedulers")[1]]
        self.assertEqual(labels, ["Automatic", "Karras", "Exponential", "SGM Uniform"])
        opts = self.server.call("GET", "/sdapi/v1/options")[1]
        self.assertEqual(opts["sd_model_checkpoint"], "tiny")
        self.assertEqual(self.server.call("POST", "/sdapi/v1/options",
                                          {"CLIP_stop_at_last_layers": 2, "unknown_ui_option": 1})[0], 200)
        self.assertEqual(self.server.call("GET", "/sdapi/v1/options")[1]["CLIP_stop_at_last_layers"], 2)
        status, answer = self.server.call("POST", "/sdapi/v1/options", {"sd_model_checkpoint": "sdxl"})
        self.assertEqual(status, 422, answer)
        self.assertEqual(self.server.call("POST", "/sdapi/v1/options", {"CLIP_stop_at_last_layers": 0})[0], 200)
        spec = self.server.call("GET", "/openapi.json")[1]
        self.assertEqual(spec["openapi"], "3.0.3")
        for path in ("/sdapi/v1/txt2img", "/sdapi/v1/img2img", "/sdapi/v1/progress", "/sdapi/v1/interrupt",
                     "/sdapi/v1/sd-models", "/sdapi/v1/samplers", "/sdapi/v1/options", "/health"):
            self.assertIn(path, spec["paths"])

    def test_hostile_requests_get_4xx_and_the_server_keeps_serving(self):
        small = {"prompt": "x", "steps": 1, "width": 32, "height": 32}
        cases = [
            (400, "POST", "/sdapi/v1/txt2img", b'{"prompt": "x", '),
            (400, "POST", "/sdapi/v1/txt2img", b'{"prompt": NaN}'),
            (422, "POST", "/sdapi/v1/txt2img", b'[1, 2]'),
            (400, "POST", "/sdapi/v1/txt2img", b'[' * 100000 + b']' * 100000),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, width=1e300)),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, steps=2 ** 70)),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, seed=-2 ** 63)),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, width=-64)),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, width=36)),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, batch_size=100000)),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, prompt=["a list"])),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, sampler_name="Karras Magic")),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, enable_hr=True)),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, restore_faces=True)),
            (422, "POST", "/sdapi/v1/txt2img", dict(small, pangu_styles=[{"name": "x", "scale": 1}] * 50)),
            (400, "POST", "/sdapi/v1/txt2img", dict(small, pangu_experts=[{"model_path": "/etc/passwd"}])),
            (400, "POST", "/sdapi/v1/txt2img", dict(small, texture_model_path="/tmp/model")),
            (400, "POST", "/sdapi/v1/txt2img", dict(small, alwayson_scripts={"controlnet": {"args": [
                {"model_path": "/models/cn.safetensors"}]}})),
            (400, "POST", "/sdapi/v1/img2img", dict(small, init_images=["%%% not base64 %%%"])),
            (400, "POST", "/sdapi/v1/img2img", dict(small, init_images=[b64(b"GIF89a not a png")])),
            (400, "POST", "/sdapi/v1/img2img", dict(small, init_images=[b64(png_encode(8, 8, bytes(192))[:40])])),
            (422, "POST", "/sdapi/v1/img2img", dict(small)),
            (404, "GET", "/sdapi/v1/no-such-thing", None),
        ]
        for want, method, path, body in cases:
            raw = body if isinstance(body, bytes) else None
            status, answer = self.server.call(method, path, None if raw else body, raw=raw)
            self.assertEqual(status, want, (body if raw else json.dumps(body)[:200], answer))
            self.assertTrue(answer["detail"], answer)
        # 50 MB: refused with 413
        big = self.big_body_status()
        self.assertEqual(big[0], 413, big)
        self.assertIn("larger", big[1])
        status, answer = self.server.call("POST", "/sdapi/v1/txt2img", small)
        self.assertEqual((status, len(answer["images"])), (200, 1))

    def big_body_status(self):
        import socket
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=60)
        s.sendall(b"POST /sdapi/v1/txt2img HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: %d\r\n\r\n" % (50 << 20))
        s.sendall(b"{" + b" " * ((50 << 20) - 1))  # cpp-httplib reads (and drops) it all first
        data = b""
        while b"\r\n\r\n" not in data or len(data) < data.find(b"\r\n\r\n") + 10:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        head, _, body = data.partition(b"\r\n\r\n")
        return int(head.split()[1]), body.decode(errors="replace")


class Security(unittest.TestCase):
    def test_api_key(self):
        server = Server(ARGS.cli, ARGS.model, "--api-key", "s3cret")
        try:
            self.assertEqual(server.call("GET", "/health")[0], 200)
            status, answer = server.call("GET", "/sdapi/v1/options")
            self.assertEqual(status, 401, answer)
            self.assertEqual(server.call("GET", "/sdapi/v1/options", headers={"Authorization": "Bearer wrong"})[0], 401)
            self.assertEqual(server.call("GET", "/sdapi/v1/options", headers={"Authorization": "Bearer s3cret"})[0], 200)
            basic = "Basic " + b64(b"user:s3cret")
            self.assertEqual(server.call("GET", "/sdapi/v1/sd-models", headers={"Authorization": basic})[0], 200)
        finally:
            self.assertEqual(server.stop(), 0)

    def test_non_loopback_needs_a_key(self):
        import subprocess
        r = subprocess.run([ARGS.cli, "serve", "-m", ARGS.model, "--listen", "0.0.0.0:0"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("--api-key", r.stderr)

    def test_sigterm_during_a_job_exits_0(self):
        server = Server(ARGS.cli, ARGS.model)
        sock = raw_request(server.port, "POST", "/sdapi/v1/txt2img", json.dumps(LONG).encode())
        self.assertTrue(wait_for(lambda: busy(server)))
        self.assertEqual(server.stop(), 0)
        answer = sock.recv(65536).decode(errors="replace")
        self.assertIn(" 503 ", answer.split("\r\n")[0])
        sock.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cli", required=True)
    parser.add_argument("--model", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], "-v"] + rest)
