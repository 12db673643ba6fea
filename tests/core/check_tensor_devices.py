#!/usr/bin/env python3
"""check_tensor_devices.py SRC_DIR: the CUDA path guarded on CPU-only machines.

Every tensor a run makes must be made on the device of the tensors it meets; on a CPU-only CI a
tensor made on the CPU by mistake goes unnoticed until a GPU run fails. (LibTorch's "meta"
device cannot stand in from C++: its convolution and several reductions have no meta kernels
outside Python.) So every tensor factory call in the code that runs models must say where its
tensor goes: in the statement, `options()` / `.device(` / `p.tensor()` (another tensor's or
the module's options), `.to(` (drawn on the CPU and moved, e.g. seeded noise), or a trailing
`// cpu:` comment saying why the CPU is meant. Exit 1 listing the calls that say nothing.
"""
import pathlib
import re
import sys

FOLDERS = ["nn", "unet", "vae", "text_encoders", "guidance", "pipeline", "coop"]
FACTORY = re.compile(r"torch::(zeros|ones|empty|full|arange|linspace|tensor|randn|rand|eye|from_blob)\(")
SAYS_WHERE = re.compile(r"options\(\)|\.device\(|\.tensor\(\)|\.to\(|// cpu:")


def statement_at(text: str, start: int) -> str:
    end = text.find(";", start)
    line_end = text.find("\n", end) if end >= 0 else -1
    return text[start:line_end if line_end >= 0 else len(text)]


def main() -> int:
    src = pathlib.Path(sys.argv[1])
    bad = []
    for folder in FOLDERS:
        for path in sorted((src / folder).glob("*.cpp")):
            text = path.read_text(encoding="utf-8")
            for m in FACTORY.finditer(text):
                stmt = statement_at(text, m.start())
                if not SAYS_WHERE.search(stmt):
                    line = text.count("\n", 0, m.start()) + 1
                    bad.append(f"{path.relative_to(src.parent)}:{line}: {stmt.strip().splitlines()[0]}")
    for b in bad:
        print(b)
    if bad:
        print(f"{len(bad)} tensor(s) made without saying on which device; see {__file__}")
        return 1
    print("every tensor factory call in", ", ".join(FOLDERS), "names its device")
    return 0


if __name__ == "__main__":
    sys.exit(main())
