#!/bin/sh
# cli_train_baselines.sh TDL: the baselines of spec section 6 in `tdl train`
# (the same loop as dfl and mse): KL-DRO (--method kl-dro, --kl-eps) and the
# augmentations (--method da-gauss | da-cutout | da-perlin, --noise-level,
# --noise-seed) and W-DRO (--method w-dro, --w-eps, --fw-iters, --compat): help, usage errors (exit 2), the spec defaults, the keys in
# the checkpoint and the --json summary, the doubled training rows, and the
# crash tests: a kl-dro, a w-dro and a da-perlin run killed with SIGKILL after
# their first checkpoint and resumed end with a model identical (cmp) to an
# uninterrupted run's.
TDL="$1"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_train_baselines
X="$TMP/x.safetensors"

expect "help: kl-dro" 0 "" "kl-dro" -- train --help
expect "help: --kl-eps" 0 "" "--kl-eps E" -- train --help
expect "help: --noise-level" 0 "" "--noise-level L" -- train --help
expect "kl-eps 0" 2 "kl-eps" "" -- train --method kl-dro --kl-eps 0 -o "$X"
expect "kl-eps negative" 2 "kl-eps" "" -- train --method kl-dro --kl-eps -1 -o "$X"
expect "kl-eps not a number" 2 "kl-eps" "" -- train --method kl-dro --kl-eps two -o "$X"
expect "kl-eps without kl-dro" 2 "are for --method kl-dro" "" -- train --method dfl --kl-eps 1 -o "$X"
expect "kl-on without kl-dro" 2 "are for --method kl-dro" "" -- train --method dfl --kl-on regret -o "$X"
expect "kl-on unknown" 2 "loss or regret" "" -- train --method kl-dro --kl-on risk -o "$X"
expect "bad method da-" 2 "method" "" -- train --method da-salt -o "$X"
expect "noise-level negative" 2 "noise-level" "" -- train --method da-gauss --noise-level -0.1 -o "$X"
expect "cutout level > 1" 2 "probability" "" -- train --method da-cutout --noise-level 1.5 -o "$X"
expect "noise-level without da-" 2 "are for --method" "" -- train --method dfl --noise-level 0.1 -o "$X"
expect "noise-seed without da-" 2 "are for --method" "" -- train --noise-seed 3 -o "$X"
expect "resume with kl-eps" 2 "checkpoint" "" -- train --resume --method kl-dro --kl-eps 1 -o "$X"
expect "help: w-dro" 0 "" "w-dro   *W-DRO" -- train --help
expect "help: --w-eps" 0 "" "--w-eps E" -- train --help
expect "help: --fw-iters" 0 "" "--fw-iters K" -- train --help
expect "help: --compat" 0 "" "--compat authors" -- train --help
expect "w-eps 0" 2 "w-eps" "" -- train --method w-dro --w-eps 0 -o "$X"
expect "w-eps negative" 2 "w-eps" "" -- train --method w-dro --w-eps -2 -o "$X"
expect "w-eps not a number" 2 "w-eps" "" -- train --method w-dro --w-eps two -o "$X"
expect "fw-iters 0" 2 "fw-iters" "" -- train --method w-dro --fw-iters 0 -o "$X"
expect "fw-iters negative" 2 "fw-iters" "" -- train --method w-dro --fw-iters -3 -o "$X"
expect "compat unknown" 2 "compat" "" -- train --method w-dro --compat torch -o "$X"
expect "w-eps without w-dro" 2 "are for --method w-dro" "" -- train --method dfl --w-eps 1 -o "$X"
expect "fw-iters without w-dro" 2 "are for --method w-dro" "" -- train --method kl-dro --fw-iters 3 -o "$X"
expect "compat without w-dro" 2 "are for --method w-dro" "" -- train --compat authors -o "$X"
expect "resume with w-eps" 2 "checkpoint" "" -- train --resume --method w-dro --w-eps 1 -o "$X"
expect "3dl --objective kl-dro refused" 2 "objective" "" -- train --method 3dl --objective kl-dro -o "$X"

# 2800 slots: 100 rows, 70 training rows, 1 batch of 64, 21 steps/epoch
S="--train synth:conversation:1:2800"
expect "kl-dro spec defaults" 0 "" "\"method\": \"kl-dro\", .*\"lr_initial\": 2e-05, .*\"kl_eps\": 2," -- --threads 2 train --method kl-dro $S --steps 3 --json -o "$TMP/kd.safetensors"
expect "kl-eps in the checkpoint" 0 "" "meta kl_eps = 2" -- inspect "$TMP/kd.ckpt.safetensors"
expect "kl-dro epochs default 100" 0 "" "meta epochs = 100" -- inspect "$TMP/kd.ckpt.safetensors"
expect "kl-dro over the losses by default" 0 "" "meta kl_on = loss" -- inspect "$TMP/kd.ckpt.safetensors"
expect "kl-dro header" 0 "train: kl-dro (KL radius 0.5 over the losses) on .*lr 2e-05" "" -- --threads 2 train --method kl-dro --kl-eps 0.5 $S --steps 1 -o "$TMP/kd2.safetensors"
expect "kl-dro --lr and --epochs override" 0 "" "\"epochs\": 1, .*\"lr_initial\": 0.001," -- --threads 2 train --method kl-dro $S --epochs 1 --lr 1e-3 --json -o "$TMP/kd3.safetensors"
expect "da-gauss doubles the rows" 0 "" "\"method\": \"da-gauss\", \"train\": \"synth:conversation:1:2800\", \"train_rows\": 140, \"epochs\": 1, \"resumed_from_epoch\": 0, \"steps\": 42,.*\"augment\": \"da-gauss\", \"noise_level\": 0.05, \"noise_seed\": 1," -- --threads 2 train --method da-gauss $S --epochs 1 --lr 1e-4 --json -o "$TMP/g.safetensors"
expect "da-gauss header" 0 "train: da-gauss (rows + a noisy copy, level 0.05, noise seed 1) on .*(140 rows" "" -- --threads 2 train --method da-gauss $S --steps 1 -o "$TMP/g2.safetensors"
expect "augmentation in the checkpoint" 0 "" "meta augment = da-gauss" -- inspect "$TMP/g.ckpt.safetensors"
expect "da-cutout level and seed" 0 "" "\"augment\": \"da-cutout\", \"noise_level\": 0.2, \"noise_seed\": 9," -- --threads 2 train --method da-cutout --noise-level 0.2 --noise-seed 9 $S --steps 2 --json -o "$TMP/c.safetensors"
expect "w-dro spec defaults" 0 "" "\"method\": \"w-dro\", .*\"lr_initial\": 2e-05, .*\"loss\": \"dfl\", .*\"w_eps\": 2, \"fw_iters\": 15, \"compat\": \"paper\"}" -- --threads 2 train --method w-dro $S --steps 1 --json -o "$TMP/w.safetensors"
expect "w-dro in the checkpoint" 0 "" "meta wdro = paper" -- inspect "$TMP/w.ckpt.safetensors"
expect "w-dro epochs default 100" 0 "" "meta epochs = 100" -- inspect "$TMP/w.ckpt.safetensors"
expect "w-dro budget and iterations in the checkpoint" 0 "" "meta fw_iters = 15" -- inspect "$TMP/w.ckpt.safetensors"
expect "w-dro compat authors header" 0 "train: w-dro (budget 0.5, 3 Frank-Wolfe iterations, compat authors" "" -- --threads 2 train --method w-dro --compat authors --w-eps 0.5 --fw-iters 3 $S --steps 1 -o "$TMP/wa2.safetensors"
expect "w-dro compat authors" 0 "" "\"w_eps\": 0.5, \"fw_iters\": 3, \"compat\": \"authors\"}" -- --threads 2 train --method w-dro --compat authors --w-eps 0.5 --fw-iters 3 $S --steps 2 --json -o "$TMP/wa.safetensors"
expect "compat authors in the checkpoint" 0 "" "meta wdro = authors" -- inspect "$TMP/wa.ckpt.safetensors"
expect "dfl: compat null in the json" 0 "" "\"compat\": null}" -- --threads 2 train --method dfl $S --steps 2 --json -o "$TMP/d2.safetensors"
"$TDL" --threads 2 train --method w-dro $S --epochs 1 --lr 1e-4 --fw-iters 3 -o "$TMP/wd.safetensors" 2>/dev/null
"$TDL" --threads 2 train --method dfl $S --epochs 1 --lr 1e-4 -o "$TMP/d.safetensors" 2>/dev/null
! cmp -s "$TMP/d.safetensors" "$TMP/g.safetensors"; check "da-gauss differs from dfl" $?
! cmp -s "$TMP/d.safetensors" "$TMP/wd.safetensors"; check "w-dro differs from dfl" $?

# The crash tests (pattern of cli_train.sh): 4 epochs of 21 steps (kl-dro),
# 4 epochs of 21 (w-dro, 4 Frank-Wolfe iterations to keep it short),
# 3 epochs of 42 (da-perlin, 140 rows), StepLR every epoch.
for M in "kl-dro --kl-eps 0.5 --kl-on regret --epochs 4" "w-dro --w-eps 1 --fw-iters 4 --epochs 4" "da-perlin --noise-level 0.08 --noise-seed 5 --epochs 3"; do
    meth=${M%% *}
    ARGS="train --method $M $S --lr 1e-4 --lr-step 1 --lr-gamma 0.5 --seed 3 --checkpoint-every 1"
    "$TDL" --threads 2 $ARGS -o "$TMP/full.safetensors" >/dev/null 2>"$TMP/err"
    check "$meth: uninterrupted run" $?
    kill_after_checkpoint "$meth run" "$TMP/k.safetensors" $ARGS
    epoch=$("$TDL" inspect "$TMP/k.ckpt.safetensors" | sed -n 's/^meta epoch = //p')
    echo "     killed after the checkpoint of epoch $epoch"
    [ -n "$epoch" ] && [ "$epoch" -lt 3 ]; check "$meth: killed before the end (epoch $epoch)" $?
    expect "$meth: resume" 0 "resuming after epoch $epoch" "\"method\": \"$meth\"" -- --threads 2 train --resume --json -o "$TMP/k.safetensors"
    cmp "$TMP/full.safetensors" "$TMP/k.safetensors"
    check "$meth: resumed model == uninterrupted model (cmp)" $?
    cmp "$TMP/full.ckpt.safetensors" "$TMP/k.ckpt.safetensors"
    check "$meth: resumed checkpoint == uninterrupted checkpoint (cmp)" $?
    rm -f "$TMP/full.safetensors" "$TMP/full.ckpt.safetensors" "$TMP/k.safetensors" "$TMP/k.ckpt.safetensors"
done

cli_done cli_train_baselines
