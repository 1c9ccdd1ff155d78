"""Image kernels of the UNet: GroupNorm, Conv2d, nearest/bilinear resizing,
self-attention, the whole attention block, channel concatenation.

Every fixture stores the inputs, the parameters (PyTorch default init unless
noted), R = "<kernel>.dout", the forward output and the gradients of
sum(out * R) with respect to every input and parameter.
"""
import torch
import torch.nn.functional as F


def grads(out, dout, named):
    """Backward of sum(out * dout); returns {"d" + name: grad} for named leaves."""
    (out * dout).sum().backward()
    return {"d" + k: v.grad.detach().clone() for k, v in named.items()}


def prefixed(prefix, d):
    return {f"{prefix}.{k}": v.detach() for k, v in d.items()}


def groupnorm(save):
    torch.manual_seed(101)
    B, C, H, W, G = 2, 6, 4, 5, 3
    gn = torch.nn.GroupNorm(G, C, eps=1e-5)
    with torch.no_grad():  # non-trivial affine parameters
        gn.weight.copy_(1.0 + 0.5 * torch.randn(C))
        gn.bias.copy_(0.3 * torch.randn(C))
    x = (torch.randn(B, C, H, W) * 2.0 + 0.7).requires_grad_()
    out = gn(x)
    dout = torch.randn_like(out)
    named = {"inp": x, "weight": gn.weight, "bias": gn.bias}
    t = {"inp": x, "weight": gn.weight, "bias": gn.bias, "dout": dout, "out": out}
    t.update(grads(out, dout, named))
    save("groupnorm", prefixed("groupnorm", t), {"B": B, "C": C, "H": H, "W": W, "G": G})


def conv2d(save, name, seed, B, C, H, W, OC, K, S, P):
    torch.manual_seed(seed)
    conv = torch.nn.Conv2d(C, OC, K, S, P)
    x = torch.randn(B, C, H, W).requires_grad_()
    out = conv(x)
    dout = torch.randn_like(out)
    named = {"inp": x, "weight": conv.weight, "bias": conv.bias}
    t = {"inp": x, "weight": conv.weight, "bias": conv.bias, "dout": dout, "out": out}
    t.update(grads(out, dout, named))
    save(name, prefixed("conv2d", t),
         {"B": B, "C": C, "H": H, "W": W, "OC": OC, "K": K, "S": S, "P": P})


def upsample(save):
    torch.manual_seed(301)
    B, C, H, W = 2, 3, 3, 4
    x = torch.randn(B, C, H, W).requires_grad_()
    out = F.interpolate(x, scale_factor=2, mode="nearest")
    dout = torch.randn_like(out)
    t = {"inp": x, "dout": dout, "out": out}
    t.update(grads(out, dout, {"inp": x}))
    save("upsample2x", prefixed("upsample2x", t), {"B": B, "C": C, "H": H, "W": W})


def bilinear(save, name, seed, B, C, H, W, OH, OW):
    torch.manual_seed(seed)
    x = torch.randn(B, C, H, W).requires_grad_()
    out = F.interpolate(x, size=(OH, OW), mode="bilinear", align_corners=False)
    dout = torch.randn_like(out)
    t = {"inp": x, "dout": dout, "out": out}
    t.update(grads(out, dout, {"inp": x}))
    save(name, prefixed("bilinear", t), {"B": B, "C": C, "H": H, "W": W, "OH": OH, "OW": OW})


def attention(save):
    torch.manual_seed(501)
    B, C, N = 2, 8, 12
    q = torch.randn(B, C, N).requires_grad_()
    k = torch.randn(B, C, N).requires_grad_()
    v = torch.randn(B, C, N).requires_grad_()
    att = F.softmax(torch.bmm(q.transpose(1, 2), k) * (C ** -0.5), dim=-1)  # (B, N, N)
    out = torch.bmm(v, att.transpose(1, 2))  # (B, C, N)
    dout = torch.randn_like(out)
    t = {"q": q, "k": k, "v": v, "dout": dout, "out": out, "att": att}
    t.update(grads(out, dout, {"q": q, "k": k, "v": v}))
    save("attention", prefixed("attention", t), {"B": B, "C": C, "N": N})


class AttnBlock(torch.nn.Module):
    """The UNet's self-attention block, written as the model it mirrors."""

    def __init__(self, C, G):
        super().__init__()
        self.group_norm = torch.nn.GroupNorm(G, C)
        self.proj_q = torch.nn.Conv2d(C, C, 1, stride=1, padding=0)
        self.proj_k = torch.nn.Conv2d(C, C, 1, stride=1, padding=0)
        self.proj_v = torch.nn.Conv2d(C, C, 1, stride=1, padding=0)
        self.proj = torch.nn.Conv2d(C, C, 1, stride=1, padding=0)

    def forward(self, x):
        h = self.group_norm(x)
        q = self.proj_q(h)
        k = self.proj_k(h)
        v = self.proj_v(h)
        B, C, H, W = x.shape
        q = q.permute(0, 2, 3, 1).view(B, H * W, C)
        k = k.view(B, C, H * W)
        w = torch.bmm(q, k) * (int(C) ** (-0.5))
        w = F.softmax(w, dim=-1)
        v = v.permute(0, 2, 3, 1).view(B, H * W, C)
        h = torch.bmm(w, v)
        h = h.view(B, H, W, C).permute(0, 3, 1, 2)
        h = self.proj(h)
        return x + h


def attnblock(save):
    torch.manual_seed(601)
    B, C, G, H, W = 2, 8, 4, 4, 4
    m = AttnBlock(C, G)
    with torch.no_grad():  # perturb the default init so every gradient is non-trivial
        m.group_norm.weight.copy_(1.0 + 0.3 * torch.randn(C))
        m.group_norm.bias.copy_(0.2 * torch.randn(C))
        for conv in (m.proj_q, m.proj_k, m.proj_v, m.proj):
            conv.weight.mul_(2.0)
            conv.bias.add_(0.1 * torch.randn(C))
    x = torch.randn(B, C, H, W).requires_grad_()
    out = m(x)
    dout = torch.randn_like(out)
    named = {"inp": x}
    for k, p in m.named_parameters():
        named[k] = p
    t = dict(named)
    t["dout"] = dout
    t["out"] = out
    t.update(grads(out, dout, named))
    save("attnblock", prefixed("attnblock", t), {"B": B, "C": C, "G": G, "H": H, "W": W})


def concat(save):
    torch.manual_seed(701)
    B, C1, C2, H, W = 2, 3, 2, 2, 3
    a = torch.randn(B, C1, H, W).requires_grad_()
    b = torch.randn(B, C2, H, W).requires_grad_()
    out = torch.cat([a, b], dim=1)
    dout = torch.randn_like(out)
    t = {"a": a, "b": b, "dout": dout, "out": out}
    t.update(grads(out, dout, {"a": a, "b": b}))
    save("concat", prefixed("concat", t), {"B": B, "C1": C1, "C2": C2, "H": H, "W": W})


def generate(save):
    groupnorm(save)
    conv2d(save, "conv2d_k3s1p1", 201, B=2, C=3, H=7, W=5, OC=4, K=3, S=1, P=1)
    conv2d(save, "conv2d_k3s2p1", 202, B=2, C=3, H=7, W=7, OC=4, K=3, S=2, P=1)  # UNet 7 -> 4
    conv2d(save, "conv2d_k3s1p0", 203, B=2, C=2, H=6, W=5, OC=3, K=3, S=1, P=0)
    conv2d(save, "conv2d_k1", 204, B=2, C=5, H=4, W=3, OC=3, K=1, S=1, P=0)
    upsample(save)
    bilinear(save, "bilinear_8to7", 401, B=2, C=2, H=8, W=8, OH=7, OW=7)  # skip size mismatch
    bilinear(save, "bilinear_4to7", 402, B=2, C=2, H=4, W=4, OH=7, OW=7)
    bilinear(save, "bilinear_28id", 403, B=1, C=1, H=28, W=28, OH=28, OW=28)
    bilinear(save, "bilinear_5x3to8x9", 404, B=2, C=2, H=5, W=3, OH=8, OW=9)
    attention(save)
    attnblock(save)
    concat(save)
