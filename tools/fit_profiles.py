#!/usr/bin/python3
"""fit_profiles.py: fit the `tdl synth` workload profiles to the Azure series.

Usage:
    /usr/bin/python3 tools/fit_profiles.py [DATA_DIR]             # fit, print the C table
    /usr/bin/python3 tools/fit_profiles.py [DATA_DIR] --check TDL  # + run `TDL synth`, compare

DATA_DIR defaults to ../shared/data/azure relative to the repository root.
Needs numpy only. The model (docs/synthesis.md, src/data/synth.c):

    log x_t = mu + c sin(theta + 2 pi t / 17280) + sigma Z_t + J_t,  x rounded, clipped
    Z_t     = sqrt(w_s) S_t + sqrt(w_f) F_t + sqrt(1 - w_s - w_f) N_t
    S, F    = stationary unit-variance AR(1) with coefficients phi_s, phi_f; N white
    J_t     = d J_{t-1} + h B_t,  B_t ~ Bernoulli(p)   (bursts; 0 for fitted profiles)
    theta   ~ U(0, 2 pi) per seed

Its mean, variance and lag-k autocorrelation have closed forms (model_moments
below and tdl_synth_moments in C), so the fit is moment matching:
  1. targets from the data: mean m, std s, acf rho_x(1..28), min, max
     (the 2023 files repeat one period verbatim: fit on that period only);
  2. c: amplitude of a sinusoid of period 17280 slots (one day of 5 s slots)
     regressed on log x; only the 2024 files span days, the 2023 periods are
     about 1 hour and 20 minutes long, so c = 0 there;
  3. sigma and mu solve mean and std exactly given c;
  4. the acf of x maps to the acf of the Gaussian latent Z exactly;
     w_s, phi_s, w_f, phi_f are least squares on lags 1..28.
"""
import csv
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

DAY = 17280      # 5-second slots per day
LAGS = 28
KEYS = (1, 7, 28)


def load(path):
    with open(path, newline="") as f:
        return np.array([float(r["ContextTokens"]) for r in csv.DictReader(f)])


def acf(x, k):
    """Sample autocorrelation at lag k (denominator n, the usual estimator)."""
    d = x - x.mean()
    return float((d[:-k] * d[k:]).sum() / (d * d).sum())


def log_mgf_spikes(a, p, h, d, extra=None):
    """log E[exp(a J)] for J = sum_j h d^j B_j, B_j ~ Bernoulli(p) iid;
    `extra` = (b, k): log E[exp(J_t + J_{t+k})] instead (a ignored)."""
    if p <= 0.0 or h == 0.0:
        return 0.0
    total, j = 0.0, 0
    if extra is None:
        while True:
            e = a * h * d ** j
            total += math.log1p(p * math.expm1(e))
            j += 1
            if abs(e) < 1e-15 or j > 100000:
                return total
    k = extra
    for i in range(k):  # bursts after t that reach t + k
        total += math.log1p(p * math.expm1(h * d ** i))
    while True:          # bursts at or before t, seen at both t and t + k
        e = h * d ** j * (1.0 + d ** k)
        total += math.log1p(p * math.expm1(e))
        j += 1
        if abs(e) < 1e-15 or j > 100000:
            return total


def model_moments(p):
    """Theoretical mean, std and acf[1..LAGS] of the unclipped, unrounded model."""
    mu, sg, c = p["mu"], p["sigma"], p["cycle"]
    rate, h, d = p["spike_rate"], p["spike_height"], p["spike_decay"]
    m1 = math.exp(mu + sg * sg / 2 + log_mgf_spikes(1, rate, h, d)) * np.i0(c)
    m2 = math.exp(2 * mu + 2 * sg * sg + log_mgf_spikes(2, rate, h, d)) * np.i0(2 * c)
    var = m2 - m1 * m1
    out = []
    for k in range(1, LAGS + 1):
        rz = p["w_slow"] * p["phi_slow"] ** k + p["w_fast"] * p["phi_fast"] ** k
        cyc = np.i0(2 * c * math.cos(math.pi * k / DAY))
        exk = math.exp(2 * mu + sg * sg * (1 + rz) + log_mgf_spikes(0, rate, h, d, extra=k)) * cyc
        out.append((exk - m1 * m1) / var)
    return float(m1), math.sqrt(var), out


def daily_amplitude(x):
    t = np.arange(len(x))
    a = np.c_[np.ones(len(x)), np.sin(2 * np.pi * t / DAY), np.cos(2 * np.pi * t / DAY)]
    b = np.linalg.lstsq(a, np.log(x), rcond=None)[0]
    return float(math.hypot(b[1], b[2]))


def fit_mixture(rz):
    """w_s phi_s^k + w_f phi_f^k ~ rz[k-1], k = 1..LAGS, w >= 0, w_s + w_f <= 1,
    phi_f <= 0.95 < phi_s <= 1 - 1e-4: a slow and a fast AR(1) and a white
    remainder. Lags 1..28 cannot tell phi_s = 0.9999 from 0.99999; the cap (a
    time scale of 10,000 slots, 14 hours) is what the 24V/24D residual acf at
    lags 720..5000 shows and keeps long generated series ergodic.
    Least squares weighted by 1/k: short lags are estimated best (most pairs)
    and the predictors' 7-slot input windows depend on them most."""
    k = np.arange(1, LAGS + 1, dtype=float)
    sw = 1.0 / np.sqrt(k)            # rows scaled by sqrt(weight)
    rz = rz * sw
    best = None
    for phs in 1.0 - np.logspace(-4, math.log10(0.05), 240):
        bs = phs ** k * sw
        for phf in np.linspace(0.0, 0.95, 96):
            bf = phf ** k * sw
            a = np.c_[bs, bf]
            cands = []
            sol = np.linalg.lstsq(a, rz, rcond=None)[0]
            cands.append(sol)
            cands.append(np.array([max(0.0, bs @ rz / (bs @ bs)), 0.0]))
            if bf @ bf > 0:
                cands.append(np.array([0.0, max(0.0, bf @ rz / (bf @ bf))]))
            # on w_s + w_f = 1: rz - bf = w_s (bs - bf)
            g = bs - bf
            ws = float(np.clip(g @ (rz - bf) / max(g @ g, 1e-300), 0.0, 1.0))
            cands.append(np.array([ws, 1.0 - ws]))
            for w in cands:
                if w[0] < 0 or w[1] < 0 or w[0] + w[1] > 1.0 + 1e-12:
                    continue
                err = float(((a @ w - rz) ** 2).sum())
                if best is None or err < best[0]:
                    best = (err, float(w[0]), float(phs), float(w[1]), float(phf))
    return best


def fit(name, path, period, desc):
    x = load(path)
    if period:
        x = x[:period]
    m, s = float(x.mean()), float(x.std())
    rho = np.array([acf(x, k) for k in range(1, LAGS + 1)])
    c = daily_amplitude(x) if len(x) >= 2 * DAY else 0.0
    sg2 = math.log((1 + (s / m) ** 2) * np.i0(c) ** 2 / np.i0(2 * c))
    sg = math.sqrt(sg2)
    mu = math.log(m) - math.log(np.i0(c)) - sg2 / 2
    m2 = s * s + m * m
    rz = np.empty(LAGS)
    for k in range(1, LAGS + 1):
        cyc = np.i0(2 * c * math.cos(math.pi * k / DAY))
        rz[k - 1] = (math.log((rho[k - 1] * (m2 - m * m) + m * m) / cyc) - 2 * mu - sg2) / sg2
    err, ws, phs, wf, phf = fit_mixture(rz)
    if ws == 0.0:
        phs = 0.0   # an unused component: print a clean 0
    if wf == 0.0:
        phf = 0.0
    p = dict(name=name, desc=desc, mu=mu, sigma=sg, w_slow=ws, phi_slow=phs, w_fast=wf,
             phi_fast=phf, cycle=c, spike_rate=0.0, spike_height=0.0, spike_decay=0.0,
             lo=max(1.0, math.floor(x.min() / 2)), hi=2.0 * x.max(),
             target=dict(src=os.path.basename(path), n=len(x), mean=m, std=s,
                         acf=[float(rho[k - 1]) for k in KEYS], min=float(x.min()),
                         max=float(x.max())))
    mm, ms, ma = model_moments(p)
    print(f"# {name}: {os.path.basename(path)} ({len(x)} values{' = one period' if period else ''})")
    print(f"#   data : mean {m:.1f} std {s:.1f} min {x.min():.0f} max {x.max():.0f} "
          f"acf1..28 {np.round(rho, 3).tolist()}")
    print(f"#   latent acf target {np.round(rz, 3).tolist()}")
    print(f"#   fit  : mu {mu:.5f} sigma {sg:.5f} cycle {c:.5f} w_s {ws:.5f} phi_s {phs:.6f} "
          f"w_f {wf:.5f} phi_f {phf:.4f} (weighted sse {err:.2e})")
    print(f"#   model: mean {mm:.1f} std {ms:.1f} acf1..28 {np.round(ma, 3).tolist()}")
    worst = max(abs(a - b) for a, b in zip(ma, rho))
    print(f"#   worst |acf model - data| over lags 1..28: {worst:.4f}")
    return p


def shifted(base, kind, **kw):
    """A named shift of a fitted base profile (docs/synthesis.md)."""
    p = dict(base)
    p["target"] = None
    p["name"] = f"{base['name']}-{kind}"
    p["desc"] = kw["desc"]
    if kind == "high":    # level: twice the tokens, same shape
        p["mu"] += math.log(2.0)
        p["lo"], p["hi"] = 2 * base["lo"], 2 * base["hi"]
    elif kind == "bursty":  # spread of log tokens x1.5, mean kept
        s2 = 1.5 * base["sigma"]
        p["mu"] += (base["sigma"] ** 2 - s2 ** 2) / 2
        p["sigma"] = s2
        p["hi"] = 4 * base["hi"]
    elif kind == "daily":   # daily cycle of amplitude kw["cycle"] (log units), mean kept
        p["cycle"] = kw["cycle"]
        p["mu"] -= math.log(np.i0(kw["cycle"]))
        p["hi"] = 4 * base["hi"]
    elif kind == "spiky":   # bursts on top of the base load
        p["spike_rate"], p["spike_height"], p["spike_decay"] = 1.0 / 720.0, math.log(5.0), 0.8
        p["hi"] = 10 * base["hi"]
    return p


def c_table(profiles):
    print("/* Generated by tools/fit_profiles.py from ../shared/data/azure; do not edit by hand. */")
    for p in profiles:
        t = p["target"]
        if t:
            tgt = (f"{{1, \"{t['src']}\", {t['n']}, {t['mean']:.10g}, {t['std']:.10g}, "
                   f"{{{t['acf'][0]:.6f}, {t['acf'][1]:.6f}, {t['acf'][2]:.6f}}}, "
                   f"{t['min']:.0f}, {t['max']:.0f}}}")
        else:
            tgt = "{0, NULL, 0, 0, 0, {0, 0, 0}, 0, 0}"
        print(f"    {{\"{p['name']}\",\n     \"{p['desc']}\",\n"
              f"     {p['mu']:.9g}, {p['sigma']:.9g}, {p['w_slow']:.9g}, {p['phi_slow']:.9g}, "
              f"{p['w_fast']:.9g}, {p['phi_fast']:.9g},\n"
              f"     {p['cycle']:.9g}, {p['spike_rate']:.9g}, {p['spike_height']:.9g}, "
              f"{p['spike_decay']:.9g}, {p['lo']:.0f}, {p['hi']:.0f},\n     {tgt}}},")


def stats(x):
    return x.mean(), x.std(), [acf(x, k) for k in KEYS]


def check(tdl, profiles):
    """Run `tdl synth` per profile (21030 slots, seed 1, and 20 days, seed 1);
    print the markdown table of docs/synthesis.md."""
    print("| profile | target from | mean | std | acf 1 | acf 7 | acf 28 |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for p in profiles:
            t = p["target"]
            mm, ms, ma = model_moments(p)
            rows = []
            if t:
                rows.append((f"data {t['src']}", t["mean"], t["std"], t["acf"]))
            rows.append(("model (exact)", mm, ms, [ma[k - 1] for k in KEYS]))
            for slots, label in ((21030, "seed 1, 21030 slots"), (20 * DAY, "seed 1, 20 days")):
                out = os.path.join(tmp, "s.csv")
                subprocess.run([tdl, "synth", "--profile", p["name"], "--slots", str(slots),
                                "--seed", "1", "-o", out], check=True)
                x = load(out)
                assert len(x) == slots and x.min() >= 1 and np.all(x == np.round(x))
                m, s, a = stats(x)
                rows.append((label, m, s, a))
            for i, (label, m, s, a) in enumerate(rows):
                nm = f"`{p['name']}`" if i == 0 else ""
                print(f"| {nm} | {label} | {m:.0f} | {s:.0f} | {a[0]:.3f} | {a[1]:.3f} | {a[2]:.3f} |")


def main():
    args = sys.argv[1:]
    tdl = None
    if "--check" in args:
        i = args.index("--check")
        tdl = args[i + 1]
        del args[i:i + 2]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    data = args[0] if args else os.path.join(root, "..", "shared", "data", "azure")
    conv = fit("conversation", os.path.join(data, "23V.csv"), 701,
               "2023 conversation service (fitted to 23V, one 701-slot period)")
    code = fit("code", os.path.join(data, "23D.csv"), 233,
               "2023 coding service (fitted to 23D, one 233-slot period)")
    conv24 = fit("conversation-2024", os.path.join(data, "24V.csv"), 0,
                 "2024 conversation service (fitted to 24V, 3.5 days, daily cycle)")
    code24 = fit("code-2024", os.path.join(data, "24D.csv"), 0,
                 "2024 coding service (fitted to 24D, 3.5 days, daily cycle)")
    daily_c = code24["cycle"]
    profiles = [conv, code, conv24, code24]
    for base, label in ((conv, "conversation"), (code, "code")):
        profiles += [
            shifted(base, "high", desc=f"{label}, level shift: twice the tokens per slot"),
            shifted(base, "bursty", desc=f"{label}, burstier: log-spread x1.5, same mean"),
            shifted(base, "daily", cycle=daily_c,
                    desc=f"{label} with code-2024's daily cycle (amplitude {daily_c:.3f} in log "
                         "tokens), same mean"),
            shifted(base, "spiky", desc=f"{label} plus bursts: x5 at onset, decay 0.8/slot, "
                                        "one per hour on average"),
        ]
    for p in profiles[4:]:
        mm, ms, ma = model_moments(p)
        print(f"# {p['name']}: model mean {mm:.1f} std {ms:.1f} acf1,7,28 "
              f"{ma[0]:.3f} {ma[6]:.3f} {ma[27]:.3f}")
    c_table(profiles)
    if tdl:
        check(tdl, profiles)


if __name__ == "__main__":
    main()
