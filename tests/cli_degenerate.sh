#!/bin/sh
# cli_degenerate.sh TDL: degenerate series through the commands (issue 14,
# item 3). A constant training series (all zero, or every value equal) is
# refused with a message that says so, by every training command and by
# eval (DFL aborted on an assertion, eval printed regret 0.0000); a constant
# test series under the authors' protocol (its own range) too, not under
# the physical one; a DFL run whose every target is at or below a_min warns
# (its gradient is 0), an MSE run does not; statistics of values near the
# largest double are numbers, not nan; a CSV line beyond 1 MiB is refused at
# its line.
TDL="$1"
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_degenerate

# series of 3000 values: constant 5000, all zero, low (10..16 tokens, below
# a_min = 200), and a varied one
awk 'BEGIN { print "ContextTokens"; for (i = 0; i < 3000; i++) print 5000 }' >"$TMP/const.csv"
awk 'BEGIN { print "ContextTokens"; for (i = 0; i < 3000; i++) print 0 }' >"$TMP/zero.csv"
awk 'BEGIN { print "ContextTokens"; for (i = 0; i < 3000; i++) print 10 + i % 7 }' >"$TMP/low.csv"
TR=synth:conversation:1:2800

for f in const zero; do
    for m in dfl mse kl-dro w-dro da-gauss; do
        expect "train --method $m on $f" 1 "tdl: error: training data .*$f.csv: the training series is constant" "" -- --threads 2 train --method $m --train "$TMP/$f.csv" --epochs 1 -o "$TMP/x.safetensors"
    done
    expect "diffusion train on $f" 1 "tdl: error: .*the training series is constant" "" -- --threads 2 diffusion train --train "$TMP/$f.csv" --preset tiny --iters 1 -o "$TMP/x.safetensors"
    expect "3dl on $f" 1 "tdl: error: .*the training series is constant" "" -- --threads 2 train --method 3dl --train "$TMP/$f.csv" -o "$TMP/x.safetensors"
done
[ ! -e "$TMP/x.safetensors" ] && [ ! -e "$TMP/x.ckpt.safetensors" ]; check "nothing written" $?
grep -q "assertion" "$TMP/err"; [ $? -ne 0 ]; check "no assertion" $?

"$TDL" --threads 2 train --method mse --train $TR --epochs 1 --lr 1e-3 -o "$TMP/m.safetensors" 2>/dev/null
check "a small model" $?
expect "eval --train constant" 1 "tdl: error: training series .*const.csv: it is constant (every value 5000)" "" -- eval --model "$TMP/m.safetensors" --train "$TMP/const.csv" --test $TR
expect "eval constant test set (authors)" 1 "tdl: error: test set .*const.csv: .*the test series (normalised by its own range .*) is constant" "" -- eval --model "$TMP/m.safetensors" --train $TR --test "$TMP/const.csv"
expect "eval constant test set (physical)" 0 "" "const.csv  *107 " -- eval --model "$TMP/m.safetensors" --train $TR --test "$TMP/const.csv" --protocol physical

expect "dfl on targets below a_min warns" 0 "tdl: warning: every training target of .*low.csv is at or below a_min = 200 tokens" "" -- --threads 2 train --method dfl --train "$TMP/low.csv" --epochs 1 -o "$TMP/low.safetensors"
expect "mse there does not" 0 "" "" -- --threads 2 train --method mse --train "$TMP/low.csv" --epochs 1 -o "$TMP/lowm.safetensors"
grep -q "warning" "$TMP/err"; [ $? -ne 0 ]; check "no warning for mse" $?
expect "dfl on a varied series does not" 0 "" "" -- --threads 2 train --method dfl --train $TR --epochs 1 -o "$TMP/v.safetensors"
grep -q "a_min" "$TMP/err"; [ $? -ne 0 ]; check "no warning for a varied series" $?

# statistics near the largest double: numbers (the mean and std were -nan)
awk 'BEGIN { print "ContextTokens"; for (i = 0; i < 60; i++) { print "1e308"; print "1.5e308" } }' >"$TMP/big.csv"
expect "data info of huge values" 0 "" "1.25e+308 *2.5e+307" -- data info "$TMP/big.csv"
grep -q "nan\|inf" "$TMP/out"; [ $? -ne 0 ]; check "no nan or inf printed" $?
expect "diffusion quality of huge values" 0 "" "W1 of the values" -- diffusion quality --real "$TMP/big.csv" --generated "$TMP/big.csv" --scale own-range

# a 3 MB line: refused at its line (the reader kept it whole in memory)
awk 'BEGIN { print "ContextTokens"; print 5; s = "1"; for (i = 0; i < 21; i++) s = s s; print s; print 7 }' >"$TMP/long.csv"
expect "a line beyond 1 MiB" 1 "tdl: error: .*long.csv:3: a record longer than 1048576 bytes" "" -- data info "$TMP/long.csv"

cli_done cli_degenerate
