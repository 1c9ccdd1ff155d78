#!/usr/bin/python3
"""Export a PyTorch DeepLSTM predictor to a safetensors model file tdl loads.

    /usr/bin/python3 tools/export_predictor.py [STATE_DICT.pt] -o MODEL.safetensors [--seed S]

With STATE_DICT.pt (torch.save(model.state_dict())) its weights are exported;
without, a freshly PyTorch-initialised DeepLSTM from torch.manual_seed(S).
Then: tdl_predictor_load (or any tdl command taking --model / --init).
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import write_safetensors  # noqa: E402
from fixturegen.predictor_torch import DeepLSTM  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
ap.add_argument("state_dict", nargs="?")
ap.add_argument("-o", "--output", required=True)
ap.add_argument("--seed", type=int, default=0)
a = ap.parse_args()
torch.manual_seed(a.seed)
model = DeepLSTM()
if a.state_dict:
    model.load_state_dict(torch.load(a.state_dict, map_location="cpu"))
write_safetensors(a.output, model.state_dict(), {"source": "tools/export_predictor.py"})
print(f"{a.output}: {sum(p.numel() for p in model.parameters())} parameters")
