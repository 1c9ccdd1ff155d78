"""3D-Learning's inner objective (spec section 5, Algorithm 1's loss) as a
float64 PyTorch reference: what a C test of the log-ratio, the PPO term, the
score-matching term J and the gradient of mu * J - PPO compares against.

Model: the UNet twin of tools/fixturegen/unet_torch.py, preset "tiny" with
T = 20 and dropout 0 (train and eval agree), betas linspace(0.05, 0.1, 20) in
float64 (include/tdl/ddpm.h; sigma_t = sqrt((1 - abar_{t-1}) / (1 - abar_t)
beta_t), abar_{-1} = 1). theta0 = the twin's initialisation from torch seed
INIT_SEED, then every trainable parameter + N(0, PERTURB0^2) (the authors'
1e-5 gains would make eps_hat ~ 0); theta = theta0 + N(0, SIGMA_THETA^2) on
every trainable parameter. The sinusoid time table (state_dict's
backbone.time_embedding.timembedding.0.weight, not trainable) is neither
perturbed nor differentiated; it is stored in theta0.* and theta.* (equal).
Both models are built in float32 and then converted to float64, so the stored
float32 values ARE the reference's parameters; states, L, x0 and eps are
likewise rounded to float32 before they enter the float64 computation (the
sampler that makes the states runs in float64, its output is then rounded).

Sizes: K = T' = 5 transitions kept, N = 3 images 1x28x28 (D = 784), J batch
jB = 2, kappa = 0.4, mu = 0.7.

  states (N, K+1, 784): the DDPM reverse sampler with theta0 from x ~ N(0, I),
      t = T-1 .. 0; states[:, k] = the input of step K-1-k (k < K),
      states[:, K] = the output of step 0.
  L (N*28): row losses, uniform in [0.001, 0.02]; row `row` of image b is
      L[b*28 + row].
  x0 (jB, 784) uniform [0, 1], t (jB) integers in [0, K) stored as float,
      eps (jB, 784) N(0, 1).

For each mode m in {correct, compat}:
  correct: transitions k = 0 .. K-2, x_in = states[:, k], x_out =
      states[:, k+1], label t = K-1-k (t = K-1 .. 1: every kept step with
      sigma_t > 0); Lp[b, row] = L[b*28 + row].
  compat (the authors' code, spec section 5 defects (a) and (b)): transitions
      k = 1 .. K-1, label t = K-k (one more than the step that made x_out);
      Lp[b, row] = L[row*N + b] (their transposed index with z0_images = N,
      batch i = 0).
  m_theta(x, t) = (x - beta_t / sqrt(1 - abar_t) eps_theta(x, t)) / sqrt(alpha_t)
  log r[b, row] = -sum_transitions sum_{w < 28} ((x_out - m_theta(x_in, t))^2
                  - (x_out - m_theta0(x_in, t))^2)[b, 0, row, w] / (2 sigma_t^2)
  m.ratio (N, 28) = exp(log r)
  m.ppo (1) = mean over the N*28 rows of min(r Lp, clamp(r, 1-kappa, 1+kappa) Lp)
  m.J (1) = mean (eps_theta(x_t, t) - eps)^2 with x_t = sqrt(abar_t) x0 +
      sqrt(1 - abar_t) eps, the factors in float64 (tdl_ddpm_q_sample rounds
      them to float first: a relative change of ~1e-7 in J, far inside the
      tolerance below); the same J in both modes.
  m.objective (1) = mu J - PPO
  m.clipped (1) = rows with r Lp > clamp(r) Lp, i.e. r > 1 + kappa (Lp > 0):
      the rows whose gradient the clip zeroes. Rows with r < 1 - kappa are
      clipped in value but the min picks r Lp, so their gradient flows.
  m.grad.<name>: d objective / d theta for every trainable parameter, whole
      for tensors of at most GRAD_SMALL = 512 elements, else every stride-th
      element of the flattened tensor, stride = ceil(n / 512) (the convention
      of tools/fixturegen/unet.py; whole gradients would take the file to
      ~2.8 MB).

Every r is kept at least MARGIN (relative) away from 1 - kappa and 1 + kappa
(asserted), so float rounding cannot move a row across a clip boundary.

What a C test should expect (C in float with double sums, against these
float64 values stored as float32): the generator also runs the whole
computation in float32 torch (float sums too, so a pessimistic stand-in) and
prints the worst differences. At generation (SIGMA_THETA = 0.0035) they were:
log r 1.8e-5 absolute (|log r| <= 1.42; the states reach |x| ~ 11, since
theta0's perturbed network drives the sampler far from N(0, I), and
sigma_1 ~ 0.16, so each of the 112 terms per row is a difference of squares
~ 1/(2 sigma^2) times float noise in m); ppo 3.5e-7, J 1.2e-8, objective
3e-8 relative; gradients 4e-6 of the largest |grad| of their tensor. The
four attn.proj_k.bias gradients are zero in exact arithmetic (the softmax
ignores a bias on the keys): ~1e-19 here, ~1e-10 in float32, so their check
needs an absolute floor tied to the largest gradient of all (~0.2).
Suggested tolerances (a margin of ten or more): log r 2e-4 absolute (ratio
2e-4 relative); ppo, J, objective 1e-5 relative; per gradient tensor
|c - ref| <= 1e-4 max|ref of the tensor| + 1e-6 max|ref of all| + 1e-4 |ref|
(the shape of tests/test_ddpm.c's). clipped must match exactly.
"""
import copy
import math

import torch

from fixturegen import unet_torch as U
from fixturegen.unet import SMALL as GRAD_SMALL
from fixturegen.unet import sub

K, N, JB, S = 5, 3, 2, 28
D = S * S
KAPPA, MU = 0.4, 0.7
CFG = dict(U.preset("tiny"), T=20, dropout=0.0)
UNET_TEXT = "ch=16;ch_mult=1,2;attn=0,1;blocks=1;dropout=0;groups=8;T=20;image=28"
INIT_SEED = 31
PERTURB0 = 0.05
SIGMA_THETA = 0.0035  # log r over about [-1.4, 0.9] in both modes
MARGIN = 1e-3
MODES = ("correct", "compat")


def plan(mode):
    """(state index of x_in, label t) per transition; x_out is the next state."""
    if mode == "correct":
        return [(k, K - 1 - k) for k in range(0, K - 1)]
    return [(k, K - k) for k in range(1, K)]


def paired_losses(L, mode):
    if mode == "correct":
        return L.view(N, S)
    return L.view(S, N).t()


def mean_step(net, sched, x, t):
    tt = torch.full((x.shape[0],), t, dtype=torch.long)
    beta, alpha, abar = sched.betas[t].item(), sched.alphas[t].item(), sched.abar[t].item()
    return (x - beta / math.sqrt(1.0 - abar) * net(x, tt)) / math.sqrt(alpha)


def sample_states(net0, sched, g):
    x = torch.randn(N, 1, S, S, dtype=torch.float64, generator=g)
    states = torch.empty(N, K + 1, D, dtype=torch.float64)
    with torch.no_grad():
        for t in range(CFG["T"] - 1, -1, -1):
            if t < K:
                states[:, K - 1 - t] = x.reshape(N, D)
            z = torch.randn(N, 1, S, S, dtype=torch.float64, generator=g)
            x = mean_step(net0, sched, x, t)
            if t > 0:
                x = x + sched.sigma[t].item() * z
    states[:, K] = x.reshape(N, D)
    return states


def inner_objective(net, net0, sched, states, L, x0, tj, eps, mode):
    """log r (N, 28), r, PPO, J, objective; differentiable in net's parameters."""
    logr = torch.zeros(N, S, dtype=states.dtype)
    for k, t in plan(mode):
        x_in = states[:, k].reshape(N, 1, S, S)
        x_out = states[:, k + 1].reshape(N, 1, S, S)
        with torch.no_grad():
            m0 = mean_step(net0, sched, x_in, t)
        m = mean_step(net, sched, x_in, t)
        s2 = sched.sigma[t].item() ** 2
        d = ((x_out - m) ** 2 - (x_out - m0) ** 2) / (2.0 * s2)
        logr = logr - d.sum(dim=3).reshape(N, S)
    r = torch.exp(logr)
    Lp = paired_losses(L, mode)
    ppo = torch.minimum(r * Lp, torch.clamp(r, 1.0 - KAPPA, 1.0 + KAPPA) * Lp).mean()
    a = torch.sqrt(sched.abar[tj]).to(states.dtype).view(-1, 1, 1, 1)
    b = torch.sqrt(1.0 - sched.abar[tj]).to(states.dtype).view(-1, 1, 1, 1)
    e = eps.view(JB, 1, S, S)
    xt = a * x0.view(JB, 1, S, S) + b * e
    J = ((net(xt, tj) - e) ** 2).mean()
    return logr, r, ppo, J, MU * J - ppo


def build_models():
    torch.manual_seed(INIT_SEED)
    net0 = U.Model(dict(CFG))
    g = torch.Generator().manual_seed(INIT_SEED + 1)
    with torch.no_grad():
        for p in net0.parameters():
            if p.requires_grad:
                p.add_(PERTURB0 * torch.randn(p.shape, generator=g))
    net = copy.deepcopy(net0)
    with torch.no_grad():
        for p in net.parameters():
            if p.requires_grad:
                p.add_(SIGMA_THETA * torch.randn(p.shape, generator=g))
    return net0.eval(), net.eval()


def run(net, net0, sched, states, L, x0, tj, eps, mode):
    params = [(n, p) for n, p in net.named_parameters() if p.requires_grad]
    logr, r, ppo, J, obj = inner_objective(net, net0, sched, states, L, x0, tj, eps, mode)
    grads = torch.autograd.grad(obj, [p for _, p in params])
    return logr.detach(), r.detach(), ppo.detach(), J.detach(), obj.detach(), \
        {n: gr for (n, _), gr in zip(params, grads)}


def generate(save):
    sched = U.Schedule(CFG["T"])
    net0_f, net_f = build_models()
    net0, net = copy.deepcopy(net0_f).double(), copy.deepcopy(net_f).double()

    g = torch.Generator().manual_seed(INIT_SEED + 2)
    states = sample_states(net0, sched, g).float().double()
    L = (0.001 + 0.019 * torch.rand(N * S, dtype=torch.float64, generator=g)).float().double()
    x0 = torch.rand(JB, D, dtype=torch.float64, generator=g).float().double()
    tj = torch.randint(0, K, (JB,), generator=g)
    eps = torch.randn(JB, D, dtype=torch.float64, generator=g).float().double()

    out = {}
    for name, v in net0.state_dict().items():
        out["theta0." + name] = v.clone()
    for name, v in net.state_dict().items():
        out["theta." + name] = v.clone()
    out["states"] = states.clone()
    out["L"] = L.clone()
    out["x0"], out["t"], out["eps"] = x0.clone(), tj.double(), eps.clone()

    for mode in MODES:
        logr, r, ppo, J, obj, grads = run(net, net0, sched, states, L, x0, tj, eps, mode)
        lo, hi = 1.0 - KAPPA, 1.0 + KAPPA
        below = int((r < lo).sum())
        above = int((r > hi).sum())
        inside = N * S - below - above
        Lp = paired_losses(L, mode)
        clipped = int((r * Lp > torch.clamp(r, lo, hi) * Lp).sum())
        gap = torch.minimum((r / lo - 1.0).abs(), (r / hi - 1.0).abs()).min().item()
        print(f"learn3d {mode}: log r in [{logr.min().item():.4f}, {logr.max().item():.4f}], "
              f"r in [{r.min().item():.4f}, {r.max().item():.4f}]; rows below 1-kappa {below}, "
              f"inside {inside}, above 1+kappa {above}; clipped (gradient zeroed) {clipped}; "
              f"closest relative gap to a clip boundary {gap:.2e}")
        print(f"learn3d {mode}: ppo {ppo.item():.10g} J {J.item():.10g} "
              f"objective {obj.item():.10g}")
        assert below > 0 and above > 0 and inside > 0, "ratios must fall on both sides and inside"
        assert clipped == above
        assert gap > MARGIN, "a ratio is too close to a clip boundary"

        # float32 cross-check: how far a float computation lands from the reference
        f = run(net_f, net0_f, sched, states.float(), L.float(), x0.float(), tj, eps.float(),
                mode)
        gall = max(gr.abs().max().item() for gr in grads.values())
        gerr = max((f[5][n].double() - gr).abs().max().item()
                   / max(gr.abs().max().item(), 1e-3 * gall) for n, gr in grads.items())
        zero = [n for n, gr in grads.items() if gr.abs().max().item() < 1e-12 * gall]
        print(f"learn3d {mode}: float32 vs float64: log r {(f[0].double() - logr).abs().max():.2e}"
              f" abs, ppo {abs(f[2].item() / ppo.item() - 1):.2e}, J "
              f"{abs(f[3].item() / J.item() - 1):.2e}, objective "
              f"{abs(f[4].item() / obj.item() - 1):.2e} rel, grads {gerr:.2e} of max(max|grad| "
              f"of the tensor, 1e-3 max|grad| of all = {1e-3 * gall:.2e}); zero gradients: "
              f"{', '.join(n.split('.', 1)[1] for n in zero)}")

        out[mode + ".ratio"] = r
        out[mode + ".ppo"] = ppo.reshape(1)
        out[mode + ".J"] = J.reshape(1)
        out[mode + ".objective"] = obj.reshape(1)
        out[mode + ".clipped"] = torch.tensor([float(clipped)])
        for name, gr in grads.items():
            out[mode + ".grad." + name] = sub(gr)

    meta = {"unet": UNET_TEXT, "beta_1": repr(U.BETA_1), "beta_T": repr(U.BETA_T), "K": K,
            "N": N, "jB": JB, "kappa": repr(KAPPA), "mu": repr(MU), "grad_small": GRAD_SMALL,
            "init_seed": INIT_SEED, "perturb0": repr(PERTURB0),
            "sigma_theta": repr(SIGMA_THETA)}
    save("learn3d", out, meta)
