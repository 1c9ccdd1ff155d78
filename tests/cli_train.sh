#!/bin/sh
# cli_train.sh TDL: `tdl train`: help (the paper's defaults), usage errors,
# a short run with --json, and the crash test: a run killed with SIGKILL
# after its first checkpoint (mid-epoch), resumed with --resume, ends with a
# model file identical (cmp) to an uninterrupted run's.
TDL="$1"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_train

expect "help" 0 "" "defaults are the paper" -- train --help
expect "listed in tdl --help" 0 "" "train" -- --help
expect "no -o" 2 "is required" "" -- train --epochs 1
expect "bad method" 2 "method" "" -- train --method sgd -o "$TMP/x.safetensors"
expect "bad epochs" 2 "epochs" "" -- train --epochs 0 -o "$TMP/x.safetensors"
expect "resume with config" 2 "checkpoint" "" -- train --resume --lr 1 -o "$TMP/x.safetensors"
expect "resume without checkpoint" 1 "tdl: error: no checkpoint" "" -- train --resume -o "$TMP/none.safetensors"
expect "missing training file" 1 "tdl: error: training data" "" -- train --train "$TMP/nope.csv" -o "$TMP/x.safetensors"
printf 'ContextTokens\n' >"$TMP/short.csv"; i=0
while [ $i -lt 27 ]; do echo $((1000 + i)) >>"$TMP/short.csv"; i=$((i + 1)); done
expect "27 values" 1 "tdl: error: .*fewer than one row" "" -- train --train "$TMP/short.csv" -o "$TMP/x.safetensors"
expect "too few rows for a batch" 1 "fewer than one batch" "" -- train --train synth:conversation:1:2800 --batch 100 -o "$TMP/x.safetensors"

expect "short mse run" 0 "" "\"steps\": 42" -- --threads 2 train --method mse --train synth:conversation:1:2800 --epochs 2 --lr 1e-3 --json -o "$TMP/m.safetensors"
[ -f "$TMP/m.safetensors" ] && [ -f "$TMP/m.ckpt.safetensors" ]; check "model and checkpoint written" $?
expect "model loads" 0 "" "lstm1.weight_ih_l0" -- inspect "$TMP/m.safetensors"
expect "--init from a model" 0 "" "\"steps\": 21" -- --threads 2 train --method mse --train synth:conversation:1:2800 --epochs 1 --init "$TMP/m.safetensors" --json -o "$TMP/i.safetensors"
expect "--init missing file" 1 "tdl: error: .*nope" "" -- train --init "$TMP/nope.safetensors" -o "$TMP/i.safetensors"
expect "checkpoint holds Adam state" 0 "" "adam.m.lstm1.weight_ih_l0" -- inspect "$TMP/m.ckpt.safetensors"

# The crash test. 10000 slots = 357 rows, 250 training rows = 3 batches of
# 64, 63 steps per epoch; 4 epochs with StepLR every epoch, DFL.
ARGS="train --method dfl --train synth:conversation:1:10000 --epochs 4 --lr 1e-4 --lr-step 1 --lr-gamma 0.5 --seed 3 --checkpoint-every 1"
"$TDL" --threads 2 $ARGS -o "$TMP/full.safetensors" >/dev/null 2>"$TMP/err"
check "uninterrupted run" $?

"$TDL" --threads 2 $ARGS -o "$TMP/k.safetensors" >/dev/null 2>"$TMP/err.kill" &
pid=$!
n=0
while [ ! -f "$TMP/k.ckpt.safetensors" ] && [ $n -lt 6000 ]; do sleep 0.01; n=$((n + 1)); done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
status=$?
[ "$status" -eq 137 ]; check "killed by SIGKILL (status $status)" $?
[ ! -f "$TMP/k.safetensors" ]; check "the killed run wrote no model" $?
epoch=$("$TDL" inspect "$TMP/k.ckpt.safetensors" | sed -n 's/^meta epoch = //p')
echo "     killed after the checkpoint of epoch $epoch"
[ -n "$epoch" ] && [ "$epoch" -lt 4 ]; check "killed before the end (checkpoint epoch $epoch < 4)" $?
ls "$TMP" | grep -q 'tmp\.' && echo "     (a temporary file of the killed write is left over)"

expect "resume" 0 "resuming after epoch $epoch" "" -- --threads 2 train --resume -o "$TMP/k.safetensors"
cmp "$TMP/full.safetensors" "$TMP/k.safetensors"
check "resumed model == uninterrupted model (cmp)" $?
cmp "$TMP/full.ckpt.safetensors" "$TMP/k.ckpt.safetensors"
check "resumed checkpoint == uninterrupted checkpoint (cmp)" $?
# control: another seed gives another file, so cmp can fail
"$TDL" --threads 2 train --method dfl --train synth:conversation:1:10000 --epochs 1 --lr 1e-4 --seed 4 -o "$TMP/other.safetensors" 2>/dev/null
! cmp -s "$TMP/full.safetensors" "$TMP/other.safetensors"; check "another seed differs" $?

cli_done cli_train
