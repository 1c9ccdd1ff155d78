"""The predictor of spec section 3 as a PyTorch module (DeepLSTM, the authors'
attribute names), PyTorch-initialised, and what tests/test_predictor.c checks
tdl's predictor module against:

  predictor_torch_model: the module's full state_dict, nothing else, i.e. a
      PyTorch export as tools/export_predictor.py writes it (no tdl metadata).
  predictor_torch: a batch of B=8 inputs (B,7,1) in [0,1] and targets (B), the
      eval-mode outputs, the DFL loss (exact and authors' rule) and its gradient
      with respect to every parameter (grad.<name>), the MSE loss and gradient,
      and the parameters after 5 Adam steps (lr 1e-3, eval mode, DFL loss on
      the same batch, exact rule).

To stay under 1 MB, the MSE gradients and the Adam results are stored whole
for tensors of at most SMALL elements and as every STRIDE-th element of the
flattened tensor for the three large LSTM matrices.
"""
import math

import torch
import torch.nn.functional as F

SMALL, STRIDE = 4096, 32
# The decision problem (spec section 1, the authors' constants) and 23V's range.
ETA, A_, B_, A_MIN, A_MAX, P_IDLE, P_ACT = 0.7, 20.0, 1.5, 200.0, 400000.0, 100.0, 280.0
SCALE, OFFSET = 106957.0 - 374.0, 374.0


class DeepLSTM(torch.nn.Module):
    def __init__(self, T=7, H1=128, H2=64, F1=32, p=0.3):
        super().__init__()
        self.lstm1 = torch.nn.LSTM(1, H1, batch_first=True)
        self.norm1 = torch.nn.LayerNorm(H1)
        self.drop1 = torch.nn.Dropout(p)
        self.lstm2 = torch.nn.LSTM(H1, H2, batch_first=True)
        self.norm2 = torch.nn.LayerNorm(H2)
        self.drop2 = torch.nn.Dropout(p)
        self.fc1 = torch.nn.Linear(H2, F1)
        self.fc2 = torch.nn.Linear(F1, 1)

    def forward(self, x):  # x (B, T, 1) -> (B)
        h, _ = self.lstm1(x)
        h = self.drop1(self.norm1(h))
        h, _ = self.lstm2(h)
        h = self.drop2(self.norm2(h))
        return self.fc2(F.gelu(self.fc1(h[:, -1, :]))).squeeze(-1)


def n(z):
    return torch.clamp((z - A_MIN) / (A_MAX - A_MIN), min=0.0)


def s(t):
    return torch.log(A_ * t + 1.0) / (B_ * math.log(A_ + 1.0))


def loss_L(x, y):
    """L(x, y), tokens, elementwise (float64)."""
    u, w = n(x), n(y)
    v = torch.clamp(w, min=1e-8)
    util = s(torch.clamp(u / v, max=1.0)) * v
    c_act, c_idle = P_ACT / A_MIN, P_IDLE / A_MIN
    cost = c_act * torch.minimum(u, w) + c_idle * torch.clamp(u - w, min=0.0)
    return (1.0 - ETA) * cost - ETA * util


def ratio():
    return ETA / ((1.0 - ETA) * (P_ACT / A_MIN) * B_ * math.log(A_ + 1.0)) - 1.0 / A_


def decide(yhat, rule):
    r = ratio()
    if rule == "exact":
        return torch.clamp(A_MIN + min(r, 1.0) * (yhat - A_MIN), A_MIN, A_MAX)
    return torch.clamp(r * yhat, A_MIN, A_MAX)


def dfl_loss(y, t, rule="exact"):
    yhat = F.relu(y).double() * SCALE + OFFSET
    return loss_L(decide(yhat, rule), t.double() * SCALE + OFFSET).mean()


def sub(t):
    f = t.detach().flatten()
    return f if f.numel() <= SMALL else f[::STRIDE]


def generate(save):
    torch.manual_seed(2020)  # 5 of 8 outputs positive: relu both passes and clips
    model = DeepLSTM().eval()
    B = 8
    x = torch.rand(B, 7, 1)
    t = torch.rand(B)
    names = [k for k, _ in model.named_parameters()]
    save("predictor_torch_model", dict(model.state_dict()), {"source": "torch DeepLSTM"})

    out = model(x)
    loss = dfl_loss(out, t)
    grads = torch.autograd.grad(loss, list(model.parameters()), retain_graph=True)
    loss_auth = dfl_loss(out, t, "authors")
    mse = ((out.double() - t.double()) ** 2).mean()
    mgrads = torch.autograd.grad(mse, list(model.parameters()))

    print("predictor_torch outputs", out.tolist())
    f = {"x": x, "t": t, "out": out.detach(),
         "losses": torch.tensor([loss.item(), loss_auth.item(), mse.item()], dtype=torch.float64)}
    for k, g in zip(names, grads):
        f["grad." + k] = g
    for k, g in zip(names, mgrads):
        f["mse_grad." + k] = sub(g)

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = []
    for _ in range(5):
        opt.zero_grad()
        l5 = dfl_loss(model(x), t)
        l5.backward()
        opt.step()
        steps.append(l5.item())
    f["adam_losses"] = torch.tensor(steps, dtype=torch.float64)
    for k, p in model.named_parameters():
        f["adam5." + k] = sub(p)
    save("predictor_torch", f, {"B": B, "scale": SCALE, "offset": OFFSET, "small": SMALL,
                                "stride": STRIDE, "relu_clipped": int((out <= 0).sum()),
                                "dfl_exact": repr(loss.item()), "dfl_authors": repr(loss_auth.item()),
                                "mse": repr(mse.item()),
                                "adam_losses": " ".join(repr(v) for v in steps)})
