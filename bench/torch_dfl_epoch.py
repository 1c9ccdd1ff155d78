#!/usr/bin/python3
"""bench/torch_dfl_epoch.py: the PyTorch twin of one DFL training epoch, for
BENCHMARKS.md. The authors' loop (spec section 3): 23V's 525 training rows,
batches of 64 (the last incomplete one dropped: 8 batches), for t = 7..27 one
forward, the DFL loss, backward and one Adam step (168 steps), train mode.

Usage: /usr/bin/python3 bench/torch_dfl_epoch.py [23V.csv] [--threads N] [--epochs E]
Prints one line: threads, seconds per epoch (best of E), peak RSS in MB.
Run it with OMP_WAIT_POLICY=PASSIVE for 2 threads (the default spinning wait
is much slower on this machine); bench/run.sh runs 1 and 2 threads.
"""
import argparse
import csv
import math
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

import torch  # noqa: E402

from fixturegen.predictor_torch import DeepLSTM, dfl_loss  # noqa: E402


def load_rows(path):
    with open(path, newline="") as f:
        vals = [float(r["ContextTokens"]) for r in csv.DictReader(f)]
    lo, hi = min(vals), max(vals)
    norm = [(v - lo) / (hi - lo) for v in vals]
    n_rows = len(norm) // 28
    rows = torch.tensor(norm[: n_rows * 28], dtype=torch.float32).view(n_rows, 28)
    n_test = math.ceil(0.3 * n_rows)
    return rows[: n_rows - n_test]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=os.path.join(HERE, "..", "..", "shared", "data",
                                                             "azure", "23V.csv"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rows = load_rows(a.data)
    model = DeepLSTM().train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-6)
    B = 64
    n_batches = rows.shape[0] // B
    best = float("inf")
    steps = 0
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        for b in range(n_batches):
            batch = rows[b * B:(b + 1) * B]
            for t in range(7, 28):
                x = batch[:, t - 7:t].unsqueeze(-1)
                y = batch[:, t]
                opt.zero_grad()
                loss = dfl_loss(model(x), y)
                loss.backward()
                opt.step()
                steps += 1
        best = min(best, time.perf_counter() - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch {torch.__version__} threads {a.threads}: {best:.3f} s per DFL epoch "
          f"({n_batches * 21} Adam steps, best of {a.epochs}), peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
