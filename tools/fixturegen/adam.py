"""Adam + StepLR: 5 optimiser steps on two tensors with given gradients."""
import torch


def run(save, name, lr, weight_decay, step_size, gamma):
    g = torch.Generator().manual_seed(7)
    w = torch.nn.Parameter(torch.randn(3, 4, generator=g) * 0.5)
    b = torch.nn.Parameter(torch.randn(5, generator=g) * 0.1)
    out = {"adam.w0": w.detach().clone(), "adam.b0": b.detach().clone()}
    opt = torch.optim.Adam([w, b], lr=lr, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=step_size, gamma=gamma)
    for step in range(1, 6):
        # Gradients of very different scales, some exactly zero.
        gw = torch.randn(3, 4, generator=g) * (10.0 ** (step - 3))
        gb = torch.randn(5, generator=g) * 1e-3
        gb[1] = 0.0
        w.grad = gw.clone()
        b.grad = gb.clone()
        opt.step()
        sched.step()  # one "epoch" per step, so the decay shows within 5 steps
        out[f"adam.gw{step}"] = gw
        out[f"adam.gb{step}"] = gb
        out[f"adam.w{step}"] = w.detach().clone()
        out[f"adam.b{step}"] = b.detach().clone()
        out[f"adam.lr{step}"] = torch.tensor([opt.param_groups[0]["lr"]], dtype=torch.float64)
    st = opt.state[w]
    out["adam.m_w"] = st["exp_avg"]
    out["adam.v_w"] = st["exp_avg_sq"]
    save(name, out, {"lr": repr(lr), "weight_decay": repr(weight_decay),
                     "step_size": str(step_size), "gamma": repr(gamma)})


def generate(save):
    run(save, "adam", lr=1e-2, weight_decay=0.0, step_size=2, gamma=0.05)
    run(save, "adam_wd", lr=3e-3, weight_decay=0.1, step_size=3, gamma=0.5)
