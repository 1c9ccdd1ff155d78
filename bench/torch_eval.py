#!/usr/bin/python3
"""bench/torch_eval.py: the PyTorch twin of bench/bench_eval.c, one evaluation
of a predictor over the seven Azure test sets of Table I, for BENCHMARKS.md.
As the authors evaluate: each set's first 100,000 values normalised by the
set's own range (23V: its 30% test split), rows of 28, batches of 64 rows
(the last incomplete batch kept, as tdl's pooled form does), for t = 7..27 one
eval-mode forward of (64, 7, 1) under no_grad, forecasts and targets mapped
to tokens with 23V's range, and the pooled normalised regret (exact rule).
The model is the paper's DeepLSTM (tools/fixturegen/predictor_torch.py),
PyTorch-initialised (the work does not depend on the weights).

Usage: /usr/bin/python3 bench/torch_eval.py [AZURE_DIR] [--threads N] [--rounds R]
Prints one line: threads, seconds for the seven sets (best of R, CSV reading
excluded), instances, peak RSS. Run 2 threads with OMP_WAIT_POLICY=PASSIVE.
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
import torch.nn.functional as F  # noqa: E402

from fixturegen.predictor_torch import DeepLSTM, decide, loss_L  # noqa: E402

SETS = ["23V", "24V", "23D", "24D", "23D24D", "23D24V", "24D24V"]


def read(path):
    with open(path, newline="") as f:
        return [float(r["ContextTokens"]) for r in csv.DictReader(f)]


def rows_of(vals, is_train):
    if not is_train:
        vals = vals[:100000]
    lo, hi = min(vals), max(vals)
    n_rows = len(vals) // 28
    z = torch.tensor(vals[: n_rows * 28], dtype=torch.float64)
    z = ((z - lo) / (hi - lo)).float().view(n_rows, 28)
    if is_train:
        n_test = math.ceil(0.3 * n_rows)
        z = z[n_rows - n_test:]
    return z


def evaluate(model, rows, scale, offset):
    yh, yt = [], []
    with torch.no_grad():
        for b in range(0, rows.shape[0], 64):
            batch = rows[b:b + 64]
            for t in range(7, 28):
                out = model(batch[:, t - 7:t].unsqueeze(-1))
                yh.append(F.relu(out).double() * scale + offset)
                yt.append(batch[:, t].double() * scale + offset)
    yh, yt = torch.cat(yh), torch.cat(yt)
    regret = loss_L(decide(yh, "exact"), yt) - loss_L(decide(yt, "exact"), yt)
    return regret.sum().item() / -loss_L(decide(yt, "exact"), yt).sum().item(), yh.numel()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=os.path.join(HERE, "..", "..", "shared", "data",
                                                             "azure"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    raw = [read(os.path.join(a.data, s + ".csv")) for s in SETS]
    lo, hi = min(raw[0]), max(raw[0])
    model = DeepLSTM().eval()
    best, instances, regrets = float("inf"), 0, []
    for _ in range(a.rounds):
        t0 = time.perf_counter()
        instances, regrets = 0, []
        for i, vals in enumerate(raw):
            r, n = evaluate(model, rows_of(vals, i == 0), hi - lo, lo)
            regrets.append(r)
            instances += n
        best = min(best, time.perf_counter() - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch {torch.__version__} threads {a.threads}: {best:.3f} s per evaluation of the "
          f"7 Azure sets ({instances} instances, best of {a.rounds}; average pooled regret "
          f"{sum(regrets) / len(regrets):.4f}), peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
