#!/bin/sh
# cli_train_3dl.sh TDL: `tdl train --method 3dl`: help, usage and runtime
# errors (a budget <= 0, T' > T, a predictor given as the diffusion model and
# the other way round), a tiny run with its per-epoch log and JSON, the
# pre-training of missing pieces beside the output (and their reuse), and the
# crash test: a run killed with SIGKILL after its first outer-epoch
# checkpoint, resumed with --resume, ends with a model and checkpoint
# identical (cmp) to an uninterrupted run's. Networks and counts are tiny to
# keep the sanitizer build fast.
TDL="$1"
# tiny networks on a shared machine: a spinning OpenMP wait costs 10-20x
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_train_3dl

SRC=synth:conversation:1:10000   # 357 rows, 249 training rows: 9 images
SMALL="--z0-batches 2 --z0-images 2 --tprime 3 --j-batch 2 --s-images 3 --pred-batch 16 --inner 2"

expect "help" 0 "" "worst-case" -- train --method 3dl --help
expect "help names the compat switch" 0 "" "compat authors" -- train --method=3dl --help
expect "no -o" 2 "is required" "" -- train --method 3dl
expect "budget 0" 2 "budget" "" -- train --method 3dl --budget 0 -o "$TMP/x.safetensors"
expect "budget negative" 2 "budget" "" -- train --method 3dl --budget -1 -o "$TMP/x.safetensors"
expect "tprime 1" 2 "tprime" "" -- train --method 3dl --tprime 1 -o "$TMP/x.safetensors"
expect "kappa 1" 2 "kappa" "" -- train --method 3dl --kappa 1 -o "$TMP/x.safetensors"
expect "bad preset" 2 "cpu or paper" "" -- train --method 3dl --preset huge -o "$TMP/x.safetensors"
expect "bad adversary" 2 "on or off" "" -- train --method 3dl --adversary maybe -o "$TMP/x.safetensors"
expect "bad compat" 2 "authors or none" "" -- train --method 3dl --compat me -o "$TMP/x.safetensors"
expect "resume with config" 2 "checkpoint" "" -- train --method 3dl --resume --budget 1 -o "$TMP/x.safetensors"
expect "resume without checkpoint" 1 "tdl: error: no checkpoint" "" -- train --method 3dl --resume -o "$TMP/none.safetensors"

# the pieces: a predictor and a tiny diffusion model (T 10)
"$TDL" --threads 2 train --train $SRC --epochs 1 --batch 16 -o "$TMP/dfl.safetensors" 2>/dev/null
"$TDL" --threads 2 diffusion train --train $SRC --preset tiny --ch 8 --groups 4 --T 10 --iters 3 \
    --batch 4 -o "$TMP/dd.safetensors" 2>/dev/null
[ -f "$TMP/dfl.safetensors" ] && [ -f "$TMP/dd.safetensors" ]; check "pieces trained" $?

expect "predictor given as diffusion" 1 "tdl: error: --diffusion" "" -- train --method 3dl --train $SRC \
    --init "$TMP/dfl.safetensors" --diffusion "$TMP/dfl.safetensors" $SMALL -o "$TMP/x.safetensors"
expect "diffusion given as predictor" 1 "tdl: error: --init" "" -- train --method 3dl --train $SRC \
    --init "$TMP/dd.safetensors" --diffusion "$TMP/dd.safetensors" $SMALL -o "$TMP/x.safetensors"
expect "T' > T" 1 "exceeds the diffusion model's T = 10" "" -- train --method 3dl --train $SRC \
    --init "$TMP/dfl.safetensors" --diffusion "$TMP/dd.safetensors" $SMALL --tprime 11 -o "$TMP/x.safetensors"
expect "missing diffusion file" 1 "tdl: error: --diffusion" "" -- train --method 3dl --train $SRC \
    --init "$TMP/dfl.safetensors" --diffusion "$TMP/nope.safetensors" $SMALL -o "$TMP/x.safetensors"

ARGS="train --method 3dl --train $SRC --init $TMP/dfl.safetensors --diffusion $TMP/dd.safetensors $SMALL --outer 3"
expect "tiny run" 0 "epoch 3/3 mu" "\"outer\": 3" -- --threads 2 $ARGS --json --log "$TMP/run.jsonl" -o "$TMP/a.safetensors"
[ "$(wc -l <"$TMP/run.jsonl")" -eq 3 ]; check "one log object per outer epoch" $?
grep -q '"theta_distance"' "$TMP/run.jsonl" && grep -q '"ratio_max"' "$TMP/run.jsonl" && \
    grep -q '"clipped"' "$TMP/run.jsonl" && grep -q '"loss_s_theta"' "$TMP/run.jsonl"
check "log objects hold the diagnostics" $?
grep -q 'tdl train --method dfl .*--steps 315 --adam-reset 105' "$TMP/err"; check "prints the DFL control command (3 x 105 steps)" $?
expect "predictor file loads" 0 "" "lstm1.weight_ih_l0" -- inspect "$TMP/a.safetensors"
# self-contained model files (issue 13 item 1): method, training range, rule
grep -q "meta method = 3dl" "$TMP/out" && grep -q "meta train_min = " "$TMP/out" &&
    grep -q "meta train_max = " "$TMP/out" && grep -q "meta rule = exact" "$TMP/out" &&
    grep -q "meta row_len = 28" "$TMP/out"
check "3dl model records method, range, row length and rule" $?
expect "the DFL model (tdl train) records its origin" 0 "" "meta method = dfl" \
    -- inspect "$TMP/dfl.safetensors"
grep -q "meta train_min = " "$TMP/out"; check "the DFL model records its range" $?
expect "adversarial theta written" 0 "" "meta kind = tdl-ddpm" -- inspect "$TMP/a.theta.safetensors"
expect "adversary off" 0 "adversary off" "" -- --threads 2 $ARGS --outer 1 --adversary off -o "$TMP/off.safetensors"
grep -q 'dist 0 ' "$TMP/err"; check "adversary off: theta stays theta0 (dist 0)" $?
expect "compat authors" 0 "compat authors" "" -- --threads 2 $ARGS --outer 1 --compat authors -o "$TMP/compat.safetensors"
expect "objective mse" 0 "mse on" "" -- --threads 2 $ARGS --outer 1 --objective mse -o "$TMP/mse.safetensors"
expect "3dl mse records 3dl-mse" 0 "" "meta method = 3dl-mse" -- inspect "$TMP/mse.safetensors"

# crash test: SIGKILL after the first checkpoint, then --resume
kill_after_checkpoint run "$TMP/k.safetensors" $ARGS
epoch=$("$TDL" inspect "$TMP/k.ckpt.safetensors" 2>/dev/null | sed -n 's/.*meta epoch = //p')
echo "     killed after the checkpoint of outer epoch $epoch"
[ -n "$epoch" ] && [ "$epoch" -lt 3 ]; check "killed before the end (epoch $epoch < 3)" $?
expect "resume" 0 "resuming after outer epoch $epoch" "" -- --threads 2 train --method 3dl --resume -o "$TMP/k.safetensors"
cmp -s "$TMP/a.safetensors" "$TMP/k.safetensors"; check "resumed model == uninterrupted model (cmp)" $?
cmp -s "$TMP/a.ckpt.safetensors" "$TMP/k.ckpt.safetensors"; check "resumed checkpoint == uninterrupted checkpoint (cmp)" $?
cmp -s "$TMP/a.theta.safetensors" "$TMP/k.theta.safetensors"; check "resumed theta == uninterrupted theta (cmp)" $?

# missing pieces are pre-trained beside the output and reused
PRE="--train synth:conversation:1:3000 --preset cpu --outer 1 --inner 1 --z0-batches 1 --z0-images 2 --tprime 3 --j-batch 2 --s-images 3 --pred-batch 16 --pretrain-epochs 1 --pretrain-iters 4"
expect "bad pretrain-iters" 2 "pretrain-iters" "" -- train --method 3dl --pretrain-iters 0 -o "$TMP/p.safetensors"
expect "pre-trains what is missing" 0 "pre-training the diffusion model (tiny-t100, 4 iterations)" "" -- --threads 2 train --method 3dl $PRE -o "$TMP/p.safetensors"
grep -q 'pre-training the DFL predictor (1 epochs' "$TMP/err"; check "pre-trains the DFL predictor too" $?
[ -f "$TMP/p.ddpm.safetensors" ] && [ -f "$TMP/p.dfl.safetensors" ]; check "both kept beside the output" $?
expect "reuses them" 0 "sampling Z0" "" -- --threads 2 train --method 3dl $PRE -o "$TMP/p.safetensors"
! grep -q 'pre-training' "$TMP/err"; check "no pre-training the second time" $?

cli_done cli_train_3dl
