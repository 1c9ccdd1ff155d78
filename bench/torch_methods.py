#!/usr/bin/python3
"""bench/torch_methods.py: PyTorch twins of one training epoch of each
predictor method (issue 11), for BENCHMARKS.md; bench/bench_methods.c times
tdl's. The loop is torch_dfl_epoch.py's (23V's 525 training rows, batches of
64, t = 7..27, one Adam step each, train mode); each method changes only its
part of a step, written as a PyTorch user would write it from spec section 6:

  dfl       the mean decision loss
  mse       the mean squared error
  kl-dro    per-instance decision losses l; alpha minimising the dual
            alpha ln mean exp(l / alpha) + alpha eps (eps 2), by bisection on
            the KL of the tilted weights, as tdl does; the loss sum w_i l_i
            with the tilted weights w detached (the envelope theorem)
  da-*      the rows plus one noisy copy (1050 rows, 336 steps); the noise is
            drawn once before the epochs (Gaussian sigma 0.05 for every kind:
            the noise does not change the epoch's work)
  w-dro     15 Frank-Wolfe iterations on the windows before each step: the
            decision loss's input gradient by autograd, the direction
            eps g / ||g||_2 (eps 2) around the clean windows, step 2/(k+2),
            clipped to [0, 1]; then the step on the attacked windows

Usage: /usr/bin/python3 bench/torch_methods.py [23V.csv] --method M
           [--threads N] [--epochs E]
Prints one line: method, threads, seconds per epoch (best of E), peak RSS.
"""
import argparse
import math
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)

import torch  # noqa: E402

from fixturegen.predictor_torch import DeepLSTM, decide, loss_L, SCALE, OFFSET  # noqa: E402
from torch_dfl_epoch import load_rows  # noqa: E402

METHODS = ("dfl", "mse", "kl-dro", "da-gauss", "da-cutout", "da-perlin", "w-dro")


def instance_losses(y, t):
    """Per-instance decision losses (B), float64, as dfl_loss before its mean."""
    yhat = torch.relu(y).double() * SCALE + OFFSET
    return loss_L(decide(yhat, "exact"), t.double() * SCALE + OFFSET)


def kl_weights(l, eps):
    """Tilted weights at the dual's optimal alpha (bisection on log beta)."""
    n = l.numel()
    m, lo = l.max(), l.min()
    d = float(m - lo)
    k = int((l == m).sum())
    if d == 0.0 or eps >= math.log(n / k):
        return (l == m).double() / k

    def kl(beta):
        q = torch.softmax(beta * (l - m), 0)
        return float((q * torch.log(n * q.clamp_min(1e-300))).sum()), q

    blo = bhi = 1.0 / d
    while kl(blo)[0] > eps:
        blo *= 0.5
    while kl(bhi)[0] < eps:
        bhi *= 2.0
    while bhi > blo * (1.0 + 1e-12):
        mid = math.sqrt(blo * bhi)
        if kl(mid)[0] < eps:
            blo = mid
        else:
            bhi = mid
    return kl(math.sqrt(blo * bhi))[1]


def attack(model, x0, t, eps=2.0, iters=15):
    x = x0.clone()
    for k in range(iters):
        xr = x.detach().requires_grad_(True)
        loss = instance_losses(model(xr), t).mean()
        (g,) = torch.autograd.grad(loss, xr)
        norm = g.norm()
        d = eps * g / norm if norm > 0 else torch.zeros_like(g)
        c = 2.0 / (k + 2.0)
        x = ((1.0 - c) * x + c * (x0 + d)).clamp(0.0, 1.0).detach()
    return x


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data", nargs="?", default=os.path.join(HERE, "..", "..", "shared", "data",
                                                             "azure", "23V.csv"))
    ap.add_argument("--method", choices=METHODS, default="dfl")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    rows = load_rows(a.data)
    if a.method.startswith("da-"):
        noisy = (rows + 0.05 * torch.randn_like(rows)).clamp(0.0, 1.0)
        rows = torch.cat([rows, noisy])
    model = DeepLSTM().train()
    lr = 2e-5 if a.method in ("kl-dro", "w-dro") else 1e-6
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    B = 64
    n_batches = rows.shape[0] // B
    best = float("inf")
    for _ in range(a.epochs):
        t0 = time.perf_counter()
        for b in range(n_batches):
            batch = rows[b * B:(b + 1) * B]
            for t in range(7, 28):
                x = batch[:, t - 7:t].unsqueeze(-1)
                y = batch[:, t]
                if a.method == "w-dro":
                    x = attack(model, x, y)
                opt.zero_grad()
                out = model(x)
                if a.method == "mse":
                    loss = ((out - y) ** 2).mean()
                elif a.method == "kl-dro":
                    l = instance_losses(out, y)
                    loss = (kl_weights(l.detach(), 2.0) * l).sum()
                else:
                    loss = instance_losses(out, y).mean()
                loss.backward()
                opt.step()
        best = min(best, time.perf_counter() - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch {torch.__version__} {a.method} threads {a.threads}: {best:.3f} s per epoch "
          f"({n_batches * 21} Adam steps, best of {a.epochs}), peak RSS {rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
