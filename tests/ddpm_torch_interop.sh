#!/bin/sh
# ddpm_torch_interop.sh TDL SOURCE_DIR: a diffusion model moves between tdl
# and PyTorch (tools/fixturegen/unet_torch.py) through the CLI:
#   torch -> tdl: a bare state_dict export of a (perturbed) tiny-t100 UNet;
#                 `tdl diffusion eps --preset tiny-t100` equals torch's eps.
#   tdl -> torch: a model trained by `tdl diffusion train` loads into the
#                 torch UNet with the config from its metadata; eps agree.
# Agreement: |a - b| <= 1e-4 max|b| + 1e-5 |b|. Reports a skip (exit 77) when
# /usr/bin/python3 has no torch.
TDL="$1"; SRC="$2"
export OMP_WAIT_POLICY=PASSIVE
PY=/usr/bin/python3
if ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "SKIP ddpm_torch_interop: $PY cannot import torch"; exit 77  # CTest: skipped
fi
TMP="${TMPDIR:-/tmp}/tdl_ddpm_interop.$$"; mkdir -p "$TMP"; trap 'rm -rf "$TMP"' EXIT
fail=0
export TDL_SRC="$SRC"

# torch side: make the export and the input, or compute eps of a model file
cat >"$TMP/t.py" <<'PY'
import json, os, struct, sys
import torch
sys.path.insert(0, os.path.join(os.environ["TDL_SRC"], "tools"))
from gen_fixtures import write_safetensors
from fixturegen import unet_torch as U

def read(path):
    raw = open(path, "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
    h = json.loads(raw[8:8 + n]); meta = h.pop("__metadata__", {}); data = raw[8 + n:]
    out = {k: torch.frombuffer(bytearray(data[v["data_offsets"][0]:v["data_offsets"][1]]),
                               dtype=torch.float32).view(v["shape"]) for k, v in h.items()}
    return out, meta

def config(text):  # tdl_unet_config_format -> the torch UNet's arguments
    kv = dict(p.split("=") for p in text.split(";"))
    mult = [int(x) for x in kv["ch_mult"].split(",")]
    attn = [i for i, a in enumerate(kv["attn"].split(",")) if a == "1"]
    return dict(ch=int(kv["ch"]), ch_mult=mult, attn=attn, num_res_blocks=int(kv["blocks"]),
                dropout=float(kv["dropout"]), groups=int(kv["groups"]), T=int(kv["T"]))

cmd, d = sys.argv[1], sys.argv[2]
if cmd == "export":
    torch.manual_seed(3)
    m = U.Model(U.preset("tiny-t100"))
    with torch.no_grad():
        for p in m.parameters():
            if p.requires_grad: p.add_(0.05 * torch.randn(p.shape))
    write_safetensors(d + "/torch.safetensors", m.state_dict())
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(4))
    write_safetensors(d + "/x.safetensors", {"x": x})
    with torch.no_grad():
        write_safetensors(d + "/ref.safetensors", {"eps": m.eval()(x, torch.tensor([37, 37]))})
elif cmd == "eps":  # eps of a tdl model file at t
    sd, meta = read(sys.argv[3])
    m = U.Model(config(meta["unet"])); m.load_state_dict(sd); m.eval()
    x, _ = read(d + "/x.safetensors")
    with torch.no_grad():
        write_safetensors(d + "/ref2.safetensors", {"eps": m(x["x"], torch.tensor([int(sys.argv[4])] * 2))})
elif cmd == "cmp":
    a, _ = read(sys.argv[3]); b, _ = read(sys.argv[4])
    a, b = a["eps"], b["eps"]
    err = (a - b).abs().max().item(); scale = b.abs().max().item()
    ok = bool(((a - b).abs() <= 1e-4 * scale + 1e-5 * b.abs()).all())
    print(("ok  " if ok else "FAIL") + f" {sys.argv[5]}: max |tdl - torch| {err:.3g}, max |torch| {scale:.3g}")
    sys.exit(0 if ok else 1)
PY

"$PY" "$TMP/t.py" export "$TMP" || fail=1
"$TDL" --threads 2 diffusion eps --model "$TMP/torch.safetensors" --preset tiny-t100 \
    --x "$TMP/x.safetensors" --t 37 -o "$TMP/e.safetensors" || fail=1
"$PY" "$TMP/t.py" cmp "$TMP" "$TMP/e.safetensors" "$TMP/ref.safetensors" "torch export in tdl" || fail=1
if "$TDL" diffusion eps --model "$TMP/torch.safetensors" --x "$TMP/x.safetensors" --t 37 \
    -o "$TMP/e.safetensors" 2>"$TMP/err"; then
    echo "FAIL an export without --preset was accepted"; fail=1
else
    grep -q "give --preset" "$TMP/err" && echo "ok   an export without --preset asks for it" || fail=1
fi

"$TDL" --threads 2 diffusion train --train synth:conversation:1:10000 --preset tiny-t100 --ch 8 \
    --groups 4 --iters 2 --batch 2 -o "$TMP/tdl.safetensors" 2>/dev/null || fail=1
"$TDL" --threads 2 diffusion eps --model "$TMP/tdl.safetensors" --x "$TMP/x.safetensors" --t 5 \
    -o "$TMP/e2.safetensors" || fail=1
"$PY" "$TMP/t.py" eps "$TMP" "$TMP/tdl.safetensors" 5 || fail=1
"$PY" "$TMP/t.py" cmp "$TMP" "$TMP/e2.safetensors" "$TMP/ref2.safetensors" "tdl model in torch" || fail=1
[ $fail -eq 0 ] && echo "ddpm_torch_interop: ok" || echo "ddpm_torch_interop: FAILED"
exit $fail
