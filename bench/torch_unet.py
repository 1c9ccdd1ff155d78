#!/usr/bin/python3
"""bench/torch_unet.py: the PyTorch twin of the DDPM UNet's two timed
operations, for BENCHMARKS.md (issue 5, speed and memory). The model is
tools/fixturegen/unet_torch.py (the authors' UNet, names and init), at a
preset of include/tdl/unet.h (tiny, small, paper; NAME-t100 for T = 100).

  training step: forward on x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps
                 (t uniform in [0, T)), the DDPM loss mean (eps_hat - eps)^2,
                 backward, one Adam step (lr 1e-4), train mode (dropout on)
  reverse step:  one sampler step x_t -> x_{t-1} (eps_hat, posterior mean,
                 + sigma_t z), no grad, eval mode; t walks down from T - 1

Each is run `--warmup` times untimed, then timed `--repeats` times; the
median is reported. Peak RSS is the process's maximum resident set
(getrusage ru_maxrss) after both, so it is the training step's peak.

Usage: /usr/bin/python3 bench/torch_unet.py [PRESET] [--batch 64] [--threads N]
                                            [--repeats N] [--warmup N]
Prints one line like bench/torch_dfl_epoch.py. Run 2 threads with
OMP_WAIT_POLICY=PASSIVE (the default spinning wait is 15-40% slower on this
machine); bench/run.sh does.
"""
import argparse
import os
import resource
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))

import torch  # noqa: E402

from fixturegen.unet_torch import Model, Schedule, ddpm_loss, preset, reverse_step  # noqa: E402


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("preset", nargs="?", default="small")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    a = ap.parse_args()
    if a.batch < 1 or a.threads < 1 or a.repeats < 1 or a.warmup < 0:
        ap.error("--batch, --threads and --repeats must be >= 1, --warmup >= 0")
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    cfg = preset(a.preset)
    T, B = cfg["T"], a.batch
    model = Model(cfg)
    nparams = sum(p.numel() for p in model.parameters())
    sched = Schedule(T)
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    x0 = torch.rand(B, 1, 28, 28)  # normalised workload values are in [0, 1]

    def train_step():
        model.train()
        t = torch.randint(0, T, (B,))
        eps = torch.randn_like(x0)
        opt.zero_grad()
        loss = ddpm_loss(model, sched, x0, t, eps)
        loss.backward()
        opt.step()

    state = {"x": torch.randn(B, 1, 28, 28), "t": T - 1}

    def reverse():
        model.eval()
        z = torch.randn_like(state["x"])
        state["x"] = reverse_step(model, sched, state["x"], state["t"], z)
        state["t"] = state["t"] - 1 if state["t"] > 0 else T - 1

    train_s = timed(train_step, a.warmup, a.repeats)
    rss_train_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    reverse_s = timed(reverse, a.warmup, a.repeats)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"torch {torch.__version__} threads {a.threads}: UNet {a.preset} "
          f"({nparams / 1e6:.2f} M parameters, T {T}), batch {B}: {train_s:.3f} s per training "
          f"step, {reverse_s:.3f} s per reverse step (median of {a.repeats}, {a.warmup} warm-up), "
          f"peak RSS {rss_mb:.0f} MB (after training steps {rss_train_mb:.0f} MB)")


if __name__ == "__main__":
    main()
