"""The predictor's gradient with respect to its INPUTS (dLoss/dx, x (B, 7, 1)),
for tests/test_predictor.c: the model is predictor_torch's (same seed, so the
same weights as predictor_torch_model.safetensors; the test checks the
outputs first), a new batch of B=8 inputs in [0, 1], targets and a fixed R,
eval mode; stored: x, t, r, out and x.grad of
  dx_sum:  sum(out * R);
  dx_dfl:  the DFL loss (exact rule, batch mean);
  dx_mse:  the MSE loss (batch mean).
One small file (the model is not stored again).
"""
import torch

from fixturegen.predictor_torch import SCALE, OFFSET, DeepLSTM, dfl_loss


def generate(save):
    torch.manual_seed(2020)  # as predictor_torch: the same initialisation
    model = DeepLSTM().eval()
    g = torch.Generator().manual_seed(77)
    B = 8
    x = torch.rand(B, 7, 1, generator=g)
    t = torch.rand(B, generator=g)
    r = torch.rand(B, generator=g) + 0.5
    f = {"x": x.clone(), "t": t, "r": r}
    for key, fn in (("dx_sum", lambda o: (o.double() * r.double()).sum()),
                    ("dx_dfl", lambda o: dfl_loss(o, t)),
                    ("dx_mse", lambda o: ((o.double() - t.double()) ** 2).mean())):
        xi = x.clone().requires_grad_(True)
        out = model(xi)
        (dx,) = torch.autograd.grad(fn(out), [xi])
        f[key] = dx
        f["out"] = out.detach()
    out = f["out"]
    print("predictor_input outputs", out.tolist())
    save("predictor_input", f, {"B": B, "scale": SCALE, "offset": OFFSET,
                                "relu_clipped": int((out <= 0).sum())})
