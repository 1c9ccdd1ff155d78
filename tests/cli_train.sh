#!/bin/sh
# cli_train.sh TDL: `tdl train`: help (the paper's defaults), usage errors,
# a short run with --json, the step budget (--steps, possibly mid-epoch) and
# the periodic fresh Adam (--adam-reset), and the crash tests: a run killed
# with SIGKILL after its first checkpoint (mid-epoch), resumed with
# --resume, ends with a model file identical (cmp) to an uninterrupted run's,
# with epochs and with --steps and --adam-reset.
TDL="$1"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_train

expect "help" 0 "" "defaults are the paper" -- train --help
expect "listed in tdl --help" 0 "" "train" -- --help
expect "no -o" 2 "is required" "" -- train --epochs 1
expect "bad method" 2 "method" "" -- train --method sgd -o "$TMP/x.safetensors"
expect "bad epochs" 2 "epochs" "" -- train --epochs 0 -o "$TMP/x.safetensors"
expect "resume with config" 2 "checkpoint" "" -- train --resume --lr 1 -o "$TMP/x.safetensors"
expect "help: --steps, --adam-reset" 0 "" "--adam-reset K" -- train --help
expect "steps 0" 2 "steps" "" -- train --steps 0 -o "$TMP/x.safetensors"
expect "steps negative" 2 "steps" "" -- train --steps -5 -o "$TMP/x.safetensors"
expect "steps not a number" 2 "steps" "" -- train --steps 12x -o "$TMP/x.safetensors"
expect "steps too large" 2 "steps" "" -- train --steps 10000000000 -o "$TMP/x.safetensors"
expect "adam-reset 0" 2 "adam-reset" "" -- train --adam-reset 0 -o "$TMP/x.safetensors"
expect "adam-reset negative" 2 "adam-reset" "" -- train --adam-reset -1 -o "$TMP/x.safetensors"
expect "adam-reset not a number" 2 "adam-reset" "" -- train --adam-reset K -o "$TMP/x.safetensors"
expect "adam-reset no value" 2 "needs a value" "" -- train -o "$TMP/x.safetensors" --adam-reset
expect "epochs and steps" 2 "give one" "" -- train --epochs 2 --steps 10 -o "$TMP/x.safetensors"
expect "resume with adam-reset" 2 "checkpoint" "" -- train --resume --adam-reset 5 -o "$TMP/x.safetensors"
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

# --steps: 2800 slots = 1 batch, 21 steps per epoch; 50 steps = 2 epochs and
# 8 steps of a third, which counts as an epoch.
expect "--steps mid-epoch" 0 "" "\"epochs\": 3, \"resumed_from_epoch\": 0, \"steps\": 50, \"skipped\": 0, \"max_steps\": 50, \"adam_reset\": 0" -- --threads 2 train --method mse --train synth:conversation:1:2800 --steps 50 --lr 1e-3 --json -o "$TMP/s.safetensors"
expect "--steps in the checkpoint" 0 "" "meta max_steps = 50" -- inspect "$TMP/s.ckpt.safetensors"
expect "--steps progress lines" 0 "epoch 3 steps 50/50 loss" "" -- --threads 2 train --method mse --train synth:conversation:1:2800 --steps 50 --lr 1e-3 -o "$TMP/s2.safetensors"
cmp -s "$TMP/s.safetensors" "$TMP/s2.safetensors"; check "--steps reproducible" $?
# without --adam-reset, --steps = epochs x steps per epoch is the epochs run
"$TDL" --threads 2 train --method mse --train synth:conversation:1:2800 --steps 42 --lr 1e-3 -o "$TMP/s42.safetensors" 2>/dev/null
cmp "$TMP/m.safetensors" "$TMP/s42.safetensors"; check "--steps 42 == --epochs 2 (cmp)" $?
expect "--adam-reset" 0 "" "\"adam_reset\": 10" -- --threads 2 train --method mse --train synth:conversation:1:2800 --steps 42 --adam-reset 10 --lr 1e-3 --json -o "$TMP/r.safetensors"
! cmp -s "$TMP/r.safetensors" "$TMP/s42.safetensors"; check "--adam-reset 10 differs from no reset" $?
expect "--adam-reset in the checkpoint" 0 "" "meta adam_reset = 10" -- inspect "$TMP/r.ckpt.safetensors"
expect "--adam-reset with epochs" 0 "" "\"epochs\": 2, .*\"steps\": 42, .*\"adam_reset\": 10" -- --threads 2 train --method mse --train synth:conversation:1:2800 --epochs 2 --adam-reset 10 --lr 1e-3 --json -o "$TMP/re.safetensors"
cmp "$TMP/r.safetensors" "$TMP/re.safetensors"; check "--epochs 2 --adam-reset 10 == --steps 42 --adam-reset 10 (cmp)" $?
expect "--adam-reset header" 0 "steps 42 (2 epoch(s)), fresh Adam every 10 steps" "" -- --threads 2 train --method mse --train synth:conversation:1:2800 --steps 42 --adam-reset 10 --lr 1e-3 -o "$TMP/r2.safetensors"

# The crash test. 10000 slots = 357 rows, 250 training rows = 3 batches of
# 64, 63 steps per epoch; 4 epochs with StepLR every epoch, DFL.
ARGS="train --method dfl --train synth:conversation:1:10000 --epochs 4 --lr 1e-4 --lr-step 1 --lr-gamma 0.5 --seed 3 --checkpoint-every 1"
"$TDL" --threads 2 $ARGS -o "$TMP/full.safetensors" >/dev/null 2>"$TMP/err"
check "uninterrupted run" $?

kill_after_checkpoint run "$TMP/k.safetensors" $ARGS
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

# The crash test with a step budget and fresh Adams: 230 steps = 3 epochs
# of 63 and 41 steps of a fourth; resets at 40, 80, ..., 200, inside epochs.
ARGS="train --method dfl --train synth:conversation:1:10000 --steps 230 --adam-reset 40 --lr 1e-4 --lr-step 1 --lr-gamma 0.5 --seed 3 --checkpoint-every 1"
"$TDL" --threads 2 $ARGS -o "$TMP/sfull.safetensors" >/dev/null 2>"$TMP/err"
check "uninterrupted --steps --adam-reset run" $?
kill_after_checkpoint "--steps run" "$TMP/sk.safetensors" $ARGS
epoch=$("$TDL" inspect "$TMP/sk.ckpt.safetensors" | sed -n 's/^meta epoch = //p')
echo "     killed after the checkpoint of epoch $epoch"
[ -n "$epoch" ] && [ "$epoch" -lt 4 ]; check "killed before the end (checkpoint epoch $epoch < 4)" $?
expect "resume --steps --adam-reset" 0 "resuming after epoch $epoch" "\"epochs\": 4, .*\"steps\": 230, .*\"max_steps\": 230, \"adam_reset\": 40" -- --threads 2 train --resume --json -o "$TMP/sk.safetensors"
cmp "$TMP/sfull.safetensors" "$TMP/sk.safetensors"
check "resumed --steps --adam-reset model == uninterrupted (cmp)" $?
cmp "$TMP/sfull.ckpt.safetensors" "$TMP/sk.ckpt.safetensors"
check "resumed --steps --adam-reset checkpoint == uninterrupted (cmp)" $?
# control: without the resets, another model
"$TDL" --threads 2 train --method dfl --train synth:conversation:1:10000 --steps 230 --lr 1e-4 --lr-step 1 --lr-gamma 0.5 --seed 3 -o "$TMP/snr.safetensors" 2>/dev/null
! cmp -s "$TMP/sfull.safetensors" "$TMP/snr.safetensors"; check "--adam-reset 40 differs from no reset" $?
# --resume may change the run's length: --steps longer than the checkpoint's
expect "resume with a longer --steps" 0 "" "\"max_steps\": 250" -- --threads 2 train --resume --steps 250 --json -o "$TMP/sk.safetensors"

cli_done cli_train
