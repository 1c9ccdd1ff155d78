#!/bin/sh
# predictor_torch_interop.sh TEST_PREDICTOR SOURCE_DIR: a model moves between
# tdl and PyTorch (issue 4, item 4) in both directions, with the tools/ scripts:
#   tdl -> torch: test_predictor saves a seed-3 model; tools/import_predictor.py
#                 loads it into the torch DeepLSTM; the predictions agree.
#   torch -> tdl: tools/export_predictor.py writes a torch-initialised model;
#                 tdl loads it; its prediction equals torch's on that file.
# Agreement: relative 1e-5. Reports a skip (exit 77) when /usr/bin/python3 has no torch.
BIN="$1"; SRC="$2"
PY=/usr/bin/python3
if ! "$PY" -c 'import torch' 2>/dev/null; then
    echo "SKIP predictor_torch_interop: $PY cannot import torch"; exit 77  # CTest: skipped
fi
TMP="${TMPDIR:-/tmp}/tdl_interop.$$"; mkdir -p "$TMP"; trap 'rm -rf "$TMP"' EXIT
fail=0
same() { # NAME A B
    if awk -v a="$2" -v b="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; m = b < 0 ? -b : b;
                                         exit !(a != "" && b != "" && d <= 1e-5 * m + 1e-8) }'; then
        echo "ok   $1: tdl $2 torch $3"
    else
        echo "FAIL $1: tdl '$2' torch '$3'"; fail=1
    fi
}
t=$(TDL_TEST_WRITE_MODEL="$TMP/tdl.safetensors" "$BIN" | sed -n 's/^tdl prediction: //p')
p=$("$PY" "$SRC/tools/import_predictor.py" "$TMP/tdl.safetensors" | sed -n 's/^torch prediction: //p')
same "tdl model in torch" "$t" "$p"
"$PY" "$SRC/tools/export_predictor.py" --seed 5 -o "$TMP/torch.safetensors" >/dev/null || fail=1
t=$(TDL_TEST_PREDICT="$TMP/torch.safetensors" "$BIN" | sed -n 's/^tdl prediction: //p')
p=$("$PY" "$SRC/tools/import_predictor.py" "$TMP/torch.safetensors" | sed -n 's/^torch prediction: //p')
same "torch model in tdl" "$t" "$p"
# and a nonsense file is refused by both sides' loaders with the tensor named
"$PY" - "$TMP/torch.safetensors" "$TMP/bad.safetensors" <<'PY' || fail=1
import json, struct, sys
raw = open(sys.argv[1], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
h = json.loads(raw[8:8 + n]); h["fc2.bias"]["shape"] = [1, 1]
b = json.dumps(h).encode(); b += b" " * ((8 - len(b) % 8) % 8)
open(sys.argv[2], "wb").write(struct.pack("<Q", len(b)) + b + raw[8 + n:])
PY
if TDL_TEST_PREDICT="$TMP/bad.safetensors" "$BIN" 2>"$TMP/err" >/dev/null; then
    echo "FAIL tdl accepted a wrong shape"; fail=1
elif grep -q "tensor 'fc2.bias' has shape \[1, 1\], expected \[1\]" "$TMP/err"; then
    echo "ok   wrong shape refused: $(cat "$TMP/err")"
else
    echo "FAIL wrong-shape message: $(cat "$TMP/err")"; fail=1
fi
[ "$fail" -eq 0 ] && echo "predictor_torch_interop: passed" || echo "predictor_torch_interop: FAILED"
exit "$fail"
