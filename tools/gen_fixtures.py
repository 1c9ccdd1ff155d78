#!/usr/bin/python3
"""Write the PyTorch reference fixtures the C tests compare against.

Run with Debian's python3-torch (the python3 first on PATH may lack torch):

    /usr/bin/python3 tools/gen_fixtures.py tests/fixtures        (or: make fixtures)

Each module in tools/fixturegen/ defines generate(save) and calls
save(name, tensors, meta) once per fixture file; tensors is a dict of
name -> torch tensor (written as float32). Inputs are drawn from a fixed
torch seed, so the files are reproducible; parameters use PyTorch's own
initialisation, and gradients are those of sum(out * R) for a stored random R.

The safetensors writer below is ours (the format is 8 bytes of header length,
a JSON header, raw little-endian data), so no extra Python package is needed.
"""
import importlib
import json
import os
import pkgutil
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def write_safetensors(path, tensors, meta=None):
    header = {}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        a = t.detach().to(torch.float32).contiguous().cpu().numpy()
        raw = a.astype('<f4').tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if meta:
        header["__metadata__"] = {str(k): str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "tests", "fixtures")
    only = set(sys.argv[2:])
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    total = 0

    def save(name, tensors, meta=None):
        nonlocal total
        path = os.path.join(out_dir, name + ".safetensors")
        m = {"generator": "tools/gen_fixtures.py", "torch": torch.__version__}
        m.update(meta or {})
        write_safetensors(path, tensors, m)
        size = os.path.getsize(path)
        total += size
        print(f"{path}: {len(tensors)} tensors, {size} bytes")

    pkg = os.path.join(HERE, "fixturegen")
    for mod in sorted(m.name for m in pkgutil.iter_modules([pkg])):
        if only and mod not in only:
            continue
        m = importlib.import_module("fixturegen." + mod)
        if hasattr(m, "generate"):  # helper modules (e.g. unet_torch) define none
            m.generate(save)
    print(f"total {total} bytes")


if __name__ == "__main__":
    main()
