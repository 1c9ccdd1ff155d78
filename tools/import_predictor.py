#!/usr/bin/python3
"""Load a tdl model file into the PyTorch DeepLSTM and print its prediction.

    /usr/bin/python3 tools/import_predictor.py MODEL.safetensors [v1 ... v7]

The seven inputs are normalised values (default 0.1 0.2 ... 0.7); the model
runs in eval mode (no dropout), as tdl's inference. Sizes come from the file's
metadata (T, H1, H2, F, dropout) when present.
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fixturegen.predictor_torch import DeepLSTM  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    tensors = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", f"{name}: dtype {e['dtype']}"
        lo, hi = e["data_offsets"]
        a = np.frombuffer(raw[base + lo:base + hi], dtype="<f4").reshape(e["shape"])
        tensors[name] = torch.from_numpy(a.copy())
    return tensors, meta


tensors, meta = read_safetensors(sys.argv[1])
sizes = {k: int(meta[k]) for k in ("T", "H1", "H2") if k in meta}
model = DeepLSTM(T=sizes.get("T", 7), H1=sizes.get("H1", 128), H2=sizes.get("H2", 64),
                 F1=int(meta.get("F", 32)), p=float(meta.get("dropout", 0.3))).eval()
model.load_state_dict(tensors)  # strict: every name and shape must match
x = [float(v) for v in sys.argv[2:]] or [0.1 * (i + 1) for i in range(sizes.get("T", 7))]
with torch.no_grad():
    y = model(torch.tensor(x, dtype=torch.float32).reshape(1, -1, 1))
print(f"torch prediction: {y.item():.9g}")
