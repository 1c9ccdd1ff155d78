#!/bin/sh
# cli_diffusion.sh TDL: `tdl diffusion train/sample/eps`: help, usage and
# runtime errors, a short training run with --json, sampling (same seed =>
# same file, another seed differs, --batch accepted), trajectories, eps, and
# the crash test: a run killed with SIGKILL after its
# first checkpoint, resumed with --resume, ends with a model file identical
# (cmp) to an uninterrupted run's. The network is the tiny preset made
# smaller still (ch 8, 4 groups, T 10) to keep the sanitizer build fast.
TDL="$1"
# tiny networks on a shared machine: a spinning OpenMP wait costs 10-20x
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_diffusion

SRC=synth:conversation:1:10000   # 357 rows, 249 training rows: 9 images
NET="--preset tiny --ch 8 --groups 4 --T 10"

expect "help" 0 "" "sample   generate" -- diffusion --help
expect "listed in tdl --help" 0 "" "diffusion" -- --help
expect "train help: presets" 0 "" "7000 iterations, batch 64, lr 1e-4" -- diffusion train --help
expect "sample help: column" 0 "" "column ContextTokens" -- diffusion sample --help
expect "eps help" 0 "" "eps_hat" -- diffusion eps --help
expect "no subcommand" 2 "no diffusion subcommand" "" -- diffusion
expect "unknown subcommand" 2 "unknown diffusion subcommand" "" -- diffusion fly

# train: usage errors
expect "no -o" 2 "is required" "" -- diffusion train --iters 1
expect "bad preset" 2 "tdl: error: --preset.*unknown" "" -- diffusion train --preset huge -o "$TMP/x.safetensors"
expect "iters 0" 2 "iters" "" -- diffusion train --iters 0 -o "$TMP/x.safetensors"
expect "bad ch-mult" 2 "ch-mult" "" -- diffusion train --ch-mult 1,x -o "$TMP/x.safetensors"
expect "attn level out of range" 2 "attn: level 5" "" -- diffusion train --preset tiny --attn 5 -o "$TMP/x.safetensors"
expect "bad beta order" 2 "beta" "" -- diffusion train --beta1 0.2 --betaT 0.1 -o "$TMP/x.safetensors"
expect "dropout 1" 2 "dropout" "" -- diffusion train --dropout 1 -o "$TMP/x.safetensors"
expect "resume with config" 2 "checkpoint" "" -- diffusion train --resume --lr 1 -o "$TMP/x.safetensors"
expect "resume without checkpoint" 1 "tdl: error: no checkpoint" "" -- diffusion train --resume -o "$TMP/none.safetensors"
expect "missing training file" 1 "tdl: error: training data" "" -- diffusion train --train "$TMP/nope.csv" -o "$TMP/x.safetensors"

# a short run
expect "short run" 0 "" "\"adam_steps\": 3" -- --threads 2 diffusion train --train $SRC $NET --iters 3 --batch 4 --json -o "$TMP/m.safetensors"
[ -f "$TMP/m.safetensors" ] && [ -f "$TMP/m.ckpt.safetensors" ]; check "model and checkpoint written" $?
expect "model has the config" 0 "" "meta unet = ch=8" -- inspect "$TMP/m.safetensors"
expect "checkpoint holds Adam state" 0 "" "adam.m.backbone.head.weight" -- inspect "$TMP/m.ckpt.safetensors"
expect "images from 9 images" 0 "" "\"images\": 9" -- --threads 2 diffusion train --train $SRC $NET --iters 1 --batch 2 --json -o "$TMP/m1.safetensors"

# sample
expect "sample" 0 "" "\"images\": 3" -- --threads 2 diffusion sample --model "$TMP/m.safetensors" --images 3 --seed 5 --json -o "$TMP/s1.csv"
[ "$(wc -l <"$TMP/s1.csv")" -eq 2353 ]; check "3 images = 2352 values + header" $?
[ "$(head -1 "$TMP/s1.csv")" = "ContextTokens" ]; check "column ContextTokens" $?
"$TDL" --threads 2 diffusion sample --model "$TMP/m.safetensors" --images 3 --seed 5 -o "$TMP/s2.csv" 2>/dev/null
cmp -s "$TMP/s1.csv" "$TMP/s2.csv"; check "same seed => same file" $?
# (another --batch gives the same noise but the network's sums may round
# differently: test_ddpm checks those images agree to 1e-5)
expect "--batch 2" 0 "" "\"batch\": 2" -- --threads 2 diffusion sample --model "$TMP/m.safetensors" --images 3 --seed 5 --batch 2 --json -o "$TMP/s3.csv"
"$TDL" --threads 2 diffusion sample --model "$TMP/m.safetensors" --images 3 --seed 6 -o "$TMP/s4.csv" 2>/dev/null
! cmp -s "$TMP/s1.csv" "$TMP/s4.csv"; check "another seed => another file" $?
expect "trajectory" 0 "" "" -- --threads 2 diffusion sample --model "$TMP/m.safetensors" --images 3 --seed 5 --trajectory 4 "$TMP/tr.safetensors" -o "$TMP/s5.csv"
cmp -s "$TMP/s1.csv" "$TMP/s5.csv"; check "trajectory retention leaves the images unchanged" $?
expect "trajectory shape" 0 "" "states.*\[3, 5, 1, 28, 28\]" -- inspect "$TMP/tr.safetensors"

# sample: errors
expect "sample without --model" 2 "model MODEL is required" "" -- diffusion sample -o "$TMP/x.csv"
expect "sample --images 0" 2 "images" "" -- diffusion sample --model "$TMP/m.safetensors" --images 0 -o "$TMP/x.csv"
expect "sample K > T" 2 "more than the model" "" -- diffusion sample --model "$TMP/m.safetensors" --trajectory 11 "$TMP/t.safetensors" -o "$TMP/x.csv"
expect "sample --trajectory without file" 2 "needs a file" "" -- diffusion sample --model "$TMP/m.safetensors" -o "$TMP/x.csv" --trajectory 3
expect "missing model" 1 "tdl: error: .*nope" "" -- diffusion sample --model "$TMP/nope.safetensors" -o "$TMP/x.csv"
printf 'garbage, not a model' >"$TMP/bad.safetensors"
expect "garbage model" 1 "tdl: error: " "" -- diffusion sample --model "$TMP/bad.safetensors" -o "$TMP/x.csv"
expect "a predictor is not a diffusion model" 1 "tdl: error: .*config" "" -- diffusion sample --model "$(dirname "$0")/fixtures/predictor_torch_model.safetensors" -o "$TMP/x.csv"
expect "export with the wrong preset" 1 "tdl: error: " "" -- diffusion sample --model "$(dirname "$0")/fixtures/predictor_torch_model.safetensors" --preset tiny -o "$TMP/x.csv"
[ ! -f "$TMP/x.csv" ]; check "no output written on errors" $?

# eps: a hand-written safetensors file with x (2, 1, 28, 28) of zeros
hdr='{"x":{"dtype":"F32","shape":[2,1,28,28],"data_offsets":[0,6272]}}'
len=${#hdr}
{ printf "\\$(printf %o "$len")\\0\\0\\0\\0\\0\\0\\0"; printf '%s' "$hdr"; head -c 6272 /dev/zero; } >"$TMP/x.safetensors"
expect "eps" 0 "" "" -- --threads 2 diffusion eps --model "$TMP/m.safetensors" --x "$TMP/x.safetensors" --t 7 -o "$TMP/e.safetensors"
expect "eps output" 0 "" "eps.*\[2, 1, 28, 28\]" -- inspect "$TMP/e.safetensors"
# its single tensor "eps" is a valid input in turn (any single tensor is taken)
expect "eps of eps" 0 "" "" -- --threads 2 diffusion eps --model "$TMP/m.safetensors" --x "$TMP/e.safetensors" --t 0 -o "$TMP/e2.safetensors"
"$TDL" --threads 2 diffusion eps --model "$TMP/m.safetensors" --x "$TMP/x.safetensors" --t 7 -o "$TMP/e3.safetensors" 2>/dev/null
cmp -s "$TMP/e.safetensors" "$TMP/e3.safetensors"; check "eps deterministic" $?
expect "eps t out of range" 1 "outside the model's steps" "" -- diffusion eps --model "$TMP/m.safetensors" --x "$TMP/x.safetensors" --t 10 -o "$TMP/e4.safetensors"
expect "eps without --t" 2 "--t T is required" "" -- diffusion eps --model "$TMP/m.safetensors" --x "$TMP/x.safetensors" -o "$TMP/e4.safetensors"
hdr='{"x":{"dtype":"F32","shape":[1,1,28,27],"data_offsets":[0,3024]}}'
len=${#hdr}
{ printf "\\$(printf %o "$len")\\0\\0\\0\\0\\0\\0\\0"; printf '%s' "$hdr"; head -c 3024 /dev/zero; } >"$TMP/x27.safetensors"
expect "eps wrong shape" 1 "tdl: error: .*another shape" "" -- diffusion eps --model "$TMP/m.safetensors" --x "$TMP/x27.safetensors" --t 1 -o "$TMP/e4.safetensors"
expect "eps two tensors, no x" 1 "tdl: error: .*none is called" "" -- diffusion eps --model "$TMP/m.safetensors" --x "$TMP/tr.safetensors" --t 1 -o "$TMP/e4.safetensors"
expect "eps missing x" 1 "tdl: error: " "" -- diffusion eps --model "$TMP/m.safetensors" --x "$TMP/nope.safetensors" --t 1 -o "$TMP/e4.safetensors"

# The crash test: 12 iterations, a checkpoint every 2.
ARGS="diffusion train --train $SRC $NET --iters 12 --batch 4 --seed 3 --checkpoint-every 2"
"$TDL" --threads 2 $ARGS -o "$TMP/full.safetensors" >/dev/null 2>"$TMP/err"
check "uninterrupted run" $?
kill_after_checkpoint run "$TMP/k.safetensors" $ARGS
iter=$("$TDL" inspect "$TMP/k.ckpt.safetensors" | sed -n 's/^meta iter = //p')
echo "     killed after the checkpoint of iteration $iter"
[ -n "$iter" ] && [ "$iter" -lt 12 ]; check "killed before the end (checkpoint iteration $iter < 12)" $?
expect "resume" 0 "resuming after iteration $iter" "" -- --threads 2 diffusion train --resume -o "$TMP/k.safetensors"
cmp "$TMP/full.safetensors" "$TMP/k.safetensors"
check "resumed model == uninterrupted model (cmp)" $?
cmp "$TMP/full.ckpt.safetensors" "$TMP/k.ckpt.safetensors"
check "resumed checkpoint == uninterrupted checkpoint (cmp)" $?
"$TDL" --threads 2 diffusion train --train $SRC $NET --iters 12 --batch 4 --seed 4 -o "$TMP/other.safetensors" 2>/dev/null
! cmp -s "$TMP/full.safetensors" "$TMP/other.safetensors"; check "another seed differs" $?
expect "a checkpoint samples too" 0 "" "" -- --threads 2 diffusion sample --model "$TMP/k.ckpt.safetensors" --images 1 -o "$TMP/c.csv"

cli_done cli_diffusion
