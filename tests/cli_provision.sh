#!/bin/sh
# cli_provision.sh TDL: `tdl provision` (issue 13) and the self-contained model
# files it needs.
#   - every training method records its range, row length, method and rule;
#   - streaming: line by line the capacities of `tdl eval --forecasts`'s
#     forecasts fed to `tdl decide` (to float rounding: the serving path sums
#     the products in another order than OpenBLAS); bad lines reported with
#     their numbers and skipped without moving the window, or exit 1 with
#     --strict; the output flushed line by line (a pipe gets each capacity
#     before the next slot is sent);
#   - replay: the table, JSON and per-slot CSV; the normalised regret equals
#     `tdl eval --protocol physical`'s pooled regret on a test series and on
#     the training series' 30% split; two models side by side;
#   - old model files (no range) need --range or --train; a diffusion model,
#     a truncated file and garbage are refused; usage errors exit 2.
TDL="$1"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_provision
FIX="$(dirname "$0")/fixtures"

TR=synth:conversation:1:2800
M="$TMP/m.safetensors"
"$TDL" --threads 2 train --method mse --train $TR --epochs 1 --lr 1e-3 -o "$M" 2>/dev/null
check "a small model" $?

expect "help" 0 "" "usage: tdl provision" -- provision --help
expect "listed in tdl --help" 0 "" "provision" -- --help

# ---- every method records what serving needs (issue 13 item 1) ----
for method in dfl mse kl-dro w-dro da-gauss da-cutout da-perlin; do
    extra=""
    [ "$method" = w-dro ] && extra="--fw-iters 1"
    "$TDL" --threads 2 train --method $method $extra --train $TR --steps 1 --batch 8 \
        -o "$TMP/$method.safetensors" 2>/dev/null
    "$TDL" inspect "$TMP/$method.safetensors" >"$TMP/meta" 2>&1
    grep -q "^meta method = $method\$" "$TMP/meta" &&
        grep -q '^meta train_min = 9310$' "$TMP/meta" &&
        grep -q '^meta train_max = 123901$' "$TMP/meta" &&
        grep -q '^meta row_len = 28$' "$TMP/meta" &&
        grep -q '^meta rule = exact$' "$TMP/meta" && grep -q '^meta eta = ' "$TMP/meta" &&
        grep -q "^meta train_source = $TR\$" "$TMP/meta"
    check "$method model records method, range, source, row length and rule" $?
done

# ---- usage errors: exit 2 ----
expect "no model" 2 "--model is required" "" -- provision
expect "bad rule" 2 "rule" "" -- provision --model "$M" --rule best
expect "bad range" 2 "is not a range LO:HI" "" -- provision --model "$M" --range 3:1
expect "--train and --range" 2 "both give the training range" "" \
    -- provision --model "$M" --train $TR --range 1:2
expect "two models without --replay" 2 "with --replay only" "" \
    -- provision --model "$M" --model "$M"
expect "-o without --replay" 2 "replay" "" -- provision --model "$M" -o "$TMP/x.csv"
expect "--slots without --replay" 2 "is for --replay" "" -- provision --model "$M" --slots eval
expect "--strict with --replay" 2 "is for streaming" "" \
    -- provision --model "$M" --replay $TR --strict
expect "bad --slots" 2 "all or eval" "" -- provision --model "$M" --replay $TR --slots some
expect "bad constant" 2 "--eta" "" -- provision --model "$M" --eta x
expect "-o is an input" 2 "is one of the inputs" "" -- provision --model "$M" --replay $TR -o "$M"

# ---- streaming: the capacities of eval's forecasts fed to decide ----
"$TDL" synth --profile code --slots 112 -o "$TMP/s.csv" 2>/dev/null
tail -n +2 "$TMP/s.csv" >"$TMP/values"
expect "eval --forecasts" 0 "" "" \
    -- eval --model "$M" --test "$TMP/s.csv" --protocol physical --forecasts "$TMP/f.csv"
[ "$(wc -l <"$TMP/f.csv")" -eq 85 ]; check "eval wrote 84 forecasts (4 rows x 21) and a header" $?
"$TDL" provision --model "$M" --json <"$TMP/values" >"$TMP/p.jsonl" 2>"$TMP/err"
check "provision --json on the series" $?
[ "$(wc -l <"$TMP/p.jsonl")" -eq 106 ]; check "one decision per line from line 7 (slots 7..112)" $?
"$TDL" provision --model "$M" <"$TMP/values" >"$TMP/p.txt" 2>/dev/null
sed 's/.*"capacity":\([^}]*\)}.*/\1/' "$TMP/p.jsonl" | awk '{ printf "%.3f\n", $1 }' >"$TMP/p.fmt"
cmp -s "$TMP/p.txt" "$TMP/p.fmt"; check "plain lines = the JSON capacities to 3 decimals" $?
# each eval forecast through `tdl decide`, against provision's line for its slot
tail -n +2 "$TMP/f.csv" | cut -d, -f2,3 | tr ',' ' ' >"$TMP/fc"
: >"$TMP/pairs"
while read -r slot fc; do
    cap=$("$TDL" decide --forecast "$fc" --json | sed 's/.*"capacity": \([^,}]*\).*/\1/')
    got=$(grep "\"slot\":$slot," "$TMP/p.jsonl" | sed 's/.*"capacity":\([^}]*\)}.*/\1/')
    echo "$slot $cap $got" >>"$TMP/pairs"
done <"$TMP/fc"
awk 'BEGIN { bad = 0; worst = 0 }
     { if ($3 == "") { bad++; next }
       d = $2 - $3; if (d < 0) d = -d; r = d / $2; if (r > worst) worst = r; if (r > 1e-6) bad++ }
     END { printf "     84 slots, worst relative difference %.3g\n", worst
           exit (NR != 84 || bad) }' \
    "$TMP/pairs"
check "provision = eval forecasts fed to decide, slot by slot (to float rounding)" $?
same=$(awk '$2 == $3' "$TMP/pairs" | wc -l)
echo "     $same of 84 capacities identical to the last digit of %.17g"

# ---- bad lines ----
{ sed -n 1,9p "$TMP/values"; echo abc; echo -5; echo; echo nan; echo 1e400; echo "12 13"
  sed -n '10,$p' "$TMP/values"; } >"$TMP/bad.in"
"$TDL" provision --model "$M" <"$TMP/bad.in" >"$TMP/bad.out" 2>"$TMP/bad.err"
check "bad lines: exit 0 without --strict" $?
cmp -s "$TMP/bad.out" "$TMP/p.txt"
check "bad lines skipped: the window did not move (same output)" $?
[ "$(grep -c 'tdl: warning: stdin line' "$TMP/bad.err")" -eq 6 ]; check "six warnings" $?
grep -q "stdin line 10: 'abc' is not a number" "$TMP/bad.err"; check "line 10 named" $?
grep -q "stdin line 11: '-5'" "$TMP/bad.err"; check "negative line 11 named" $?
grep -q "stdin line 12: empty line" "$TMP/bad.err"; check "empty line 12 named" $?
grep -q "stdin line 13: 'nan'" "$TMP/bad.err"; check "nan line 13 named" $?
grep -q "stdin line 15: '12 13' is not a number" "$TMP/bad.err"; check "line 15 named" $?
"$TDL" provision --model "$M" --strict <"$TMP/bad.in" >"$TMP/strict.out" 2>"$TMP/strict.err"
[ $? -eq 1 ]; check "--strict: exit 1" $?
grep -q "tdl: error: stdin line 10: 'abc' is not a number.*--strict" "$TMP/strict.err"
check "--strict names line 10" $?
[ "$(wc -l <"$TMP/strict.out")" -eq 3 ]
check "--strict: the 3 capacities before line 10 were written" $?
awk 'BEGIN { while (n++ < 5000) printf "7"; print "" }' >"$TMP/long.in"
cat "$TMP/values" >>"$TMP/long.in"
"$TDL" provision --model "$M" <"$TMP/long.in" >"$TMP/long.out" 2>"$TMP/long.err"
cmp -s "$TMP/long.out" "$TMP/p.txt" && grep -q "stdin line 1: longer than" "$TMP/long.err"
check "an overlong line is reported and skipped whole" $?
printf '100\r\n200\r\n' >"$TMP/crlf.in"
"$TDL" provision --model "$M" <"$TMP/crlf.in" >/dev/null 2>"$TMP/crlf.err"
[ ! -s "$TMP/crlf.err" ]; check "CRLF line ends accepted" $?

# ---- flushed: a pipe gets each capacity before the next slot is sent ----
mkfifo "$TMP/fifo_in" "$TMP/fifo_out"
"$TDL" provision --model "$M" <"$TMP/fifo_in" >"$TMP/fifo_out" 2>/dev/null &
pid=$!
timeout 20 sh -c '
    exec 3>"$1/fifo_in" 4<"$1/fifo_out"
    head -n 7 "$1/values" >&3
    read -r a <&4 || exit 1
    sed -n 8p "$1/values" >&3
    read -r b <&4 || exit 1
    [ "$a" = "$(sed -n 1p "$1/p.txt")" ] && [ "$b" = "$(sed -n 2p "$1/p.txt")" ]
' sh "$TMP"
check "each capacity arrives before the next line is written" $?
kill $pid 2>/dev/null
wait $pid 2>/dev/null

# ---- model files ----
OLD="$FIX/predictor_torch_model.safetensors"
expect "old file: range needed" 1 \
    "tdl: error: .*does not record its training range.*(give --train SOURCE.*--range LO:HI" "" \
    -- provision --model "$OLD"
expect "old file with --range" 0 "" "^[0-9.]*$" \
    -- provision --model "$OLD" --range 374:106957 <"$TMP/values"
expect "old file with --train" 0 "" "^[0-9.]*$" \
    -- provision --model "$OLD" --train $TR <"$TMP/values"
expect "--range differs from the model's: warned" 0 "warning: --range gives the range" "" \
    -- provision --model "$M" --range 1:200000 <"$TMP/values"
expect "diffusion model refused" 1 "tdl: error: model: .*" "" \
    -- provision --model "$FIX/unet_small_model.safetensors" --range 1:2
head -c 100000 "$M" >"$TMP/trunc.safetensors"
expect "truncated model refused" 1 "tdl: error: model: .*trunc.safetensors" "" \
    -- provision --model "$TMP/trunc.safetensors"
head -c 3000 /dev/urandom >"$TMP/junk.safetensors"
expect "garbage refused" 1 "tdl: error: model: " "" -- provision --model "$TMP/junk.safetensors"
expect "missing model" 1 "tdl: error: model: .*nope" "" -- provision --model "$TMP/nope.safetensors"
expect "a checkpoint is not a model" 1 "tdl: error: model" "" \
    -- provision --model "$TMP/m.ckpt.safetensors" --replay $TR

# ---- replay ----
expect "replay table" 0 "" "^normalised regret" -- provision --model "$M" --replay synth:code:1:2800
grep -q "2793 decided and scored" "$TMP/out"; check "all: 2800 - 7 slots" $?
expect "replay json + slots" 0 "" '"scored": 2100' \
    -- provision --model "$M" --replay synth:code:1:2800 --slots eval --json -o "$TMP/slots.csv"
cp "$TMP/out" "$TMP/replay.json"
[ "$(wc -l <"$TMP/slots.csv")" -eq 2101 ]; check "per-slot CSV: 2100 rows and a header" $?
head -1 "$TMP/slots.csv" |
    grep -q '^slot,actual,oracle_capacity,oracle_loss,forecast,capacity,loss,regret$'
check "per-slot CSV header" $?
ls "$TMP"/slots.csv.tmp.* >/dev/null 2>&1; [ $? -ne 0 ]; check "no temporary file left" $?
"$TDL" eval --model "$M" --test synth:code:1:2800 --protocol physical --json >"$TMP/eval.json"
e=$(sed 's/.*"sets": \[{[^]]*"regret_pooled": \([0-9.e-]*\).*/\1/' "$TMP/eval.json")
r=$(sed 's/.*"regret_normalised": \([0-9.e-]*\).*/\1/' "$TMP/replay.json")
echo "     replay $r, eval $e"
awk -v a="$r" -v b="$e" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= 1e-6 * b) }'
check "replay --slots eval regret = eval's pooled regret (physical)" $?
"$TDL" provision --model "$M" --replay $TR --slots eval --json >"$TMP/rt.json"
grep -q '"slots": "eval-train", "scored": 630' "$TMP/rt.json"
check "the training series: its 30% split (630 slots)" $?
"$TDL" eval --model "$M" --test $TR --protocol physical --json >"$TMP/et.json"
e=$(sed 's/.*"sets": \[{[^]]*"regret_pooled": \([0-9.e-]*\).*/\1/' "$TMP/et.json")
r=$(sed 's/.*"regret_normalised": \([0-9.e-]*\).*/\1/' "$TMP/rt.json")
echo "     replay $r, eval $e (training series, 30% split)"
awk -v a="$r" -v b="$e" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(b > 0 && d <= 1e-6 * b) }'
check "replay = eval on the training series' split" $?
expect "two models side by side" 0 "" "model 2" \
    -- provision --model "$M" --model "$TMP/dfl.safetensors" --replay synth:code:1:2800 \
    -o "$TMP/two.csv"
head -1 "$TMP/two.csv" |
    grep -q ',forecast_1,capacity_1,loss_1,regret_1,forecast_2,capacity_2,loss_2,regret_2$'
check "side by side CSV columns" $?
printf 'ContextTokens\n' >"$TMP/neg.csv"; i=0
while [ $i -lt 40 ]; do echo $((5000 + 100 * i)) >>"$TMP/neg.csv"; i=$((i + 1)); done
sed -i '21s/.*/-3/' "$TMP/neg.csv"
expect "a negative value in the replay" 1 "tdl: error: --replay .*neg.csv:21: '-3' is negative" "" \
    -- provision --model "$M" --replay "$TMP/neg.csv"
printf 'ContextTokens\n1\n2\n3\n' >"$TMP/short.csv"
expect "too short to decide" 1 "tdl: error: replay .*no slot to score" "" \
    -- provision --model "$M" --replay "$TMP/short.csv"
expect "missing replay file" 1 "tdl: error: --replay" "" \
    -- provision --model "$M" --replay "$TMP/nope.csv"
expect "-o in a missing directory" 1 "tdl: error: -o" "" \
    -- provision --model "$M" --replay synth:code:1:2800 -o "$TMP/no/dir/s.csv"

cli_done cli_provision
