#!/bin/sh
# cli_eval.sh TDL: `tdl eval`: the table and JSON on a small model, the
# training source's 30% split, and bad input (a model with wrong shapes or
# names, a test file of fewer than 28 values, missing files): exit 1 with a
# clear `tdl: error:` message; usage errors exit 2.
TDL="$1"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_eval
FIX="$(dirname "$0")/fixtures"

TR=synth:conversation:1:2800
"$TDL" --threads 2 train --method mse --train $TR --epochs 1 --lr 1e-3 -o "$TMP/m.safetensors" 2>/dev/null
check "a small model" $?

expect "help" 0 "" "usage: tdl eval" -- eval --help
expect "listed in tdl --help" 0 "" "eval" -- --help
expect "no model" 2 "--model is required" "" -- eval --test $TR
expect "no test" 2 "--test is required" "" -- eval --model "$TMP/m.safetensors"
expect "bad protocol" 2 "protocol" "" -- eval --model "$TMP/m.safetensors" --test $TR --protocol x
expect "bad rule" 2 "rule" "" -- eval --model "$TMP/m.safetensors" --test $TR --rule x

expect "table" 0 "" "^average" -- eval --model "$TMP/m.safetensors" --train $TR --test $TR synth:code:1:2800
grep -q "30% split" "$TMP/out"; check "training source on its 30% split" $?
rows=$(awk '$1 == "synth:conversation:1:2800" { print $4 }' "$TMP/out")
[ "$rows" = "30" ]; check "30% of 100 rows = 30 test rows (got $rows)" $?
rows=$(awk '$1 == "synth:code:1:2800" { print $2 }' "$TMP/out")
[ "$rows" = "100" ]; check "another set: all 100 rows (got $rows)" $?
expect "json" 0 "" "\"regret_grouped\"" -- eval --model "$TMP/m.safetensors" --train $TR --test $TR --test synth:code-2024:1:2800 --json --protocol physical --rule authors
grep -q '"protocol": "physical", "rule": "authors"' "$TMP/out"; check "json names protocol and rule" $?
expect "deterministic" 0 "" "" -- eval --model "$TMP/m.safetensors" --train $TR --test $TR --json
cp "$TMP/out" "$TMP/out1"
"$TDL" eval --model "$TMP/m.safetensors" --train $TR --test $TR --json >"$TMP/out2"
cmp -s "$TMP/out1" "$TMP/out2"; check "same numbers twice" $?

# The model file records its training range (issue 14 item 7): without
# --train, eval uses it and says so; the numbers equal those with --train; a
# file without it (a PyTorch export) is evaluated on a guess, with a warning.
expect "range from the model" 0 "" "range 9310 .. 123901, from the model file" \
    -- eval --model "$TMP/m.safetensors" --test $TR
grep -q "30% split" "$TMP/out"; check "the model's train_source marks the 30% split" $?
[ ! -s "$TMP/err" ]; check "no warning when the model records its range" $?
"$TDL" eval --model "$TMP/m.safetensors" --test $TR synth:code:1:2800 --json >"$TMP/own.json"
"$TDL" eval --model "$TMP/m.safetensors" --train $TR --test $TR synth:code:1:2800 --json \
    >"$TMP/given.json"
grep -q '"train_range_from": "model"' "$TMP/own.json"; check "json: range from the model" $?
sed 's/"train_range_from": "[a-z]*"//' "$TMP/own.json" >"$TMP/own.cut"
sed 's/"train_range_from": "[a-z]*"//' "$TMP/given.json" >"$TMP/given.cut"
cmp -s "$TMP/own.cut" "$TMP/given.cut"; check "same numbers as with --train" $?
expect "old file: guessed with a warning" 0 \
    "warning: .*does not record its training range.*assuming it was trained on synth:conversation" \
    "from a GUESS" \
    -- eval --model "$FIX/predictor_torch_model.safetensors" --test synth:code:1:2800
expect "old file with --range" 0 "" "range 374 .. 106957, from --range" \
    -- eval --model "$FIX/predictor_torch_model.safetensors" --range 374:106957 \
    --test synth:code:1:2800
expect "--range differs from the model's: warned" 0 \
    "warning: --range gives the range 1:200000.*records 9310:123901" "" \
    -- eval --model "$TMP/m.safetensors" --range 1:200000 --test synth:code:1:2800
expect "--train and --range" 2 "both give the training range" "" \
    -- eval --model "$TMP/m.safetensors" --range 1:2 --train $TR --test $TR
expect "bad --range" 2 "is not a range LO:HI" "" \
    -- eval --model "$TMP/m.safetensors" --range 5:5 --test $TR
expect "bad --range (text)" 2 "is not a range LO:HI" "" \
    -- eval --model "$TMP/m.safetensors" --range 1:x --test $TR

# Bad input: exit 1, `tdl: error:` naming the problem.
expect "missing model" 1 "tdl: error: model: .*nope" "" -- eval --model "$TMP/nope.safetensors" --test $TR
expect "missing test file" 1 "tdl: error: test set .*nope.csv" "" -- eval --model "$TMP/m.safetensors" --train $TR --test "$TMP/nope.csv"
expect "missing training file" 1 "tdl: error: training series" "" -- eval --model "$TMP/m.safetensors" --train "$TMP/nope.csv" --test $TR
printf 'ContextTokens\n' >"$TMP/short.csv"; i=0
while [ $i -lt 27 ]; do echo $((1000 + i)) >>"$TMP/short.csv"; i=$((i + 1)); done
expect "27 values" 1 "tdl: error: test set .*fewer than one row of 28" "" -- eval --model "$TMP/m.safetensors" --train $TR --test "$TMP/short.csv"
expect "wrong names (another fixture)" 1 "tdl: error: model: .*adam" "" -- eval --model "$FIX/adam.safetensors" --test $TR
expect "checkpoint is not a model (extra tensors)" 1 "tdl: error: model" "" -- eval --model "$TMP/m.ckpt.safetensors" --test $TR
# A predictor tensor with a wrong shape: lstm1.weight_ih_l0 as (512, 2).
hdr='{"lstm1.weight_ih_l0":{"dtype":"F32","shape":[512,2],"data_offsets":[0,4096]}}'
len=${#hdr}
printf "$(printf '\\%03o' $((len % 256)) $((len / 256)))\\000\\000\\000\\000\\000\\000" >"$TMP/shape.safetensors"
printf '%s' "$hdr" >>"$TMP/shape.safetensors"
head -c 4096 /dev/zero >>"$TMP/shape.safetensors"
expect "file is valid safetensors" 0 "" "lstm1.weight_ih_l0" -- inspect "$TMP/shape.safetensors"
expect "wrong shape" 1 "tdl: error: model: .*lstm1.weight_ih_l0" "" -- eval --model "$TMP/shape.safetensors" --test $TR


# --dropout-eval: the authors' mode (dropout on), marked in the table and the
# JSON; seeded (same seed twice identical, another seed differs, inference
# unchanged); --seed is checked and needs --dropout-eval.
M="$TMP/m.safetensors"
expect "help names the authors' mode" 0 "" "Table I" -- eval --help
expect "dropout table" 0 "" "DROPOUT ON (the authors' mode: p 0.3, seed 5)" -- eval --model "$M" --train $TR --test $TR --dropout-eval --seed 5
grep -q "inference mode" "$TMP/out"; [ $? -ne 0 ]; check "dropout table does not claim inference mode" $?
expect "inference table says so" 0 "" "inference mode" -- eval --model "$M" --train $TR --test $TR
expect "dropout json" 0 "" '"mode": "dropout", "dropout": 0.3, "seed": 5' -- eval --model "$M" --train $TR --test $TR --json --dropout-eval --seed 5
cp "$TMP/out" "$TMP/drop5"
"$TDL" eval --model "$M" --train $TR --test $TR --json --dropout-eval --seed 5 >"$TMP/drop5b"
cmp -s "$TMP/drop5" "$TMP/drop5b"; check "dropout: same seed twice, same numbers" $?
"$TDL" eval --model "$M" --train $TR --test $TR --json --dropout-eval --seed 6 >"$TMP/drop6"
r5=$(sed 's/.*"average": {\([^}]*\)}.*/\1/' "$TMP/drop5"); r6=$(sed 's/.*"average": {\([^}]*\)}.*/\1/' "$TMP/drop6")
[ -n "$r5" ] && [ "$r5" != "$r6" ]; check "dropout: seeds 5 and 6 differ" $?
expect "inference json" 0 "" '"mode": "inference", "corrupt": null, "sets"' -- eval --model "$M" --train $TR --test $TR --json
ri=$(sed 's/.*"average": {\([^}]*\)}.*/\1/' "$TMP/out")
[ -n "$ri" ] && [ "$ri" != "$r5" ]; check "dropout differs from inference" $?
cmp -s "$TMP/out" "$TMP/out1"; check "inference json identical to the earlier inference run" $?
expect "default seed 1" 0 "" '"seed": 1,' -- eval --model "$M" --train $TR --test $TR --json --dropout-eval
expect "bad seed (text)" 2 "tdl: error: --seed 'x' is not an integer" "" -- eval --model "$M" --train $TR --test $TR --dropout-eval --seed x
expect "bad seed (negative)" 2 "tdl: error: --seed '-1'" "" -- eval --model "$M" --train $TR --test $TR --dropout-eval --seed -1
expect "seed without --dropout-eval" 2 "tdl: error: --seed needs --dropout-eval" "" -- eval --model "$M" --train $TR --test $TR --seed 2
expect "seed without value" 2 "needs a value" "" -- eval --model "$M" --train $TR --test $TR --dropout-eval --seed

# a model whose weights are not finite: refused at load, naming the tensor
# (it evaluated to a plausible regret with MSE nan), and by train --init (it
# skipped every step); inspect --stats still shows it
poison "$TMP/m.safetensors" "$TMP/nan.safetensors" '\000\000\300\177'
poison "$TMP/m.safetensors" "$TMP/inf.safetensors" '\000\000\200\377'
expect "NaN weight refused" 1 "tdl: error: .*tensor 'lstm1.weight_ih_l0' holds 1 value that is not finite (nan at index 0)" "" -- eval --model "$TMP/nan.safetensors" --train $TR --test $TR
expect "-inf weight refused" 1 "tensor 'lstm1.weight_ih_l0' .*(-inf at index 0)" "" -- eval --model "$TMP/inf.safetensors" --train $TR --test $TR --json
[ ! -s "$TMP/out" ]; check "no JSON from a refused model" $?
expect "train --init of a NaN model refused" 1 "tdl: error: .*tensor 'lstm1.weight_ih_l0' .*not finite" "" -- --threads 2 train --method mse --train $TR --epochs 1 --init "$TMP/nan.safetensors" -o "$TMP/n2.safetensors"
[ ! -e "$TMP/n2.safetensors" ]; check "no model from a refused --init" $?
expect "inspect shows the NaN" 0 "" "lstm1.weight_ih_l0 .* 1 non-finite" -- inspect --stats "$TMP/nan.safetensors"

cli_done cli_eval
