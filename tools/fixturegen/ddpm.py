"""The DDPM around the UNet (tools/fixturegen/unet_torch.py): the schedule,
q_sample, the reverse step (network-free: a stand-in model returning given
eps_hat) and the loss with its gradients on a very small UNet."""
import torch

from . import unet_torch as U

# A very small UNet (ch 8, [1, 2], attention at level 1, 1 block, 4 groups,
# T 10) keeps the fixture small while covering every block kind.
MINI = dict(ch=8, ch_mult=[1, 2], attn=[1], num_res_blocks=1, dropout=0.1, groups=4, T=10)


def schedules(save):
    out = {}
    for T, b1, bT in ((500, U.BETA_1, U.BETA_T), (100, U.BETA_1, U.BETA_T), (7, 0.01, 0.2)):
        s = U.Schedule(T, b1, bT)
        for k in ("betas", "abar", "sigma"):
            out[f"T{T}.{k}"] = getattr(s, k)
    # the float64 values exactly, as text, for the tightest check
    s = U.Schedule(500)
    meta = {"T500.abar.last": repr(s.abar[-1].item()), "T500.sigma.1": repr(s.sigma[1].item()),
            "T500.beta.250": repr(s.betas[250].item()), "T7.beta.3": repr(
                U.Schedule(7, 0.01, 0.2).betas[3].item())}
    return out, meta


def steps(out):
    g = torch.Generator().manual_seed(11)
    s = U.Schedule(500)
    x0 = torch.rand(3, 1, 28, 28, generator=g)
    eps = torch.randn(3, 1, 28, 28, generator=g)
    t = torch.tensor([0, 250, 499])
    out["q.x0"], out["q.eps"], out["q.t"] = x0, eps, t.float()
    out["q.xt"] = s.q_sample(x0, t, eps)
    # reverse steps at t = 0, 1, 250, 499 with a stand-in network
    x = torch.randn(1, 1, 28, 28, generator=g) * 3
    eps_hat = torch.randn(1, 1, 28, 28, generator=g)
    z = torch.randn(1, 1, 28, 28, generator=g)
    out["r.x"], out["r.eps_hat"], out["r.z"] = x, eps_hat, z
    for tt in (0, 1, 250, 499):
        out[f"r.out{tt}"] = U.reverse_step(lambda xx, ti: eps_hat, s, x, tt, z)


def loss(out):
    torch.manual_seed(5)
    model = U.Model(dict(MINI)).eval()  # eval: no dropout
    # Perturb the authors' initialisation (its 1e-5 gains make eps_hat
    # nearly 0) so that every block shapes the output and its gradients.
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.1 * torch.randn(p.shape))
    sched = U.Schedule(MINI["T"])
    g = torch.Generator().manual_seed(12)
    x0 = torch.rand(2, 1, 28, 28, generator=g)
    eps = torch.randn(2, 1, 28, 28, generator=g)
    t = torch.tensor([4, 9])
    L = U.ddpm_loss(model, sched, x0, t, eps)
    L.backward()
    out["l.x0"], out["l.eps"], out["l.t"] = x0, eps, t.float()
    out["l.loss"] = L.detach().view(1)
    with torch.no_grad():
        out["l.eps_hat"] = model(sched.q_sample(x0, t, eps), t)
    for name, p in model.state_dict().items():
        out[name] = p
    for name, p in model.named_parameters():
        if p.grad is not None:
            out["grad." + name] = p.grad


def generate(save):
    out, meta = schedules(save)
    steps(out)
    loss(out)
    meta["mini"] = repr(MINI)
    save("ddpm", out, meta)
