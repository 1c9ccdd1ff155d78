#!/bin/sh
# cli_json.sh TDL: every command's --json output parses as JSON (python3's
# json module) with paths that hold a quote, a backslash, a space and a byte
# that is not UTF-8, and with values that are not finite (null): train and
# diffusion train resumed after the run finished (final_loss was printed as
# nan), decide, info, data info, eval, diffusion sample and quality, 3D-L's
# summary and its per-epoch log. Reports a skip when python3 is missing.
TDL="$1"
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_json

if ! python3 -c 'import json' 2>/dev/null; then
    skip "no python3 to parse the JSON with"
    cli_done cli_json
fi

# parses NAME PYTHON-EXPRESSION: $TMP/out is one JSON document and the
# expression (over d, the document, and D, the directory) is true
parses() {
    D="$D" python3 -c '
import json, os, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
D = os.environ["D"]
sys.exit(0 if eval(sys.argv[2]) else 1)' "$TMP/out" "$2" 2>"$TMP/perr"
    st=$?
    [ $st -eq 0 ] || { sed 's/^/     python: /' "$TMP/perr" | tail -3; head -c 600 "$TMP/out" | sed 's/^/     out: /'; }
    check "$1" $st
}

D="$TMP/a \"quoted\" \\dir"
mkdir -p "$D"
BAD="$(printf 'lat\377in')" # a file name that is not UTF-8
"$TDL" synth --slots 2800 --seed 1 -o "$D/a.csv" && "$TDL" synth --profile code --slots 2800 -o "$D/b.csv" &&
    cp "$D/a.csv" "$TMP/$BAD.csv"
check "series written" $?

expect "decide" 0 "" "" -- decide --forecast 100 --actual 1e50 --json
parses "decide parses" 'd["regret"] > 0 and d["capacity"] == 200'
expect "info" 0 "" "" -- info --json
parses "info parses" 'd["threads"] >= 1 and d["avx512"] in (True, False)'
expect "data info" 0 "" "" -- data info --json "$D/a.csv" "$TMP/$BAD.csv" --against "$D/b.csv"
parses "data info parses, the quoted path intact" 'd["files"][0]["file"] == D + "/a.csv" and d["against"] == D + "/b.csv"'
parses "data info: the non-UTF-8 byte as U+FFFD" 'd["files"][1]["file"].endswith("lat\ufffdin.csv")'

T="--threads 2 train --method mse --epochs 1 --lr 1e-3 --json"
expect "train" 0 "" "" -- $T --train "$D/a.csv" -o "$D/m.safetensors"
parses "train parses, paths intact" 'd["train"] == D + "/a.csv" and d["model"] == D + "/m.safetensors" and d["checkpoint"] == D + "/m.ckpt.safetensors" and d["final_loss"] > 0'
expect "train resumed after the end" 0 "" "" -- --threads 2 train --resume --json -o "$D/m.safetensors"
parses "resumed: final_loss null (was nan)" 'd["final_loss"] is None and d["resumed_from_epoch"] == 1'
expect "train on a non-UTF-8 path" 0 "" "" -- $T --train "$TMP/$BAD.csv" -o "$TMP/$BAD.safetensors"
parses "train: U+FFFD in the paths" 'd["train"].endswith("lat\ufffdin.csv") and d["checkpoint"].endswith("lat\ufffdin.ckpt.safetensors")'
expect "train w-dro" 0 "" "" -- --threads 2 train --method w-dro --fw-iters 2 --steps 2 --json --train "$D/a.csv" -o "$D/w.safetensors"
parses "train w-dro parses" 'd["compat"] == "paper" and d["steps"] == 2'

expect "eval" 0 "" "" -- eval --json --model "$D/m.safetensors" --train "$D/a.csv" --test "$D/a.csv" "$TMP/$BAD.csv" --corrupt gauss:0.1 --dropout-eval
parses "eval parses" 'd["model"] == D + "/m.safetensors" and d["sets"][0]["split"] == "test30" and d["sets"][1]["test"].endswith("\ufffdin.csv") and d["corrupt"]["level"] == 0.1 and d["dropout"] == 0.3'

NET="--preset tiny --ch 8 --groups 4 --T 10 --batch 2"
expect "diffusion train" 0 "" "" -- --threads 2 diffusion train --train "$D/a.csv" $NET --iters 2 --json -o "$D/d.safetensors"
parses "diffusion train parses" 'd["train"] == D + "/a.csv" and d["iters"] == 2 and d["final_loss"] > 0'
expect "diffusion train resumed after the end" 0 "" "" -- --threads 2 diffusion train --resume --json -o "$D/d.safetensors"
parses "resumed: final and mean loss null" 'd["final_loss"] is None and d["mean_loss_last"] is None and d["seconds_per_iter"] is None'
expect "diffusion sample" 0 "" "" -- --threads 2 diffusion sample --model "$D/d.safetensors" --images 2 --json --trajectory 2 "$D/t.safetensors" -o "$D/s.csv"
parses "diffusion sample parses" 'd["model"] == D + "/d.safetensors" and d["output"] == D + "/s.csv" and d["trajectory"] == D + "/t.safetensors"'
expect "diffusion quality" 0 "" "" -- diffusion quality --json --real "$D/a.csv" --generated "$D/s.csv"
parses "diffusion quality parses" 'd["real"]["source"] == D + "/a.csv" and len(d["real"]["acf"]) == 28'

SMALL="--z0-batches 1 --z0-images 2 --tprime 3 --j-batch 2 --s-images 2 --pred-batch 16 --inner 1 --outer 1"
expect "3dl" 0 "" "" -- --threads 2 train --method 3dl --train "$D/a.csv" --init "$D/m.safetensors" --diffusion "$D/d.safetensors" $SMALL --json --log "$D/run.jsonl" -o "$D/3.safetensors"
parses "3dl parses" 'd["train"] == D + "/a.csv" and d["theta_model"] == D + "/3.theta.safetensors" and len(d["epochs"]) == 1'
python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]' "$D/run.jsonl"
check "3dl log: every line parses" $?

cli_done cli_json
