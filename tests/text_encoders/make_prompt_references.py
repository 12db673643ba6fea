#!/usr/bin/env python3
"""make_prompt_references.py: reference text conditioning for A1111 prompt syntax (issue 19).

Re-implements, from AUTOMATIC1111/stable-diffusion-webui's documented behaviour
(modules/prompt_parser.py parse_prompt_attention, modules/sd_hijack_clip.py tokenize_line /
process_tokens, modules/sd_emphasis.py "Original", textual_inversion's name lookup), the way A1111
turns a prompt into the UNet context, and runs transformers' CLIPTextModel on the fixture text
encoders (/work/shared/fixtures/{sd1,sd2,xl,pangu}/model):
  - emphasis: (a) x1.1, [a] /1.1, (a:w), nesting, \\( \\) \\[ \\] \\\\ escapes, BREAK, unbalanced
    brackets closed at the end (A1111's rule);
  - chunks of 75 tokens, each [BOS] + tokens + [EOS] padded as the model's tokenizer pads (CLIP-L:
    EOS, OpenCLIP: id 0, BERT: [PAD]); comma backtrack 20; BREAK starts a new chunk; chunk
    contexts concatenated along the sequence;
  - emphasis on the hidden states: z *= w; z *= mean(z_before) / mean(z_after), per chunk;
  - clip skip N (A1111): an encoder whose model default is the last layer takes
    final_layer_norm(hidden_states[-N]) for N >= 2; an encoder whose default is the penultimate
    layer (SDXL, PanGu's second encoder) takes hidden_states[-max(N, 2)] without the final norm
    (A1111 ignores clip skip <= 2 on SDXL);
  - textual inversion: a token sequence equal to an embedding name's tokens becomes the
    embedding's vectors (token id 0 in the ids, the vectors put in after the token embedding, as
    A1111's EmbeddingsWithFixes does); SDXL embeddings carry clip_l / clip_g.
  - SDXL / PanGu: each encoder chunks and weights on its own; contexts concatenated on channels;
    pooled = the projected pooled state of the last encoder's first chunk.

The reference parser (parse_attention) was checked against A1111's own parse_prompt_attention
(modules/prompt_parser.py, run locally, not included here) on every prompt of the output: the
28 cases and the 600 random parser_cases give the same fragments and the same float() errors.

Made with: python 3.11, torch 2.15.0, transformers 4.46.3, safetensors 0.8.0, ftfy 6.3.1 (with
ftfy, transformers' CLIPTokenizer cleans and splits text as openai CLIP does, the fixtures'
convention; without it CJK text is split per character).
Run: pip install --target /tmp/ftfy ftfy==6.3.1
     PYTHONPATH=/tmp/ftfy /work/pyref-io/bin/python tests/text_encoders/make_prompt_references.py
Writes tests/text_encoders/data/prompt_references.{safetensors,json}, the embeddings and
final_norm_patch.safetensors (random final-layer-norm parameters put into the fixture encoders:
theirs are the identity, which makes A1111's mean restoration 0/0; see make_norm_patch).
"""
import json
import os
import re

import ftfy  # noqa: F401  (CLIPTokenizer uses it when importable; required for the CJK cases)
import torch
from safetensors.torch import load_file, save_file
from transformers import (BertTokenizer, CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection,
                          CLIPTokenizer)

FIXTURES = os.environ.get("PD_FIXTURES", "/work/shared/fixtures")
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
CHUNK = 75
BACKTRACK = 20

# ----------------------------------------------------------------------------- parser

# One lexeme per match, tried in this order (A1111's re_attention alternatives).
LEXEME = re.compile(r"\\[()\[\]\\]|\\|\(|\[|:([+-]?[.\d]+)\)|\)|\]|[^\\()\[\]:]+|:")
BREAK_SPLIT = re.compile(r"\s*\bBREAK\b\s*", re.S)


def parse_attention(text):
    """[(text, weight)], weight -1 marking BREAK; A1111's parse_prompt_attention rules."""
    out = []  # lists [text, weight]
    open_round, open_square = [], []

    def scale_from(start, factor):
        for item in out[start:]:
            item[1] *= factor

    for m in LEXEME.finditer(text):
        lex, number = m.group(0), m.group(1)
        if lex.startswith("\\"):
            out.append([lex[1:], 1.0])
        elif lex == "(":
            open_round.append(len(out))
        elif lex == "[":
            open_square.append(len(out))
        elif number is not None and open_round:
            scale_from(open_round.pop(), float(number))
        elif lex == ")" and open_round:
            scale_from(open_round.pop(), 1.1)
        elif lex == "]" and open_square:
            scale_from(open_square.pop(), 1 / 1.1)
        else:
            for i, piece in enumerate(BREAK_SPLIT.split(lex)):
                if i:
                    out.append(["BREAK", -1])
                out.append([piece, 1.0])
    for start in open_round:
        scale_from(start, 1.1)
    for start in open_square:
        scale_from(start, 1 / 1.1)
    if not out:
        out = [["", 1.0]]
    merged = [out[0]]
    for item in out[1:]:
        if item[1] == merged[-1][1]:
            merged[-1][0] += item[0]
        else:
            merged.append(item)
    return [(t, w) for t, w in merged]


# ----------------------------------------------------------------------------- chunks


class Encoder:
    """One tokenizer + text encoder of a fixture model, with its A1111 ids."""

    def __init__(self, model_dir, index, default_layer, norm_patch=None):
        suffix = "" if index == 0 else "_2"
        tok_dir = os.path.join(model_dir, "tokenizer" + suffix)
        enc_dir = os.path.join(model_dir, "text_encoder" + suffix)
        cls = json.load(open(os.path.join(tok_dir, "tokenizer_config.json")))["tokenizer_class"]
        if cls == "BertTokenizer":
            self.tok = BertTokenizer.from_pretrained(tok_dir)
            self.start, self.end = self.tok.cls_token_id, self.tok.sep_token_id
            self.pad = self.tok.pad_token_id
        else:
            self.tok = CLIPTokenizer.from_pretrained(tok_dir)
            self.start, self.end = self.tok.bos_token_id, self.tok.eos_token_id
            self.pad = self.tok.pad_token_id
        comma = self.tok(",", add_special_tokens=False)["input_ids"]
        self.comma = comma[0] if len(comma) == 1 else None
        config = CLIPTextConfig.from_pretrained(enc_dir)
        with_projection = config.architectures[0] == "CLIPTextModelWithProjection"
        self.model = (CLIPTextModelWithProjection if with_projection else CLIPTextModel)(config)
        weights = {k: v.float() for k, v in load_file(os.path.join(enc_dir, "model.safetensors")).items()}
        missing, unexpected = self.model.load_state_dict(weights, strict=False)
        assert not missing and not [k for k in unexpected if "position_ids" not in k], (missing, unexpected)
        if norm_patch is not None:  # (weight, bias) of the final layer norm
            self.model.text_model.final_layer_norm.weight.data.copy_(norm_patch[0])
            self.model.text_model.final_layer_norm.bias.data.copy_(norm_patch[1])
        self.model.eval()
        self.default_layer = default_layer  # "last" | "penultimate"
        self.fixes = None  # [(offset, vectors)] for the next forward

        text_model = self.model.text_model
        inner = text_model.embeddings.token_embedding
        owner = self

        class WithFixes(torch.nn.Module):  # A1111's EmbeddingsWithFixes, for a batch of one
            def forward(self, ids):
                x = inner(ids)
                if owner.fixes:
                    x = x.clone()
                    for offset, vec in owner.fixes:
                        x[0, offset:offset + vec.shape[0]] = vec
                return x

        text_model.embeddings.token_embedding = WithFixes()

    def tokenize(self, text):
        return self.tok(text, add_special_tokens=False)["input_ids"] if text else []


def make_chunks(enc, fragments, embeddings):
    """A1111's tokenize_line: [(tokens[77], weights[77], fixes)]."""
    lookup = []  # (ids of the name, vectors), longest names first
    for name, vec in embeddings:
        lookup.append((enc.tokenize(name), vec))
    lookup.sort(key=lambda e: len(e[0]), reverse=True)
    chunks = []
    cur = {"t": [], "w": [], "f": []}
    last_comma = -1

    def close():
        nonlocal cur, last_comma
        fill = CHUNK - len(cur["t"])
        t = [enc.start] + cur["t"] + [enc.end] * (fill + 1)
        w = [1.0] + cur["w"] + [1.0] * (fill + 1)
        first_end = 1 + len(cur["t"])
        t = t[:first_end + 1] + [enc.pad] * (len(t) - first_end - 1)
        chunks.append((t, w, [(o + 1, v) for o, v in cur["f"]]))
        cur = {"t": [], "w": [], "f": []}
        last_comma = -1

    for text, weight in fragments:
        if text == "BREAK" and weight == -1:
            close()
            continue
        tokens = enc.tokenize(text)
        pos = 0
        while pos < len(tokens):
            tok = tokens[pos]
            if tok == enc.comma:
                last_comma = len(cur["t"])
            elif len(cur["t"]) == CHUNK and last_comma != -1 and len(cur["t"]) - last_comma <= BACKTRACK:
                cut = last_comma + 1
                moved = {"t": cur["t"][cut:], "w": cur["w"][cut:],
                         "f": [(o - cut, v) for o, v in cur["f"] if o >= cut]}
                cur["t"], cur["w"] = cur["t"][:cut], cur["w"][:cut]
                cur["f"] = [(o, v) for o, v in cur["f"] if o < cut]
                close()
                cur = moved
            if len(cur["t"]) == CHUNK:
                close()
            match = next((e for e in lookup if tokens[pos:pos + len(e[0])] == e[0]), None)
            if match is None:
                cur["t"].append(tok)
                cur["w"].append(weight)
                pos += 1
                continue
            ids, vec = match
            if len(cur["t"]) + vec.shape[0] > CHUNK:
                close()
            cur["f"].append((len(cur["t"]), vec))
            cur["t"] += [0] * vec.shape[0]
            cur["w"] += [weight] * vec.shape[0]
            pos += len(ids)
    if cur["t"] or not chunks:
        close()
    return chunks


@torch.no_grad()
def encode_chunk(enc, tokens, weights, fixes, clip_skip, emphasis=True):
    enc.fixes = fixes
    ids = torch.tensor([tokens])
    out = enc.model(input_ids=ids, output_hidden_states=True)
    enc.fixes = None
    hs = out.hidden_states
    if enc.default_layer == "last":
        z = out.last_hidden_state if clip_skip <= 1 else enc.model.text_model.final_layer_norm(hs[-clip_skip])
    else:
        z = hs[-max(clip_skip, 2)]
    pooled = out.text_embeds if hasattr(out, "text_embeds") else None
    if emphasis and any(x != 1.0 for x in weights):  # else the identity (0/0 on a zero mean)
        w = torch.tensor([weights], dtype=torch.float32)
        before = z.mean()
        z = z * w.unsqueeze(-1)
        z = z * (before / z.mean())
    return z[0], (pooled[0] if pooled is not None else None)


def condition(encoders, prompt, clip_skip=0, embeddings=(), syntax="a1111"):
    """context [K*77, C] and pooled (or None) as A1111 computes them."""
    if syntax == "plain":  # one chunk of the tokenizer's own padding and truncation, no weights
        per_encoder = []
        for e in encoders:
            t = e.tok(prompt, padding="max_length", truncation=True, max_length=CHUNK + 2)["input_ids"]
            per_encoder.append([(t, [1.0] * len(t), [])])
    else:
        fragments = parse_attention(prompt)
        per_encoder = [make_chunks(e, fragments, [(n, v[i]) for n, v in embeddings])
                       for i, e in enumerate(encoders)]
    count = max(len(c) for c in per_encoder)
    contexts, pooled = [], None
    for i, (enc, chunks) in enumerate(zip(encoders, per_encoder)):
        while len(chunks) < count:  # A1111's empty_chunk for a shorter row
            chunks.append(make_chunks(enc, [("", 1.0)], [])[0])
        zs = []
        for k, (t, w, f) in enumerate(chunks):
            z, p = encode_chunk(enc, t, w, f, clip_skip)
            zs.append(z)
            if k == 0 and i == len(encoders) - 1:
                pooled = p
        contexts.append(torch.cat(zs, 0))
    ids = [[c[0] for c in chunks] for chunks in per_encoder]
    return torch.cat(contexts, -1), pooled, count, ids


# ----------------------------------------------------------------------------- cases

WORDS = ("red apple, green tree, blue sky, white cloud, old house, small dog, tall tower, "
         "quiet lake, golden field, dark forest, bright moon, soft light, ").split(" ")


def words(n, sep_every=0):
    out = []
    for i in range(n):
        w = WORDS[i % len(WORDS)].strip(",") or "x"
        out.append(w + ("," if sep_every and (i + 1) % sep_every == 0 else ""))
    return " ".join(out)


def cases():
    long2 = words(60, 3) + ", (" + words(25) + ":1.2) [" + words(10) + "]"
    long3 = words(170, 5)
    # 70 comma-free tokens, a comma, then 12 more: the chunk breaks after the comma (backtrack).
    backtrack = words(70) + ", " + words(12)
    nested = "a (((house:1.3)) [on] a (hill:0.5), sun, (((sky)))."
    return [
        ("sd1", "weights", "a photo of a (red:1.3) cat on [a table] ((sitting))", 0, []),
        ("sd1", "nested", nested, 0, []),
        ("sd1", "escapes", r"a \(literal\] sign, \\ back (word) \[x\)", 0, []),
        ("sd1", "two_chunks", long2, 0, []),
        ("sd1", "three_chunks", long3, 0, []),
        ("sd1", "backtrack", backtrack, 0, []),
        ("sd1", "break", "a red cat BREAK a (blue:1.2) dog BREAK", 0, []),
        ("sd1", "clip_skip1", nested, 1, []),
        ("sd1", "clip_skip2", nested, 2, []),
        ("sd1", "clip_skip3", long2, 3, []),
        ("sd1", "embedding_pos", "a photo of myemb, (myemb:1.2) in a field", 0, ["myemb"]),
        ("sd1", "embedding_neg", "blurry, myemb, lowres", 0, ["myemb"]),
        ("sd1", "embedding_long", words(73) + " myemb and more", 0, ["myemb"]),
        ("sd1", "empty", "", 0, []),
        ("sd1", "unbalanced_open", "a (red cat [on a mat", 0, []),
        ("sd1", "unbalanced_close", "a red) cat] on :1.2) a mat", 0, []),
        ("sd1", "bad_weight", "a (red:abc) cat (dog: 1.5)", 0, []),
        ("sd1", "leftover_tag", "a cat <lora:foo:0.5> <unknown> :", 0, []),
        ("sd1", "plain", "a (red:1.3) cat " + words(80), 0, [], "plain"),
        ("sd2", "two_chunks", long2, 0, []),
        ("sd2", "clip_skip2", nested, 2, []),
        ("sd2", "empty", "", 0, []),
        ("xl", "two_chunks", long2, 0, []),
        ("xl", "clip_skip3", nested, 3, []),
        ("xl", "embedding", "a (xlemb:1.1) portrait, detailed", 0, ["xlemb"]),
        ("xl", "empty", "", 0, []),
        ("pangu", "weights", "一只(红色:1.3)的猫，坐在[桌子]上, a (cute:1.2) cat", 0, []),
        ("pangu", "two_chunks", "（山水画，" * 12 + "(云:1.2)" * 6 + ", a (misty:0.8) mountain", 0, []),
        ("pangu", "empty", "", 0, []),
    ]


def random_parser_cases(count=600):
    """Random prompts over the syntax's characters, parsed by the reference parser (an error
    where Python's float() refuses a weight A1111's pattern accepted)."""
    import random
    rng = random.Random(1911)
    alphabet = ["(", ")", "[", "]", ":", "\\", "1.2", ".5", "-1", "+2", "0", "1.2.3", ".", "BREAK",
                " ", "  ", "a", "cat", ",", "熊猫", "，", "_", "\n", "<lora:x:0.5>", "é", ":1.5)", ":.)",
                ":1.2.3)", ":-0.5)"]
    out = []
    for _ in range(count):
        prompt = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        try:
            out.append({"prompt": prompt, "fragments": parse_attention(prompt)})
        except ValueError:
            out.append({"prompt": prompt, "error": True})
    return out


def make_embeddings():
    g = torch.Generator().manual_seed(19)
    sd1 = {"emb_params": torch.randn(3, 32, generator=g) * 0.05}
    xl = {"clip_l": torch.randn(2, 32, generator=g) * 0.05, "clip_g": torch.randn(2, 64, generator=g) * 0.05}
    save_file(sd1, os.path.join(DATA, "myemb.safetensors"))
    save_file(xl, os.path.join(DATA, "xlemb.safetensors"))
    return {"myemb": [sd1["emb_params"]], "xlemb": [xl["clip_l"], xl["clip_g"]]}


def make_norm_patch(layers):
    """The fixture encoders' final layer norms are the identity (weight 1, bias 0): every
    last-layer state then has a mean of ~0 and A1111's mean restoration divides ~0 by ~0. The
    references use random final-norm parameters instead (saved here; the C++ test applies the same)."""
    g = torch.Generator().manual_seed(1919)
    patch = {}
    for model, per in layers.items():
        for i in range(len(per)):
            folder = "text_encoder" + ("" if i == 0 else "_2")
            width = json.load(open(os.path.join(FIXTURES, model, "model", folder, "config.json")))["hidden_size"]
            patch[f"{model}.{folder}.weight"] = 1 + 0.2 * torch.randn(width, generator=g)
            patch[f"{model}.{folder}.bias"] = 0.05 + 0.1 * torch.randn(width, generator=g)
    save_file(patch, os.path.join(DATA, "final_norm_patch.safetensors"))
    return patch


def main():
    os.makedirs(DATA, exist_ok=True)
    torch.manual_seed(0)
    embs = make_embeddings()
    layers = {"sd1": ["last"], "sd2": ["last"], "xl": ["penultimate", "penultimate"],
              "pangu": ["last", "penultimate"]}
    patch = make_norm_patch(layers)
    encoders = {}
    tensors, meta = {}, []
    for case in cases():
        model, name, prompt, skip, emb_names = case[:5]
        syntax = case[5] if len(case) > 5 else "a1111"
        if model not in encoders:
            mdir = os.path.join(FIXTURES, model, "model")
            encoders[model] = []
            for i, layer in enumerate(layers[model]):
                folder = "text_encoder" + ("" if i == 0 else "_2")
                norm = (patch[f"{model}.{folder}.weight"], patch[f"{model}.{folder}.bias"])
                encoders[model].append(Encoder(mdir, i, layer, norm))
        ctx, pooled, count, ids = condition(encoders[model], prompt, skip,
                                       [(n, embs[n]) for n in emb_names], syntax)
        key = f"{model}.{name}"
        tensors[key + ".context"] = ctx.contiguous()
        if pooled is not None:
            tensors[key + ".pooled"] = pooled.contiguous()
        meta.append({"key": key, "model": model, "prompt": prompt, "clip_skip": skip,
                     "embeddings": emb_names, "syntax": syntax, "chunks": count, "ids": ids,
                     "fragments": parse_attention(prompt) if syntax == "a1111" else None})
        print(f"{key}: {count} chunk(s), context {tuple(ctx.shape)}")
    save_file(tensors, os.path.join(DATA, "prompt_references.safetensors"))
    with open(os.path.join(DATA, "prompt_references.json"), "w") as f:
        json.dump({"made_with": "torch 2.15.0, transformers 4.46.3, safetensors 0.8.0, ftfy 6.3.1",
                   "embeddings": {"myemb": "myemb.safetensors", "xlemb": "xlemb.safetensors"},
                   "cases": meta, "parser_cases": random_parser_cases()}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
