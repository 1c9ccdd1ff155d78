"""What tests/test_unet.c checks tdl's UNet against (tools/fixturegen/unet_torch.py
is the reference module):

  unet_small_model: the full state_dict ('backbone.' names) of a
      PyTorch-initialised small-preset Model, nothing else (a PyTorch export).
  unet_small: for that model, B=3 inputs x (the DDPM's x_t from x0, t, noise)
      with t = 0, T-1, 137: eps in eval mode; then, with the tensors
      initialised with gain 1e-5 (block2.3, attn.proj, tail.2 weights)
      multiplied by 65536, eps again (eps_scaled), the DDPM loss
      mean (eps_hat - noise)^2 (loss_scaled) and its gradient with respect to
      every parameter (grad.<name>) and to x (dx).
  unet_paper_shape: the paper's structure with fewer channels (ch 32,
      ch_mult 1,2,2,2, attention at level 1, 2 blocks, 32 groups, T 100):
      28 -> 14 -> 7 -> 4, skips resized 7 -> 8, 14 -> 16, 28 -> 32, output
      32 -> 28. B=2. Weights from the formula below; the time table is stored
      (table) since torch computes it in float32 with its own sin/cos.
  unet_paper_block: the paper's 256-channel ResBlocks with attention at
      14 x 14 (ch 256, one level, attention, 1 block, T 100). B=1.

Formula weights (exact in float32 on both sides, since each value is an
integer below 2^12 times a power of two): for tensor `name` with numel n,
salt = sum of the name's bytes, h_i = (i * 2654435761 + salt * 40503) mod 4093,
v_i = (h_i - 2046) / 2048 in [-1, 1). Conv / Linear weights: v_i * 2^-e with
e the smallest integer with 4^e >= fan_in (C*K*K or in); GroupNorm weights
1 + v_i / 8, GroupNorm biases v_i / 8; other biases v_i / 16.

Gradients are stored whole for tensors of at most SMALL elements, else as
every stride-th element of the flattened tensor, stride = ceil(n / 512).
"""
import torch
import torch.nn.functional as F

from fixturegen import unet_torch as ut

SMALL = 512
GAIN_SCALE = 65536.0
GAIN_NAMES = ("block2.3.weight", "attn.proj.weight", "tail.2.weight")
GN_STEMS = ("block1.0.", "block2.0.", "group_norm.", "tail.0.")


def sub(t):
    f = t.detach().reshape(-1)
    if f.numel() <= SMALL:
        return f.clone()
    stride = (f.numel() + 511) // 512
    return f[::stride].clone()


def formula(name, shape):
    n = 1
    for d in shape:
        n *= d
    salt = sum(name.encode())
    i = torch.arange(n, dtype=torch.int64)
    h = (i * 2654435761 + salt * 40503) % 4093
    v = (h - 2046).to(torch.float64) / 2048.0
    if any(s in name for s in GN_STEMS):
        v = 1.0 + v / 8.0 if name.endswith("weight") else v / 8.0
    elif name.endswith("bias"):
        v = v / 16.0
    else:
        fan_in = shape[1] * (shape[2] * shape[3] if len(shape) == 4 else 1)
        e = 0
        while 4 ** e < fan_in:
            e += 1
        v = v * 2.0 ** -e
    return v.to(torch.float32).reshape(shape)


def loss_and_grads(model, sched, x0, t, noise):
    model.eval()
    model.zero_grad()
    x = sched.q_sample(x0, t, noise).detach().requires_grad_(True)
    eps = model(x, t)
    loss = F.mse_loss(eps, noise)
    loss.backward()
    out = {"x": x.detach().clone(), "eps": eps.detach().clone(), "dx": x.grad.clone(),
           "loss": loss.detach().reshape(1)}
    for name, p in model.named_parameters():
        if p.requires_grad:  # the time table is a fixed buffer
            out["grad." + name] = sub(p.grad)
    return out


def formula_case(save, fname, cfg, B, ts, seed):
    torch.manual_seed(seed)
    model = ut.Model(cfg)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.requires_grad:
                p.copy_(formula(name, tuple(p.shape)))
    sched = ut.Schedule(cfg["T"])
    x0 = torch.randn(B, 1, cfg.get("image", 28), cfg.get("image", 28)) * 0.5
    noise = torch.randn_like(x0)
    t = torch.tensor(ts, dtype=torch.long)
    f = loss_and_grads(model, sched, x0, t, noise)
    f["t"] = t.float()
    f["noise"] = noise
    f["table"] = model.backbone.time_embedding.timembedding[0].weight.detach().clone()
    save(fname, f, {"B": B, "small": SMALL, "config": str(cfg)})


def generate(save):
    # 1. the small preset, PyTorch-initialised
    torch.manual_seed(5)
    cfg = ut.preset("small")
    model = ut.Model(cfg)
    save("unet_small_model", {k: v.clone() for k, v in model.state_dict().items()},
         {"source": "torch UNet small preset"})
    B, T = 3, cfg["T"]
    sched = ut.Schedule(T)
    x0 = torch.rand(B, 1, 28, 28) * 2.0 - 1.0
    noise = torch.randn_like(x0)
    t = torch.tensor([0, T - 1, 137], dtype=torch.long)
    model.eval()
    with torch.no_grad():
        x = sched.q_sample(x0, t, noise)
        eps = model(x, t)
        for name, p in model.named_parameters():
            if name.endswith(GAIN_NAMES):
                p.mul_(GAIN_SCALE)
    g = loss_and_grads(model, sched, x0, t, noise)
    f = {"x": x, "t": t.float(), "noise": noise, "eps": eps, "eps_scaled": g.pop("eps"),
         "loss_scaled": g.pop("loss")}
    g.pop("x")
    f.update(g)
    save("unet_small", f, {"B": B, "small": SMALL, "gain_scale": GAIN_SCALE})

    # 2. the paper's structure with 32 channels, and its 256-channel attention blocks
    shape_cfg = dict(ch=32, ch_mult=[1, 2, 2, 2], attn=[1], num_res_blocks=2, dropout=0.1,
                     groups=32, T=100)
    formula_case(save, "unet_paper_shape", shape_cfg, 2, [0, 99], 6)
    block_cfg = dict(ch=256, ch_mult=[1], attn=[0], num_res_blocks=1, dropout=0.1, groups=32,
                     T=100, image=14)
    formula_case(save, "unet_paper_block", block_cfg, 1, [42], 7)
