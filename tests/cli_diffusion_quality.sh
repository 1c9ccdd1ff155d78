#!/bin/sh
# cli_diffusion_quality.sh TDL: `tdl diffusion quality`: a token series
# against its own normalised copy (W1 0) and a shifted copy (W1 = shift),
# both scales, the splits, the JSON (parsed when jq or python3 is at hand,
# and its numbers read back), and bad input (usage errors exit 2, bad files 1).
TDL="$1"
CLI_PART="${2:-}"
DATA="${TDL_DATA_DIR:-$(dirname "$0")/../../shared/data/azure}"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_diffusion_quality

if cli_part azure; then
    if [ -r "$DATA/23D.csv" ] && [ -r "$DATA/23V.csv" ]; then
        # the normalised W1 of the Azure README: 23D vs 23V, 0.1457
        expect "23D vs 23V, own range" 0 "" "^W1 of the values  *0.1457$" -- \
            diffusion quality --real "$DATA/23V.csv" --generated "$DATA/23D.csv" --scale own-range
    else
        skip "23D vs 23V: the Azure data is absent ($DATA); set TDL_DATA_DIR"
    fi
    cli_done cli_diffusion_quality_azure
fi

# real: 280 token values 1000 + 7 ((i * 37) mod 101); gen: the same values
# normalised by the real range (min 1000, max 1700), as `tdl diffusion sample`
# writes them (ContextTokens, normalised units); gen_shift: plus 0.25
awk 'BEGIN { print "ContextTokens"; for (i = 0; i < 280; i++) print 1000 + 7 * ((i * 37) % 101) }' >"$TMP/real.csv"
awk 'BEGIN { print "ContextTokens"; for (i = 0; i < 280; i++) printf "%.17g\n", 7 * ((i * 37) % 101) / 700 }' >"$TMP/gen.csv"
awk 'BEGIN { print "ContextTokens"; for (i = 0; i < 280; i++) printf "%.17g\n", 7 * ((i * 37) % 101) / 700 + 0.25 }' >"$TMP/gen_shift.csv"
awk 'BEGIN { print "ContextTokens"; for (i = 0; i < 28; i++) print i / 28 }' >"$TMP/short.csv"
printf 'ContextTokens\n0.5\nabc\n' >"$TMP/bad.csv"
# gen_neg: the values minus 0.25, some negative (a sampler does not clip)
awk 'BEGIN { print "ContextTokens"; for (i = 0; i < 280; i++) printf "%.17g\n", 7 * ((i * 37) % 101) / 700 - 0.25 }' >"$TMP/gen_neg.csv"

# json_num KEY: the first number after "KEY": in $TMP/out
json_num() {
    sed -n "s/.*\"$1\": \\([-+0-9.eE]*\\).*/\\1/p" "$TMP/out" | head -n 1
}
# near NAME VALUE WANT TOL: |VALUE - WANT| <= TOL
near() {
    ok=$(awk -v v="$2" -v w="$3" -v t="$4" 'BEGIN { d = v - w; if (d < 0) d = -d; print (v != "" && d <= t) ? 0 : 1 }')
    echo "     $1 = $2 (want $3 +- $4)"
    check "$1" "$ok"
}

expect "help" 0 "" "usage: tdl diffusion quality" -- diffusion quality --help
expect "dispatcher help" 0 "" "quality" -- diffusion --help
expect "table: same values" 0 "" "^W1 of the values  *0.0000$" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/gen.csv"
grep -q "^values  *280  *280$" "$TMP/out"; check "table: value counts" $?
grep -q "total variation distance 0.0000$" "$TMP/out"; check "table: histogram TV 0" $?
grep -q "^28  " "$TMP/out"; check "table: lag 28 row" $?
grep -q "\[0.95, 1.00\]" "$TMP/out"; check "table: last bin closed" $?
grep -q "normalised by its own range 1000 .. 1700" "$TMP/out"; check "table: the real range" $?
expect "negative generated values" 0 "" "^W1 of the values  *0.2500$" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/gen_neg.csv"
expect "negative real tokens refused" 1 "is negative" "" -- \
    diffusion quality --real "$TMP/gen_neg.csv" --generated "$TMP/gen.csv"
expect "table: shifted by 0.25" 0 "" "^W1 of the values  *0.2500$" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/gen_shift.csv"
grep -q "^mean .*+0.2500$" "$TMP/out"; check "table: mean diff 0.25" $?
grep -q "max |diff| 0.0000" "$TMP/out"; check "table: a shift keeps the acf" $?
expect "own range: shift invisible" 0 "" "^W1 of the values  *0.0000$" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/gen_shift.csv" --scale own-range
expect "tokens as given: warning" 0 "warning: .*--scale own-range" "" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/real.csv"

expect "json" 0 "" '"scale": "normalised"' -- \
    diffusion quality --json --real "$TMP/real.csv" --generated "$TMP/gen_shift.csv"
if command -v jq >/dev/null 2>&1; then
    jq -e '.w1 > 0.2499 and .w1 < 0.2501 and (.real.acf | length) == 28 and (.generated.histogram | length) == 20' "$TMP/out" >/dev/null
    check "json parses (jq): w1, 28 lags, 20 bins" $?
elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert abs(d["w1"] - 0.25) < 1e-4 and len(d["real"]["acf"]) == 28 and len(d["generated"]["histogram"]) == 20' "$TMP/out"
    check "json parses (python3): w1, 28 lags, 20 bins" $?
else
    skip "json parse: neither jq nor python3"
fi
near "json w1" "$(json_num w1)" 0.25 1e-6
near "json mean_diff" "$(json_num mean_diff)" 0.25 1e-6
near "json histogram_tv > 0" "$(json_num histogram_tv)" 0.5 0.5
near "json real_max_tokens" "$(json_num real_max_tokens)" 1700 0
expect "json split train" 0 "" '"split": "train"' -- \
    diffusion quality --json --split train --real "$TMP/real.csv" --generated "$TMP/gen.csv"
near "train split: 7 of 10 rows" "$(json_num values)" 196 0
expect "json split test" 0 "" '"split": "test"' -- \
    diffusion quality --json --split test --real "$TMP/real.csv" --generated "$TMP/gen.csv"
near "test split: 3 of 10 rows" "$(json_num values)" 84 0
expect "synth sources" 0 "" "^W1 of the values  *0.0000$" -- \
    diffusion quality --real synth:code:1:600 --generated synth:code:1:600 --scale own-range

expect "missing --real" 2 "--real SOURCE is required" "" -- diffusion quality --generated "$TMP/gen.csv"
expect "missing --generated" 2 "--generated SOURCE is required" "" -- diffusion quality --real "$TMP/real.csv"
expect "bad scale" 2 "--scale: unknown scale 'bogus'" "" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/gen.csv" --scale bogus
expect "bad split" 2 "--split: unknown split" "" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/gen.csv" --split half
expect "unknown option" 2 "unknown option '--bogus'" "" -- diffusion quality --bogus
expect "needs a value" 2 "--real needs a value" "" -- diffusion quality --generated "$TMP/gen.csv" --real
expect "extra argument" 2 "unexpected argument 'x'" "" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/gen.csv" x
expect "unknown subcommand" 2 "unknown diffusion subcommand" "" -- diffusion bogus
expect "missing file" 1 "tdl: error: generated series .*none.csv" "" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/none.csv"
expect "missing real" 1 "tdl: error: real series .*none.csv" "" -- \
    diffusion quality --real "$TMP/none.csv" --generated "$TMP/gen.csv"
expect "bad value" 1 "tdl: error: .*bad.csv:3" "" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/bad.csv"
expect "too short" 1 "tdl: error: the generated series has 28 values; quality needs at least 29" "" -- \
    diffusion quality --real "$TMP/real.csv" --generated "$TMP/short.csv"
expect "bad synth" 1 "tdl: error: real series synth:bogus.*tdl synth --list" "" -- \
    diffusion quality --real synth:bogus --generated "$TMP/gen.csv"


cli_done cli_diffusion_quality
