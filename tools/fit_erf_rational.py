"""fit_erf_rational.py: the coefficients ERF_P, ERF_Q of src/models/unet_gngelu.c.

erf(z) ~ z P(u) / Q(u), u = z^2, P of degree 6, Q of degree 5 with Q(0) = 1, on z in [0, 4]
(the kernel clamps z there; erf(4) = 1 - 1.5e-8). Run: /usr/bin/python3 tools/fit_erf_rational.py
1. Linearised least squares of z (P - (erf(z) / z) Q) on 40001 points, in the scaled
   variable u / 16, reweighted by 1 / Q of the previous fit and, after 10 rounds, by the
   error (Lawson, towards minimax); the best of 200 rounds is kept.
2. The coefficients are rounded to float one at a time (P0 first, P6, the smallest term,
   last), the free ones refitted after each, so the rounding leaves no bias.
Prints the float coefficients and the absolute error of erf (max, mean) in double.
"""
import math

import numpy as np

NP, NQ, ZM = 7, 6, 4.0
z = np.linspace(0, ZM, 40001)
f = np.array([math.erf(v) for v in z])
g = np.where(z > 0, f / np.where(z > 0, z, 1), 2 / math.sqrt(math.pi))
u = z * z


def err_of(P, Q):
    return z * np.polyval(P[::-1], u) / np.polyval(Q[::-1], u) - f


# 1. the fit in s = u / ZM^2
s = u / (ZM * ZM)
Qprev = np.ones_like(u)
lw = np.ones_like(u) / len(u)
best = None
for it in range(200):
    A = np.hstack([np.vstack([s**i for i in range(NP)]).T,
                   np.vstack([-g * s**i for i in range(1, NQ)]).T])
    w = (np.maximum(z, 1e-2) / Qprev) * np.sqrt(lw)
    c, *_ = np.linalg.lstsq(A * w[:, None], g * w, rcond=None)
    Ps, Qs = c[:NP], np.concatenate([[1.0], c[NP:]])
    Qprev = np.polyval(Qs[::-1], s)
    e = z * np.polyval(Ps[::-1], s) / Qprev - f
    if best is None or np.abs(e).max() < best[0]:
        best = (np.abs(e).max(), Ps.copy(), Qs.copy())
    if it >= 10:
        lw = lw * np.abs(e) ** 0.5
        lw /= lw.sum()
_, Ps, Qs = best
P = np.array([Ps[k] / ZM ** (2 * k) for k in range(NP)])
Q = np.array([Qs[k] / ZM ** (2 * k) for k in range(NQ)])
print("double fit: max |err| %.3g" % np.abs(err_of(P, Q)).max())

# 2. rounding to float, refitting the free coefficients after each
order = [('P', 0), ('P', 1), ('Q', 1), ('P', 2), ('Q', 2), ('P', 3), ('Q', 3), ('P', 4),
         ('Q', 4), ('P', 5), ('Q', 5), ('P', 6)]
fixed = {('Q', 0)}
for nm, k in order:
    if nm == 'P':
        P[k] = float(np.float32(P[k]))
    else:
        Q[k] = float(np.float32(Q[k]))
    fixed.add((nm, k))
    free = [(a, b) for a, b in order if (a, b) not in fixed]
    for _ in range(6 if free else 0):
        Qu = np.polyval(Q[::-1], u)
        A = np.vstack([u**b if a == 'P' else -g * u**b for a, b in free]).T
        rest = np.zeros_like(u)
        for a, b in fixed:
            rest += P[b] * u**b if a == 'P' else -g * Q[b] * u**b
        w = np.maximum(z, 1e-2) / Qu
        c, *_ = np.linalg.lstsq(A * w[:, None], -rest * w, rcond=None)
        for (a, b), v in zip(free, c):
            if a == 'P':
                P[b] = v
            else:
                Q[b] = v
Pf, Qf = P.astype(np.float32), Q.astype(np.float32)
e = err_of(Pf.astype(np.float64), Qf.astype(np.float64))
print("float coefficients: max |err| %.3g, mean err %.3g" % (np.abs(e).max(), e.mean()))
print("ERF_P", ", ".join("%.9ef" % v for v in Pf))
print("ERF_Q", ", ".join("%.9ef" % v for v in Qf))
