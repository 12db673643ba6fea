#!/usr/bin/env python3
"""a1111_infotext_reference.py TEXTS_JSON: how A1111 reads PNG "parameters" texts, the reference
for tools/infotext_read.cpp (run by test_cli_recipes' InfotextRead tests).

TEXTS_JSON is a list of texts; prints a JSON list with, for each, {"prompt", "negative",
"settings": [[key, value], ...]}: the rules of modules/infotext_utils.py
parse_generation_parameters (stable-diffusion-webui 1.10), re-implemented here from its
documented behaviour: the text stripped and split in lines; the last line holds the settings
when Python's `re` finds at least 3 matches of its pattern there; prompt lines are stripped, a
line starting with "Negative prompt:" starts the negative prompt; each match's value is
JSON-unquoted when it starts and ends with a double quote; an empty value fails on v[0] in A1111
and the entry is dropped. (A1111's defaults for absent keys and its Size-1/Size-2 split are left
out: the C++ side keeps "Size" whole.) Plain Python 3.11, no packages.
"""
import json
import re
import sys

PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')


def unquote(value):
    if value[0] != '"' or value[-1] != '"':
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def parse(text):
    prompt, negative, done = "", "", False
    *lines, last = text.strip().split("\n")
    if len(PARAM.findall(last)) < 3:
        lines.append(last)
        last = ""
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            done = True
            line = line[16:].strip()
        if done:
            negative += ("" if negative == "" else "\n") + line
        else:
            prompt += ("" if prompt == "" else "\n") + line
    settings = []
    for key, value in PARAM.findall(last):
        try:
            settings.append([key, unquote(value)])
        except IndexError:  # value == "": A1111 prints "Error parsing" and goes on
            pass
    return {"prompt": prompt, "negative": negative, "settings": settings}


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        texts = json.load(f)
    json.dump([parse(t) for t in texts], sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
