#!/usr/bin/env python3
"""check_png_parameters.py PNG EXPECTED_JSON: what Pillow and A1111's infotext parser read from a
PNG that pangu-draw wrote (run by test_infotext, which writes both files).

EXPECTED_JSON is {"text": the parameters text, "fields": {key: value}}. Checks that Pillow's
Image.open(PNG).text["parameters"] is exactly "text" (UTF-8 from tEXt or iTXt), and that A1111's
parse_generation_parameters rules (modules/infotext_utils.py: its pattern, prompt / negative
prompt split and JSON unquoting, re-implemented below) give exactly "fields" from Pillow's text.
Exit 0: all equal; 1: a difference (printed); 77: Pillow is not installed (the test skips).
Checked with Python 3.11 and Pillow 13.0.0.
"""
import json
import re
import sys

try:
    from PIL import Image
except ImportError:
    print("Pillow is not installed in", sys.executable)
    sys.exit(77)

# A1111's pattern for one "Key: value" entry of the last line.
PARAM = re.compile(r'\s*(\w[\w \-/]+):\s*("(?:\\.|[^\\"])+"|[^,]*)(?:,|$)')
IMAGE_SIZE = re.compile(r"^(\d+)x(\d+)$")


def unquote(value):
    if not value or value[0] != '"' or value[-1] != '"':
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def a1111_fields(text):
    """The fields A1111's parse_generation_parameters finds (before it adds its defaults)."""
    *lines, last = text.strip().split("\n")
    if len(PARAM.findall(last)) < 3:
        lines.append(last)
        last = ""
    prompt, negative, in_negative = "", "", False
    for line in lines:
        line = line.strip()
        if line.startswith("Negative prompt:"):
            in_negative = True
            line = line[len("Negative prompt:"):].strip()
        if in_negative:
            negative = negative + "\n" + line if negative else line
        else:
            prompt = prompt + "\n" + line if prompt else line
    fields = {"Prompt": prompt, "Negative prompt": negative}
    for key, value in PARAM.findall(last):
        if not value:
            continue  # A1111 skips it (v[0] raises)
        if value[0] == '"' and value[-1] == '"':
            value = unquote(value)
        size = IMAGE_SIZE.match(value)
        if size:
            fields[key + "-1"], fields[key + "-2"] = size.group(1), size.group(2)
        else:
            fields[key] = value
    return fields


def main(png, expected_json):
    with open(expected_json, encoding="utf-8") as f:
        expected = json.load(f)
    text = Image.open(png).text.get("parameters")
    if text != expected["text"]:
        print("Pillow's parameters text differs:\n got ", repr(text), "\n want", repr(expected["text"]))
        return 1
    fields = a1111_fields(text)
    wrong = {k: (fields.get(k), v) for k, v in expected["fields"].items() if fields.get(k) != v}
    extra = sorted(set(fields) - set(expected["fields"]))
    for key, (got, want) in wrong.items():
        print(f"field {key!r}: got {got!r}, want {want!r}")
    if extra:
        print("unexpected fields:", extra)
    return 1 if wrong or extra else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
