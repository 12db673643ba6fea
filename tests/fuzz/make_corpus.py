#!/usr/bin/env python3
# make_corpus.py: writes tests/fuzz/corpus/<parser>/: a few valid seeds per parser plus malformed
# variants (truncations, bit flips, huge claimed sizes, wrong types). Deterministic; re-run after edits.
import json, os, random, struct, sys, zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
rng = random.Random(20261123)


def write(parser, name, data):
    d = os.path.join(OUT, parser)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)


def mutations(parser, base, seed_bytes, flips=8, cuts=6):
    """Truncations at spread-out lengths and random bit flips of a valid seed."""
    n = len(seed_bytes)
    lengths = sorted({0, 1, max(1, n // 7), n // 3, n // 2, max(0, n - 1)})
    for i, cut in enumerate(lengths[-cuts:]):
        write(parser, f"{base}_trunc{i}_{cut}", seed_bytes[:cut])
    for i in range(flips):
        b = bytearray(seed_bytes)
        for _ in range(1 + i % 3):
            k = rng.randrange(len(b))
            b[k] ^= 1 << rng.randrange(8)
        write(parser, f"{base}_flip{i}", bytes(b))


# ---- safetensors -------------------------------------------------------------------------------
def safetensors(header, data=b"", claimed=None):
    h = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(h) if claimed is None else claimed) + h + data


def gen_safetensors():
    p = "safetensors"
    ok = {"__metadata__": {"format": "pt"}, "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
          "b": {"dtype": "F16", "shape": [3], "data_offsets": [16, 22]},
          "c": {"dtype": "I64", "shape": [], "data_offsets": [22, 30]}}
    seed = safetensors(ok, bytes(range(30)))
    write(p, "valid_3_tensors", seed)
    write(p, "valid_empty", safetensors({}))
    mutations(p, "v", seed, flips=10)
    t = lambda **kw: {"w": dict({"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, **kw)}
    cases = {
        "huge_elements_1e12": t(shape=[1000000, 1000000], data_offsets=[0, 4000000000000]),
        "huge_elements_mismatch": t(shape=[1000000, 1000000]),
        "shape_product_overflow": t(shape=[2**40, 2**40, 2**40]),
        "shape_int64_max": t(shape=[2**63 - 1]),
        "shape_uint64": t(shape=[2**64 - 1]),
        "shape_negative": t(shape=[-1]),
        "shape_zero_then_uint64": t(shape=[0, 2**63 + 1], data_offsets=[0, 0]),
        "shape_zero_then_overflow": t(shape=[0, 2**62, 2**62], data_offsets=[0, 0]),
        "shape_nine_dims": t(shape=[1] * 9),
        "shape_float": t(shape=[1.5]),
        "shape_string": t(shape="1"),
        "shape_nested": t(shape=[[1]]),
        "shape_null": t(shape=None),
        "dtype_unknown": t(dtype="F64"),
        "dtype_number": t(dtype=3),
        "offsets_reversed": t(data_offsets=[4, 0]),
        "offsets_past_end": t(data_offsets=[0, 2**63]),
        "offsets_wrap": t(data_offsets=[2**64 - 4, 0]),
        "offsets_three": t(data_offsets=[0, 4, 8]),
        "offsets_negative": t(data_offsets=[-4, 0]),
        "offsets_missing": {"w": {"dtype": "F32", "shape": [1]}},
        "entry_not_object": {"w": [1, 2]},
        "metadata_not_object": {"__metadata__": [1]},
        "metadata_value_number": {"__metadata__": {"k": 1}},
        "header_array": [1, 2, 3],
        "header_string": "x",
        "overlap": {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
                    "b": {"dtype": "F32", "shape": [1], "data_offsets": [2, 6]}},
    }
    for name, h in cases.items():
        write(p, name, safetensors(h, b"\0" * 8))
    write(p, "header_len_huge", safetensors(ok, b"", claimed=2**63))
    write(p, "header_len_max", safetensors(ok, b"", claimed=2**64 - 1))
    write(p, "header_len_100mb", safetensors(ok, b"", claimed=100 << 20))
    write(p, "header_len_past_end", safetensors(ok, b"", claimed=1000))
    write(p, "header_not_json", safetensors(b"{not json"))
    write(p, "header_bad_utf8", safetensors(b'{"\xff\xfe": 1}'))
    write(p, "header_deep_nesting", safetensors(b"[" * 100000 + b"]" * 100000))
    write(p, "seven_bytes", b"\x01\0\0\0\0\0\0")


# ---- config.json -------------------------------------------------------------------------------
UNET = {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": 8,
        "block_out_channels": [32, 32, 64], "cross_attention_dim": 32,
        "down_block_types": ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
        "in_channels": 4, "out_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
        "norm_eps": 1e-05, "sample_size": 8, "flip_sin_to_cos": True, "freq_shift": 0}
VAE = {"_class_name": "AutoencoderKL", "block_out_channels": [32, 32, 64, 64],
       "down_block_types": ["DownEncoderBlock2D"] * 4, "up_block_types": ["UpDecoderBlock2D"] * 4,
       "in_channels": 3, "out_channels": 3, "latent_channels": 4, "layers_per_block": 1,
       "norm_num_groups": 32, "sample_size": 64, "scaling_factor": 0.18215}
CLIP = {"architectures": ["CLIPTextModel"], "eos_token_id": 49407, "hidden_act": "quick_gelu",
        "hidden_size": 32, "intermediate_size": 128, "layer_norm_eps": 1e-05,
        "max_position_embeddings": 77, "num_attention_heads": 4, "num_hidden_layers": 3,
        "projection_dim": 32, "vocab_size": 49408}
SCHED = {"_class_name": "EulerDiscreteScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
         "beta_start": 0.00085, "num_train_timesteps": 1000, "prediction_type": "epsilon",
         "steps_offset": 1, "timestep_spacing": "leading"}


def gen_config():
    p = "config_json"
    for name, cfg in {"unet": UNET, "vae": VAE, "clip": CLIP, "sched": SCHED}.items():
        s = json.dumps(cfg, indent=1).encode()
        write(p, f"valid_{name}", s)
        mutations(p, name, s, flips=3, cuts=3)
    bad = {
        "unet_channels_huge": dict(UNET, block_out_channels=[2**62, 2**62, 2**62]),
        "unet_channels_negative": dict(UNET, block_out_channels=[-32, 32, 64]),
        "unet_channels_zero": dict(UNET, block_out_channels=[0, 0, 0]),
        "unet_channels_empty": dict(UNET, block_out_channels=[], down_block_types=[], up_block_types=[]),
        "unet_heads_list_short": dict(UNET, attention_head_dim=[8]),
        "unet_heads_zero": dict(UNET, attention_head_dim=0),
        "unet_groups_zero": dict(UNET, norm_num_groups=0),
        "unet_groups_huge": dict(UNET, norm_num_groups=2**63 - 1),
        "unet_layers_huge": dict(UNET, layers_per_block=10**12),
        "unet_block_unknown": dict(UNET, down_block_types=["Nope", "Nope", "Nope"]),
        "unet_types_wrong": dict(UNET, in_channels="4"),
        "unet_int_as_float": dict(UNET, in_channels=4.5),
        "unet_uint64": dict(UNET, in_channels=2**64 - 1),
        "unet_sample_negative": dict(UNET, sample_size=-8),
        "vae_latent_zero": dict(VAE, latent_channels=0),
        "vae_scaling_string": dict(VAE, scaling_factor="x"),
        "vae_channels_mismatch": dict(VAE, block_out_channels=[32]),
        "clip_heads_zero": dict(CLIP, num_attention_heads=0),
        "clip_hidden_indivisible": dict(CLIP, hidden_size=30),
        "clip_act_unknown": dict(CLIP, hidden_act="relu6"),
        "clip_arch_not_list": dict(CLIP, architectures="CLIPTextModel"),
        "clip_eos_negative": dict(CLIP, eos_token_id=-5),
        "clip_vocab_huge": dict(CLIP, vocab_size=2**62),
        "sched_steps_zero": dict(SCHED, num_train_timesteps=0),
        "sched_steps_huge": dict(SCHED, num_train_timesteps=10**12),
        "sched_beta_reversed": dict(SCHED, beta_start=0.5, beta_end=0.001),
        "sched_beta_negative": dict(SCHED, beta_start=-1.0),
        "sched_schedule_unknown": dict(SCHED, beta_schedule="cosine_x"),
        "sched_prediction_unknown": dict(SCHED, prediction_type="noise"),
        "sched_spacing_unknown": dict(SCHED, timestep_spacing="random"),
        "sched_offset_huge": dict(SCHED, steps_offset=10**15),
        "sched_betas_list": dict(SCHED, trained_betas=[0.1] * 3),
    }
    for name, cfg in bad.items():
        write(p, name, json.dumps(cfg))
    write(p, "top_array", "[1, 2]")
    write(p, "top_null", "null")
    write(p, "empty", "")
    write(p, "not_json", "{'a': 1}")
    write(p, "nan_literal", '{"in_channels": NaN}')
    write(p, "huge_exponent", '{"norm_eps": 1e999999, "beta_start": -1e400}')
    write(p, "bad_utf8", b'{"_class_name": "\xc3\x28"}')
    write(p, "deep_nesting_value", '{"in_channels": ' + "[" * 100000 + "]" * 100000 + "}")
    write(p, "deep_nesting_unclosed", "{\"a\":" + "[" * 100000)
    write(p, "duplicate_keys", '{"in_channels": 4, "in_channels": "x"}')


# ---- tokenizers --------------------------------------------------------------------------------
def gen_clip():
    p = "clip_bpe"
    vocab = {"<|startoftext|>": 5, "<|endoftext|>": 6, "a</w>": 0, "b</w>": 1, "a": 2, "b": 3, "ab</w>": 4}
    merges = "#version: 0.2\na b</w>\na b\n"
    seed = (json.dumps(vocab) + "\0" + merges + "\0a ab ba b").encode()
    write(p, "valid_small", seed)
    mutations(p, "v", seed, flips=10)
    bad = {
        "vocab_array": ("[1,2]", merges), "vocab_id_string": ('{"<|startoftext|>": "5"}', merges),
        "vocab_id_negative": (json.dumps(dict(vocab, a=-1)), merges),
        "vocab_id_huge": (json.dumps(dict(vocab, a=2**63)), merges),
        "vocab_id_float": (json.dumps(dict(vocab, a=1.5)), merges),
        "vocab_missing_eos": ('{"<|startoftext|>": 0}', merges),
        "vocab_empty": ("", merges), "vocab_not_json": ("{", merges),
        "merges_one_token": (json.dumps(vocab), "#version: 0.2\nab\n"),
        "merges_three_tokens": (json.dumps(vocab), "#version: 0.2\na b c\n"),
        "merges_no_header": (json.dumps(vocab), "a b\n"),
        "merges_empty": (json.dumps(vocab), ""),
        "merges_binary": (json.dumps(vocab), "\xff\xfe\x01 \x02\n" * 4),
        "merges_long_line": (json.dumps(vocab), "#version: 0.2\n" + "a" * 100000 + " b\n"),
    }
    for name, (v, m) in bad.items():
        write(p, name, (v + "\0" + m).encode("utf-8", "surrogateescape"))
    write(p, "vocab_deep_nesting", '{"a": ' + "[" * 100000 + "]" * 100000 + "}\0" + merges)
    write(p, "text_bad_utf8", json.dumps(vocab).encode() + b"\0" + merges.encode() + b"\0\xff\xc3(\xed\xa0\x80")
    write(p, "text_long_word", json.dumps(vocab).encode() + b"\0" + merges.encode() + b"\0" + b"ab" * 20000)
    write(p, "text_entities", json.dumps(vocab).encode() + b"\0" + merges.encode() + b"\0&#99999999999; &#x110000; &amp;amp;")


def gen_wordpiece():
    p = "wordpiece"
    vocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\ncat\n##s\n月\n亮\n"
    seed = (vocab + "\0The cats 月亮 café").encode()
    write(p, "valid_small", seed)
    mutations(p, "v", seed, flips=8)
    write(p, "missing_unk", "[PAD]\n[CLS]\n[SEP]\n")
    write(p, "empty", "")
    write(p, "binary", bytes(range(256)) * 4)
    write(p, "crlf_lines", vocab.replace("\n", "\r\n"))
    write(p, "duplicates", vocab + vocab)
    write(p, "long_line", vocab + "x" * 200000 + "\n")
    write(p, "text_bad_utf8", vocab.encode() + b"\0\xff\xfe\xc3(\xf4\x90\x80\x80")
    write(p, "text_long_word", vocab.encode() + b"\0" + "cat".encode() * 50000)
    write(p, "text_combining", vocab.encode() + b"\0" + ("e" + "\u0301" * 5000).encode())


def pb_varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_field(num, wire, payload):
    key = pb_varint(num << 3 | wire)
    if wire == 0:
        return key + pb_varint(payload)
    if wire == 5:
        return key + struct.pack("<f", payload)
    return key + pb_varint(len(payload)) + payload


def gen_spm():
    p = "spm"
    pieces = [("<unk>", 0.0, 2), ("<s>", 0.0, 3), ("</s>", 0.0, 3), ("<pad>", 0.0, 3),
              ("\u2581a", -1.0, 1), ("a", -2.0, 1), ("b", -2.0, 1), ("\u2581", -3.0, 1)]
    body = b"".join(pb_field(1, 2, pb_field(1, 2, s.encode()) + pb_field(2, 5, sc) + pb_field(3, 0, t))
                    for s, sc, t in pieces)
    trainer = pb_field(2, 2, pb_field(3, 0, 1))  # model_type UNIGRAM
    normalizer = pb_field(3, 2, pb_field(1, 2, b"identity"))
    seed = body + trainer + normalizer
    write(p, "valid_unigram", seed)
    write(p, "valid_bpe", body + pb_field(2, 2, pb_field(3, 0, 2)) + normalizer)
    mutations(p, "v", seed, flips=10)
    write(p, "empty", b"")
    write(p, "no_pieces", trainer + normalizer)
    write(p, "model_type_bogus", body + pb_field(2, 2, pb_field(3, 0, 99)) + normalizer)
    write(p, "length_huge", pb_varint(1 << 3 | 2) + pb_varint(2**62) + b"x")
    write(p, "varint_overlong", b"\x08" + b"\xff" * 20)
    write(p, "unk_missing", body[len(pb_field(1, 2, pb_field(1, 2, b"<unk>") + pb_field(2, 5, 0.0) + pb_field(3, 0, 2))):] + trainer)
    write(p, "duplicate_piece", body + pb_field(1, 2, pb_field(1, 2, b"a") + pb_field(3, 0, 1)) + trainer)
    write(p, "charsmap_garbage", body + trainer + pb_field(3, 2, pb_field(2, 2, b"\xff" * 64)))
    write(p, "text_file", "this is not a model\n")
    # Regression (LeakSanitizer): a model lacking the eos / pad piece leaked the loaded model.
    no_eos = [x for x in pieces if x[0] not in ("</s>", "<pad>")]
    write(p, "no_eos_piece", b"".join(pb_field(1, 2, pb_field(1, 2, s.encode()) + pb_field(2, 5, sc) + pb_field(3, 0, t))
                                      for s, sc, t in no_eos) + trainer + normalizer)


# ---- PNG / control images ----------------------------------------------------------------------
def png_chunk(kind, data, crc=None):
    c = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", c & 0xFFFFFFFF)


def png(w, h, color=2, depth=8, text=None, idat=None, ihdr_extra=b""):
    sig = b"\x89PNG\r\n\x1a\n"
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color, 0, 0, 0) + ihdr_extra)
    raw = b"".join(b"\0" + bytes((x * 7 + y * 3) % 256 for x in range(w * 3)) for y in range(h)) if idat is None else None
    body = png_chunk(b"IDAT", zlib.compress(raw) if idat is None else idat)
    t = png_chunk(b"tEXt", b"parameters\0" + text.encode()) if text else b""
    return sig + ihdr + t + body + png_chunk(b"IEND", b"")


def gen_png():
    p = "png"
    seed = png(4, 3, text="a red cube\nSteps: 20")
    write(p, "valid_rgb", seed)
    write(p, "valid_gray", png(3, 3, color=0))
    mutations(p, "v", seed, flips=12)
    write(p, "huge_100000x100000", png(100000, 100000, idat=zlib.compress(b"\0" * 64)))
    write(p, "huge_width_only", png(2**31 - 1, 1, idat=zlib.compress(b"\0" * 64)))
    write(p, "zero_size", png(0, 0, idat=b""))
    write(p, "bad_depth", png(2, 2, depth=7))
    write(p, "bad_color_type", png(2, 2, color=5))
    write(p, "idat_garbage", png(4, 4, idat=b"\x78\x9c" + b"\xff" * 40))
    write(p, "idat_short", png(64, 64, idat=zlib.compress(b"\0" * 10)))
    write(p, "bad_crc", seed[:29] + b"\0\0\0\0" + seed[33:])
    sig = b"\x89PNG\r\n\x1a\n"
    write(p, "chunk_len_huge", sig + struct.pack(">I", 0xFFFFFFF0) + b"tEXt" + b"x" * 16)
    write(p, "text_no_nul", sig + png_chunk(b"tEXt", b"parameters") + png_chunk(b"IEND", b""))
    write(p, "signature_only", sig)
    write(p, "plte_missing", png(2, 2, color=3, idat=zlib.compress(b"\0\0\0\0\0\0")))
    # Other formats stb_image would try: malformed headers of each.
    write(p, "bmp_huge", b"BM" + struct.pack("<IHHI", 70, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, 100000, 100000, 1, 24, 0, 0, 0, 0, 0, 0))
    write(p, "bmp_negative", b"BM" + struct.pack("<IHHI", 70, 0, 0, 54) + struct.pack("<IiiHHIIiiII", 40, -5, -2**31, 1, 24, 0, 0, 0, 0, 0, 0))
    write(p, "gif_truncated", b"GIF89a" + struct.pack("<HH", 65535, 65535) + b"\xf7\0\0")
    write(p, "psd_header", b"8BPS\0\1" + b"\0" * 6 + struct.pack(">HIIHH", 3, 30000, 30000, 8, 3))
    write(p, "jpeg_soi_only", b"\xff\xd8\xff\xc0\0\x11\x08\xff\xff\xff\xff\x03\x01\x22\0\x02\x11\x01\x03\x11\x01")
    write(p, "pnm_huge", b"P6\n100000 100000\n255\n" + b"\0" * 32)
    write(p, "hdr_header", b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 100000 +X 100000\n" + b"\0" * 16)
    write(p, "tga_header", b"\0\0\2" + b"\0" * 9 + struct.pack("<HHBB", 65535, 65535, 24, 0) + b"\0" * 16)


# ---- MindSpore .ckpt ---------------------------------------------------------------------------
def ms_value(tag, dims, ttype, content):
    tensor = b"".join(pb_field(1, 0, d) for d in dims) + pb_field(2, 2, ttype.encode()) + pb_field(3, 2, content)
    return pb_field(1, 2, pb_field(1, 2, tag.encode()) + pb_field(2, 2, tensor))


def gen_mindspore():
    p = "mindspore"
    seed = ms_value("conv.weight", [2, 2], "Float32", b"\0" * 16) + ms_value("norm.gamma", [3], "Float16", b"\1" * 6)
    write(p, "valid_two", seed)
    write(p, "valid_split", ms_value("w", [4], "Float32", b"\0" * 8) + ms_value("w", [4], "Float32", b"\0" * 8))
    mutations(p, "v", seed, flips=12)
    cases = {
        "dims_1e12": ms_value("w", [1000000, 1000000], "Float32", b"\0" * 16),
        "dims_overflow": ms_value("w", [2**40, 2**40, 2**40], "Float32", b"\0" * 16),
        "dims_negative": ms_value("w", [-1], "Float32", b"\0" * 4),
        "type_unknown": ms_value("w", [1], "Complex128", b"\0" * 16),
        "content_short": ms_value("w", [4], "Float32", b"\0" * 3),
        "tag_empty": ms_value("", [1], "Float32", b"\0" * 4),
        "length_huge": pb_varint(1 << 3 | 2) + pb_varint(2**63) + b"\0" * 8,
        "length_past_end": pb_varint(1 << 3 | 2) + pb_varint(100) + b"\0" * 8,
        "varint_overlong": b"\x0a" + b"\xff" * 12 + b"\x01",
        "wire_type_7": bytes([1 << 3 | 7]) + b"\0" * 8,
        "wire_fixed64_cut": bytes([1 << 3 | 1]) + b"\0" * 3,
        "field_zero": b"\x00\x00",
        "split_type_mismatch": ms_value("w", [4], "Float32", b"\0" * 8) + ms_value("w", [4], "Float16", b"\0" * 4),
        "split_dims_mismatch": ms_value("w", [4], "Float32", b"\0" * 8) + ms_value("w", [2, 2], "Float32", b"\0" * 8),
        "nested_length_huge": pb_field(1, 2, pb_varint(2 << 3 | 2) + pb_varint(2**40)),
    }
    for name, data in cases.items():
        write(p, name, data)
    write(p, "empty", b"")


# ---- batch prompt files ------------------------------------------------------------------------
def gen_prompts():
    p = "prompts"
    write(p, "valid_text", "# comment\na red cube\n\n  a blue sphere\r\n")
    jsonl = '{"prompt": "a cat", "steps": 4, "seed": 1, "style": ["s1", "s2"], "style-scale": 2.5}\n' \
            '{"prompt": "a dog", "width": 64, "height": 64, "cfg_scale": 7.5}\n'
    write(p, "valid_jsonl", jsonl)
    mutations(p, "v", jsonl.encode(), flips=8)
    bad = {
        "unknown_key": {"prompt": "x", "stepz": 3},
        "no_prompt": {"steps": 3},
        "steps_string": {"prompt": "x", "steps": "3"},
        "steps_float_huge": {"prompt": "x", "steps": 1e40},
        "width_float_nan_like": {"prompt": "x", "width": -1e300},
        "seed_huge": {"prompt": "x", "seed": 2**64 - 1},
        "seed_float": {"prompt": "x", "seed": 1e30},
        "cfg_huge": {"prompt": "x", "cfg_scale": 1e300},
        "style_wrong": {"prompt": "x", "style": [1, 2]},
        "style_scale_wrong": {"prompt": "x", "style": "s", "style_scale": ["a"]},
        "style_scale_empty": {"prompt": "x", "style": ["a", "b"], "style_scale": []},
        "prompt_number": {"prompt": 5},
        "style_scale_huge": {"prompt": "x", "style": ["a"], "style_scale": [1e300]},
        "steps_nan_like": {"prompt": "x", "steps": -1e19},
        "prompt_null": {"prompt": None},
    }
    for name, spec in bad.items():
        write(p, name, json.dumps(spec) + "\n")
    write(p, "not_object_line", '{"prompt": "a"}\n[1, 2]\n"str"\n')
    write(p, "invalid_json_line", '{"prompt": "a"}\n{"prompt": \n')
    write(p, "bad_utf8", b'{"prompt": "\xff\xfe"}\n')
    write(p, "deep_nesting", '{"prompt": "a", "x": ' + "[" * 100000 + "]" * 100000 + "}\n")
    write(p, "long_prompt_line", "a" * 300000 + "\n")
    write(p, "nul_bytes", b"a\0b\n\0\0\0\n")
    write(p, "only_blank", " \t\n\n\r\n")


def main():
    # Generated files are rewritten; the fuzzers' regressions (regress_*) are kept.
    for root, _, files in os.walk(OUT):
        for f in files:
            if not f.startswith("regress_"):
                os.remove(os.path.join(root, f))
    for gen in (gen_safetensors, gen_config, gen_clip, gen_wordpiece, gen_spm, gen_png, gen_mindspore, gen_prompts):
        gen()
    total = sum(len(files) for _, _, files in os.walk(OUT))
    print(f"{total} corpus files under {OUT}")


if __name__ == "__main__":
    sys.exit(main())
