"""Sequence kernels (linear, LSTM, layernorm, GELU, ReLU, dropout, MSE) and the
whole predictor of spec section 3, against PyTorch.

Every kernel fixture stores inputs, parameters (PyTorch's default
initialisation unless said otherwise), R = "<kernel>.dout", the forward output
and the gradients of sum(out * R).
"""
import numpy as np
import torch
import torch.nn.functional as F


def grads_of(out, r, tensors):
    (out * r).sum().backward()
    return [t.grad.detach().clone() for t in tensors]


def gen_linear(save):
    torch.manual_seed(1)
    N, C, OC = 5, 7, 4
    lin = torch.nn.Linear(C, OC)
    x = torch.randn(N, C, requires_grad=True)
    y = lin(x)
    r = torch.randn(N, OC)
    dx, dw, db = grads_of(y, r, [x, lin.weight, lin.bias])
    save("linear", {"linear.inp": x, "linear.weight": lin.weight, "linear.bias": lin.bias,
                    "linear.dout": r, "linear.out": y, "linear.dinp": dx,
                    "linear.dweight": dw, "linear.dbias": db},
         {"N": N, "C": C, "OC": OC})


def gen_lstm(save, name, seed, B, T, C, H):
    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(C, H, batch_first=True)
    x = torch.randn(B, T, C, requires_grad=True)
    y, (hn, cn) = lstm(x)
    r = torch.randn(B, T, H)
    params = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0]
    g = grads_of(y, r, [x] + params)
    t = {f"{name}.inp": x}
    for p, pn in zip(params, ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]):
        t[f"{name}.{pn}"] = p
    t[f"{name}.dout"] = r
    t[f"{name}.h"] = y
    t[f"{name}.c_n"] = cn[0]  # (B, H): the cell state of the last step
    t[f"{name}.dinp"] = g[0]
    for gg, pn in zip(g[1:], ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]):
        t[f"{name}.d{pn}"] = gg
    save(name, t, {"B": B, "T": T, "C": C, "H": H})


def gen_layernorm(save):
    torch.manual_seed(3)
    N, C = 6, 10
    ln = torch.nn.LayerNorm(C)  # eps 1e-5
    with torch.no_grad():  # non-trivial affine so that dweight/dbias/dinp all matter
        ln.weight.add_(0.5 * torch.randn(C))
        ln.bias.add_(0.5 * torch.randn(C))
    x = (torch.randn(N, C) * 2.0 + 0.7).requires_grad_()
    y = ln(x)
    r = torch.randn(N, C)
    dx, dw, db = grads_of(y, r, [x, ln.weight, ln.bias])
    save("layernorm", {"layernorm.inp": x, "layernorm.weight": ln.weight,
                       "layernorm.bias": ln.bias, "layernorm.dout": r, "layernorm.out": y,
                       "layernorm.dinp": dx, "layernorm.dweight": dw, "layernorm.dbias": db},
         {"N": N, "C": C, "eps": ln.eps})


def gen_activations(save):
    torch.manual_seed(4)
    x = torch.cat([torch.linspace(-6.0, 6.0, 49), torch.randn(31) * 2.0]).requires_grad_()
    y = F.gelu(x)  # erf form
    r = torch.randn(x.numel())
    (dx,) = grads_of(y, r, [x])
    save("gelu", {"gelu.inp": x, "gelu.dout": r, "gelu.out": y, "gelu.dinp": dx})

    x = torch.randn(80)
    x = (x + 0.05 * torch.sign(x)).requires_grad_()  # nothing at the kink
    y = F.relu(x)
    r = torch.randn(80)
    (dx,) = grads_of(y, r, [x])
    save("relu", {"relu.inp": x, "relu.dout": r, "relu.out": y, "relu.dinp": dx})


def gen_dropout(save):
    torch.manual_seed(5)
    N, p = 256, 0.3
    x = torch.randn(N)
    x = (x + 0.1 * torch.sign(x)).requires_grad_()  # nonzero, so y != 0 exactly where kept
    y = F.dropout(x, p=p, training=True)
    mask = (y != 0).to(torch.float32) / (1.0 - p)
    r = torch.randn(N)
    (dx,) = grads_of(y, r, [x])
    save("dropout", {"dropout.inp": x, "dropout.mask": mask, "dropout.dout": r,
                     "dropout.out": y, "dropout.dinp": dx}, {"p": p})


def gen_mse(save):
    torch.manual_seed(6)
    N = 17
    pred = torch.randn(N, requires_grad=True)
    target = torch.randn(N)
    loss = F.mse_loss(pred, target)
    dloss = 0.7
    (loss * dloss).backward()
    save("mse", {"mse.pred": pred, "mse.target": target, "mse.loss": loss.reshape(1),
                 "mse.dloss": torch.tensor([dloss]), "mse.dpred": pred.grad}, {"N": N})


# ---------------------------------------------------------------- predictor
# The predictor's 119,233 parameters and their gradients would be ~1 MB, so
# the parameters are not stored: both sides make them from a hash of
# (tensor index, element index) that float32 reproduces exactly, uniform in
# [-bound, bound) with PyTorch's default bounds (1/sqrt(H) for LSTM,
# 1/sqrt(in_features) for Linear); LayerNorm gets 1 + 0.1 u and 0.1 u so that
# its affine part matters. tests/test_predictor_kernels.c has the same generator.
PREDICTOR_PARAMS = [  # name, shape, kind, fan (order of predictor-params.txt)
    ("lstm1.weight_ih_l0", (512, 1), "u", 128), ("lstm1.weight_hh_l0", (512, 128), "u", 128),
    ("lstm1.bias_ih_l0", (512,), "u", 128), ("lstm1.bias_hh_l0", (512,), "u", 128),
    ("norm1.weight", (128,), "w", 0), ("norm1.bias", (128,), "b", 0),
    ("lstm2.weight_ih_l0", (256, 128), "u", 64), ("lstm2.weight_hh_l0", (256, 64), "u", 64),
    ("lstm2.bias_ih_l0", (256,), "u", 64), ("lstm2.bias_hh_l0", (256,), "u", 64),
    ("norm2.weight", (64,), "w", 0), ("norm2.bias", (64,), "b", 0),
    ("fc1.weight", (32, 64), "u", 64), ("fc1.bias", (32,), "u", 64),
    ("fc2.weight", (1, 32), "u", 32), ("fc2.bias", (1,), "u", 32),
]


def hash_uniform(k, n):
    """v[i] in [-1, 1): lowbias32 of (i + k * 0x9E3779B9), top 24 bits; exact in float32."""
    M = 0xFFFFFFFF
    x = (np.arange(n, dtype=np.uint64) + np.uint64((k * 0x9E3779B9) & M)) & np.uint64(M)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & np.uint64(M)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & np.uint64(M)
    x ^= x >> np.uint64(16)
    u = (x >> np.uint64(8)).astype(np.float32) * np.float32(1.0 / 16777216.0)
    return np.float32(2.0) * u - np.float32(1.0)


def predictor_param(k, shape, kind, fan):
    v = hash_uniform(k, int(np.prod(shape)))
    if kind == "u":
        bound = np.float32(1.0) / np.sqrt(np.float32(fan))
        a = v * bound
    elif kind == "w":
        a = np.float32(1.0) + np.float32(0.1) * v
    else:
        a = np.float32(0.1) * v
    assert a.dtype == np.float32
    return torch.from_numpy(a.reshape(shape))


class Predictor(torch.nn.Module):
    def __init__(self, p=0.3):
        super().__init__()
        self.lstm1 = torch.nn.LSTM(1, 128, batch_first=True)
        self.norm1 = torch.nn.LayerNorm(128)
        self.lstm2 = torch.nn.LSTM(128, 64, batch_first=True)
        self.norm2 = torch.nn.LayerNorm(64)
        self.fc1 = torch.nn.Linear(64, 32)
        self.fc2 = torch.nn.Linear(32, 1)
        self.drop = torch.nn.Dropout(p)

    def forward(self, x):
        h, _ = self.lstm1(x)
        h = self.drop(self.norm1(h))
        h, _ = self.lstm2(h)
        h = self.drop(self.norm2(h))
        h = h[:, -1, :]
        return self.fc2(F.gelu(self.fc1(h)))


def gen_predictor(save):
    torch.manual_seed(8)
    B, T = 4, 7
    model = Predictor()
    sd = model.state_dict()
    assert [n for n, *_ in PREDICTOR_PARAMS] == list(sd.keys())
    with torch.no_grad():
        for k, (n, shape, kind, fan) in enumerate(PREDICTOR_PARAMS):
            assert tuple(sd[n].shape) == shape
            sd[n].copy_(predictor_param(k, shape, kind, fan))
    model.eval()  # dropout off (p = 0 in the C composition)
    x = torch.randn(B, T, 1).requires_grad_()
    out = model(x)
    r = torch.randn(B, 1)
    params = dict(model.named_parameters())
    g = grads_of(out, r, [x] + [params[n] for n, *_ in PREDICTOR_PARAMS])
    t = {"predictor.x": x, "predictor.dout": r, "predictor.out": out, "predictor.dx": g[0],
         "predictor.param_sums": torch.tensor(
             [float(params[n].double().sum()) for n, *_ in PREDICTOR_PARAMS])}
    for (n, *_), gg in zip(PREDICTOR_PARAMS, g[1:]):
        t["grad." + n] = gg
    save("predictor", t, {"B": B, "T": T})


def generate(save):
    gen_linear(save)
    gen_lstm(save, "lstm", 2, 3, 5, 4, 6)
    gen_lstm(save, "lstm_c1", 7, 2, 7, 1, 5)
    gen_layernorm(save)
    gen_activations(save)
    gen_dropout(save)
    gen_mse(save)
    gen_predictor(save)
