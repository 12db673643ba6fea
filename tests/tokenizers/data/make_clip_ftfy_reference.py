#!/usr/bin/env python3
# make_clip_ftfy_reference.py: writes clip_ftfy_reference.json, the prompt corpora with the ids of
# openai CLIP's own tokenizer (clip/simple_tokenizer.py: ftfy.fix_text, html.unescape twice,
# whitespace, lower, BPE) and ftfy.fix_text's output where it changes the text; test_text_fix.cpp
# compares the C++ tokenizer and text_fix::fix_text to them.
#
# Made with: python 3.11.7 (unicodedata 14.0.0), ftfy 6.3.1, regex 2026.5.9, openai-clip 1.0.1
# (PyPI; its tokenizer file and bundled bpe_simple_vocab_16e6.txt.gz are loaded directly, without
# torch), optionally transformers 4.57.3 (slow CLIPTokenizer, which uses ftfy) as a cross-check:
#   python3 -m venv /work/pyref
#   /work/pyref/bin/pip install ftfy==6.3.1 regex==2026.5.9 transformers==4.57.3
#   /work/pyref/bin/pip install --no-deps openai-clip==1.0.1
#   /work/pyref/bin/python make_clip_ftfy_reference.py PartiPrompts.tsv ViLG-300.csv VOCAB_DIR
# reads the upstream corpora (README.md says where they come from) and edge_cases.json, tokenizes
# them and checks that openai's vocabulary is VOCAB_DIR/vocab.json (the fixtures' SD 1.x tokenizer,
# ../shared/fixtures/sd1/model/tokenizer), so the ids are those of the fixtures' vocabulary.
import csv
import html
import importlib.util
import json
import os
import sys

import ftfy
import regex

HERE = os.path.dirname(os.path.abspath(__file__))


def write_reference(made_by, entries):
    # One prompt a line, so that the file diffs well and stays small.
    with open(os.path.join(HERE, "clip_ftfy_reference.json"), "w", encoding="utf-8") as f:
        f.write('{"made_by": %s,\n "prompts": [\n' % json.dumps(made_by))
        f.write(",\n".join("  " + json.dumps(e, ensure_ascii=False) for e in entries))
        f.write("\n]}\n")


def read_json(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def read_corpus(parti_tsv, vilg_csv):
    with open(parti_tsv, encoding="utf-8", newline="") as f:
        parti = [row[0] for row in list(csv.reader(f, delimiter="\t"))[1:]]
    with open(vilg_csv, encoding="utf-8-sig", newline="") as f:
        vilg = list(csv.reader(f))[1:]  # Prompt, 文本, 类别, 来源
    corpus = ([{"source": "PartiPrompts", "text": t} for t in parti] +
              [{"source": "ViLG-300 zh", "text": row[1]} for row in vilg] +
              [{"source": "ViLG-300 en", "text": row[0]} for row in vilg])
    return corpus


def openai_tokenizer():
    spec = importlib.util.find_spec("clip")
    folder = os.path.dirname(spec.origin)
    module_spec = importlib.util.spec_from_file_location(
        "clip_simple_tokenizer", os.path.join(folder, "simple_tokenizer.py"))
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)  # imports ftfy, regex, html, gzip only
    return module, module.SimpleTokenizer()


def check_vocab(tokenizer, vocab_dir):
    with open(os.path.join(vocab_dir, "vocab.json"), encoding="utf-8") as f:
        vocab = json.load(f)
    if vocab != tokenizer.encoder:
        sys.exit("openai's vocabulary differs from %s/vocab.json" % vocab_dir)


def ids_without_ftfy(module, tokenizer, text):
    # The same pipeline with ftfy left out: what the C++ tokenizer did before.
    clean = module.whitespace_clean(html.unescape(html.unescape(text)).strip()).lower()
    ids = []
    for token in regex.findall(tokenizer.pat, clean):
        token = "".join(tokenizer.byte_encoder[b] for b in token.encode("utf-8"))
        ids.extend(tokenizer.encoder[t] for t in tokenizer.bpe(token).split(" "))
    return ids


def transformers_check(vocab_dir, entries):
    try:
        import transformers
        from transformers import CLIPTokenizer
    except ImportError:
        print("transformers not installed: cross-check skipped")
        return
    hf = CLIPTokenizer(os.path.join(vocab_dir, "vocab.json"), os.path.join(vocab_dir, "merges.txt"))
    assert hf.fix_text is not None, "transformers did not pick up ftfy"
    differ = [e for e in entries
              if hf(e["text"], add_special_tokens=False)["input_ids"] != e["ids"]]
    print("transformers %s CLIPTokenizer (ftfy): %d of %d prompts differ from openai CLIP"
          % (transformers.__version__, len(differ), len(entries)))
    for e in differ:
        print("  %s: %r" % (e["source"], e["text"][:80]))


def make_reference(parti_tsv, vilg_csv, vocab_dir):
    module, tokenizer = openai_tokenizer()
    check_vocab(tokenizer, vocab_dir)
    entries = read_corpus(parti_tsv, vilg_csv) + read_json("edge_cases.json")
    changed = {}
    for e in entries:
        e["ids"] = tokenizer.encode(e["text"])
        fixed = ftfy.fix_text(e["text"])
        if fixed != e["text"]:
            e["ftfy"] = fixed
        if fixed != ftfy.fix_text(e["text"], fix_encoding=False):
            sys.exit("fix_encoding (not reproduced in C++) changes %r" % e["text"])
        if e["ids"] != ids_without_ftfy(module, tokenizer, e["text"]):
            changed[e["source"]] = changed.get(e["source"], 0) + 1
    write_reference("tests/tokenizers/data/make_clip_ftfy_reference.py: openai-clip 1.0.1 "
                    "SimpleTokenizer, ftfy 6.3.1, regex 2026.5.9, python 3.11.7", entries)
    counts = {}
    for e in entries:
        counts[e["source"]] = counts.get(e["source"], 0) + 1
    for source, n in counts.items():
        print("%s: %d prompts, ftfy changes the ids of %d" % (source, n, changed.get(source, 0)))
    transformers_check(vocab_dir, entries)


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: make_clip_ftfy_reference.py PARTI_TSV VILG_CSV VOCAB_DIR")
    make_reference(*sys.argv[1:])


if __name__ == "__main__":
    main()
