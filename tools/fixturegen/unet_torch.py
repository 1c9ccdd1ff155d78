"""The DDPM of spec section 4 as PyTorch modules, written as the authors'
model (their attribute names, so state_dict names match
../shared/spec/unet-params-{paper,small}.txt with the prefix 'backbone.'):
the configurable UNet, the linear beta schedule, the training loss and the
reverse sampler. tdl's UNet is checked against it (tools/fixturegen/unet.py)
and bench/torch_unet.py times it.

Presets mirror tdl_unet_config_preset (include/tdl/unet.h).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

PRESETS = {
    "paper": dict(ch=128, ch_mult=[1, 2, 2, 2], attn=[1], num_res_blocks=2, dropout=0.1,
                  groups=32, T=500),
    "small": dict(ch=32, ch_mult=[1, 2, 2], attn=[1], num_res_blocks=1, dropout=0.1,
                  groups=32, T=500),
    "tiny": dict(ch=16, ch_mult=[1, 2], attn=[1], num_res_blocks=1, dropout=0.1,
                 groups=8, T=500),
}
BETA_1, BETA_T = 0.05, 0.1


def preset(name):
    """A copy of a preset's config; 'NAME-t100' gives T = 100."""
    base, _, suffix = name.partition("-")
    cfg = dict(PRESETS[base])
    cfg["ch_mult"] = list(cfg["ch_mult"])
    cfg["attn"] = list(cfg["attn"])
    if suffix == "t100":
        cfg["T"] = 100
    elif suffix:
        raise ValueError("unknown preset " + name)
    return cfg


class TimeEmbedding(nn.Module):
    def __init__(self, T, d_model, dim):
        super().__init__()
        assert d_model % 2 == 0
        emb = torch.arange(0, d_model, step=2) / d_model * math.log(10000)
        emb = torch.exp(-emb)
        pos = torch.arange(T).float()
        emb = pos[:, None] * emb[None, :]
        emb = torch.stack([torch.sin(emb), torch.cos(emb)], dim=-1).view(T, d_model)
        self.timembedding = nn.Sequential(
            nn.Embedding.from_pretrained(emb),
            nn.Linear(d_model, dim),
            nn.GELU(),
            nn.Linear(dim, dim),
        )
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, t):
        return self.timembedding(t)


class DownSample(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.main = nn.Conv2d(C, C, 3, stride=2, padding=1)
        nn.init.xavier_uniform_(self.main.weight)
        nn.init.zeros_(self.main.bias)

    def forward(self, x, temb):
        return self.main(x)


class UpSample(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.main = nn.Conv2d(C, C, 3, stride=1, padding=1)
        nn.init.xavier_uniform_(self.main.weight)
        nn.init.zeros_(self.main.bias)

    def forward(self, x, temb):
        return self.main(F.interpolate(x, scale_factor=2, mode="nearest"))


class AttnBlock(nn.Module):
    def __init__(self, C, G):
        super().__init__()
        self.group_norm = nn.GroupNorm(G, C)
        self.proj_q = nn.Conv2d(C, C, 1, stride=1, padding=0)
        self.proj_k = nn.Conv2d(C, C, 1, stride=1, padding=0)
        self.proj_v = nn.Conv2d(C, C, 1, stride=1, padding=0)
        self.proj = nn.Conv2d(C, C, 1, stride=1, padding=0)
        for m in (self.proj_q, self.proj_k, self.proj_v, self.proj):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.proj.weight, gain=1e-5)

    def forward(self, x):
        B, C, H, W = x.shape
        h = self.group_norm(x)
        q = self.proj_q(h).permute(0, 2, 3, 1).view(B, H * W, C)
        k = self.proj_k(h).view(B, C, H * W)
        w = F.softmax(torch.bmm(q, k) * (int(C) ** (-0.5)), dim=-1)
        v = self.proj_v(h).permute(0, 2, 3, 1).view(B, H * W, C)
        h = torch.bmm(w, v).view(B, H, W, C).permute(0, 3, 1, 2)
        return x + self.proj(h)


class ResBlock(nn.Module):
    def __init__(self, in_ch, out_ch, tdim, dropout, attn, G):
        super().__init__()
        self.block1 = nn.Sequential(
            nn.GroupNorm(G, in_ch), nn.GELU(), nn.Conv2d(in_ch, out_ch, 3, stride=1, padding=1))
        self.temb_proj = nn.Sequential(nn.GELU(), nn.Linear(tdim, out_ch))
        self.block2 = nn.Sequential(
            nn.GroupNorm(G, out_ch), nn.GELU(), nn.Dropout(dropout),
            nn.Conv2d(out_ch, out_ch, 3, stride=1, padding=1))
        if in_ch != out_ch:
            self.shortcut = nn.Conv2d(in_ch, out_ch, 1, stride=1, padding=0)
        else:
            self.shortcut = nn.Identity()
        self.attn = AttnBlock(out_ch, G) if attn else nn.Identity()
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                if m in list(self.attn.modules()):
                    continue  # AttnBlock initialised itself
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.block2[-1].weight, gain=1e-5)

    def forward(self, x, temb):
        h = self.block1(x)
        h = h + self.temb_proj(temb)[:, :, None, None]
        h = self.block2(h)
        h = h + self.shortcut(x)
        return self.attn(h)


class UNet(nn.Module):
    def __init__(self, T, ch, ch_mult, attn, num_res_blocks, dropout, groups=32, **_):
        super().__init__()
        tdim = ch * 4
        G = groups
        self.time_embedding = TimeEmbedding(T, ch, tdim)
        self.head = nn.Conv2d(1, ch, 3, stride=1, padding=1)
        self.downblocks = nn.ModuleList()
        chs = [ch]
        now = ch
        for i, mult in enumerate(ch_mult):
            out = ch * mult
            for _ in range(num_res_blocks):
                self.downblocks.append(ResBlock(now, out, tdim, dropout, i in attn, G))
                now = out
                chs.append(now)
            if i != len(ch_mult) - 1:
                self.downblocks.append(DownSample(now))
                chs.append(now)
        self.middleblocks = nn.ModuleList([
            ResBlock(now, now, tdim, dropout, True, G),
            ResBlock(now, now, tdim, dropout, False, G),
        ])
        self.upblocks = nn.ModuleList()
        for i, mult in reversed(list(enumerate(ch_mult))):
            out = ch * mult
            for _ in range(num_res_blocks + 1):
                self.upblocks.append(ResBlock(chs.pop() + now, out, tdim, dropout, i in attn, G))
                now = out
            if i != 0:
                self.upblocks.append(UpSample(now))
        assert not chs
        self.tail = nn.Sequential(nn.GroupNorm(G, now), nn.GELU(),
                                  nn.Conv2d(now, 1, 3, stride=1, padding=1))
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        nn.init.xavier_uniform_(self.tail[-1].weight, gain=1e-5)
        nn.init.zeros_(self.tail[-1].bias)

    def forward(self, x, t):
        temb = self.time_embedding(t)
        h = self.head(x)
        hs = [h]
        for layer in self.downblocks:
            h = layer(h, temb)
            hs.append(h)
        for layer in self.middleblocks:
            h = layer(h, temb)
        for layer in self.upblocks:
            if isinstance(layer, ResBlock):
                skip = hs.pop()
                if skip.shape[-2:] != h.shape[-2:]:
                    skip = F.interpolate(skip, size=h.shape[-2:], mode="bilinear",
                                         align_corners=False)
                h = torch.cat([h, skip], dim=1)
            h = layer(h, temb)
        h = self.tail(h)
        if h.shape[-2:] != x.shape[-2:]:
            h = F.interpolate(h, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return h


class Model(nn.Module):
    """The DDPM wrapper: state_dict names get the prefix 'backbone.'."""

    def __init__(self, cfg):
        super().__init__()
        self.backbone = UNet(**cfg)

    def forward(self, x, t):
        return self.backbone(x, t)


class Schedule:
    """Linear betas, alpha_bar, posterior sigma (abar before step 0 is 1)."""

    def __init__(self, T, beta_1=BETA_1, beta_T=BETA_T):
        self.T = T
        self.betas = torch.linspace(beta_1, beta_T, T, dtype=torch.float64)
        self.alphas = 1.0 - self.betas
        self.abar = torch.cumprod(self.alphas, dim=0)
        abar_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.abar[:-1]])
        self.sigma = torch.sqrt((1.0 - abar_prev) / (1.0 - self.abar) * self.betas)

    def q_sample(self, x0, t, eps):
        a = torch.sqrt(self.abar)[t].float().view(-1, 1, 1, 1)
        s = torch.sqrt(1.0 - self.abar)[t].float().view(-1, 1, 1, 1)
        return a * x0 + s * eps


def ddpm_loss(model, sched, x0, t, eps):
    """mean (eps_hat - eps)^2 over the batch, x_t from x0, t and eps."""
    return F.mse_loss(model(sched.q_sample(x0, t, eps), t), eps)


@torch.no_grad()
def reverse_step(model, sched, x, t, z):
    """One reverse step from x_t to x_{t-1}; z ~ N(0, I) (ignored at t = 0)."""
    tt = torch.full((x.shape[0],), t, dtype=torch.long)
    eps = model(x, tt)
    beta, alpha, abar = sched.betas[t].item(), sched.alphas[t].item(), sched.abar[t].item()
    mean = (x - beta / math.sqrt(1.0 - abar) * eps) / math.sqrt(alpha)
    return mean + sched.sigma[t].item() * z if t > 0 else mean
