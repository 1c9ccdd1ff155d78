#!/bin/sh
# cli_corrupt.sh TDL: corrupted test sets (Fig. 2): `tdl eval --corrupt
# KIND:LEVEL [--corrupt-seed S]` (regrets differ from the clean ones, the
# same seed gives the same numbers, another seed others, level 0 and no
# --corrupt the clean numbers, the table and JSON name the corruption) and
# `tdl data corrupt` (length, header, seeds, --normalised, tokens inside the
# range for gauss); bad kinds and levels exit 2 with `tdl: error:`. The part
# on 23D24D (Fig. 2's set), `cli_corrupt.sh TDL azure` (CTest cli_corrupt_azure),
# reports a skip when TDL_DATA_DIR has no data.
TDL="$1"
CLI_PART="${2:-}"
DATA="${TDL_DATA_DIR:-$(dirname "$0")/../../shared/data/azure}"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_corrupt

TR=synth:conversation:1:2800
TE=synth:code:1:2800
M="$TMP/m.safetensors"
"$TDL" --threads 2 train --method mse --train $TR --epochs 1 --lr 1e-3 -o "$M" 2>/dev/null >/dev/null
check "a small model" $?

if cli_part azure; then
    if [ -r "$DATA/23D24D.csv" ]; then
        n=$(($(wc -l <"$DATA/23D24D.csv") - 1))
        expect "23D24D cutout:0.005" 0 "" "$n values" -- data corrupt "$DATA/23D24D.csv" --kind cutout --level 0.005 --normalised -o "$TMP/d.csv"
        [ "$(wc -l <"$TMP/d.csv")" -eq $((n + 1)) ]; check "23D24D: $n values + header" $?
        # zeros: the cut values (binomial, 5 sigma) plus the series' own minima
        "$TDL" data corrupt "$DATA/23D24D.csv" --kind cutout --level 0 --normalised -o "$TMP/d0.csv" >/dev/null
        z0=$(awk 'NR > 1 && $1 == 0' "$TMP/d0.csv" | wc -l); z=$(awk 'NR > 1 && $1 == 0' "$TMP/d.csv" | wc -l)
        awk -v z="$z" -v z0="$z0" -v n="$n" 'BEGIN { m = n * 0.005; s = sqrt(n * 0.005 * 0.995); exit !(z - z0 > m - 5 * s && z - z0 <= m + 5 * s + z0) }'
        check "23D24D: $z zeros ($z0 before), about 0.5% of $n" $?
        for kind in cutout:0.005 perlin:0.05 gauss:0.1; do
            expect "23D24D eval --corrupt $kind" 0 "" "CORRUPTED: $kind" -- eval --model "$M" --train $TR --test "$DATA/23D24D.csv" --corrupt $kind
        done
    else
        skip "23D24D (Fig. 2's set): the Azure data is absent ($DATA); set TDL_DATA_DIR"
    fi
    cli_done cli_corrupt_azure
fi

# ---- usage errors: exit 2, `tdl: error:` ----
expect "eval help names --corrupt" 0 "" "--corrupt K:L" -- eval --help
expect "eval: unknown kind" 2 "tdl: error: --corrupt: unknown corruption kind 'salt'" "" -- eval --model "$M" --train $TR --test $TE --corrupt salt:0.1
expect "eval: missing level" 2 "tdl: error: --corrupt: .*has no level" "" -- eval --model "$M" --train $TR --test $TE --corrupt gauss
expect "eval: empty level" 2 "tdl: error: --corrupt: .*has no level" "" -- eval --model "$M" --train $TR --test $TE --corrupt gauss:
expect "eval: level not a number" 2 "tdl: error: --corrupt: .*not a number" "" -- eval --model "$M" --train $TR --test $TE --corrupt gauss:x
expect "eval: cutout out of range" 2 "tdl: error: --corrupt: cutout level 1.5 outside \[0, 1\]" "" -- eval --model "$M" --train $TR --test $TE --corrupt cutout:1.5
expect "eval: negative perlin" 2 "tdl: error: --corrupt: perlin level -0.05 is negative" "" -- eval --model "$M" --train $TR --test $TE --corrupt perlin:-0.05
expect "eval: negative gauss" 2 "tdl: error: --corrupt: gauss level -1 is negative" "" -- eval --model "$M" --train $TR --test $TE --corrupt gauss:-1
expect "eval: infinite level" 2 "tdl: error: --corrupt: .*not a finite number" "" -- eval --model "$M" --train $TR --test $TE --corrupt gauss:inf
expect "eval: --corrupt without value" 2 "tdl: error: --corrupt needs a value" "" -- eval --model "$M" --train $TR --test $TE --corrupt
expect "eval: seed without --corrupt" 2 "tdl: error: --corrupt-seed needs --corrupt" "" -- eval --model "$M" --train $TR --test $TE --corrupt-seed 3
expect "eval: negative seed" 2 "tdl: error: --corrupt-seed '-1'" "" -- eval --model "$M" --train $TR --test $TE --corrupt gauss:0.1 --corrupt-seed -1

expect "data corrupt help" 0 "" "usage: tdl data corrupt" -- data corrupt --help
expect "listed in tdl data --help" 0 "" "^  corrupt " -- data --help
expect "data: unknown kind" 2 "tdl: error: --kind: unknown corruption kind 'salt'" "" -- data corrupt $TE --kind salt --level 0.1 -o "$TMP/x.csv"
expect "data: missing level" 2 "tdl: error: --level is required" "" -- data corrupt $TE --kind gauss -o "$TMP/x.csv"
expect "data: missing kind" 2 "tdl: error: --kind is required" "" -- data corrupt $TE --level 0.1 -o "$TMP/x.csv"
expect "data: level not a number" 2 "tdl: error: --level 'abc' is not a number" "" -- data corrupt $TE --kind gauss --level abc -o "$TMP/x.csv"
expect "data: cutout out of range" 2 "tdl: error: --level: cutout level 2 outside \[0, 1\]" "" -- data corrupt $TE --kind cutout --level 2 -o "$TMP/x.csv"
expect "data: negative gauss" 2 "tdl: error: --level: gauss level -0.1 is negative" "" -- data corrupt $TE --kind gauss --level -0.1 -o "$TMP/x.csv"
expect "data: nan level" 2 "tdl: error: --level: perlin level nan is not a finite number" "" -- data corrupt $TE --kind perlin --level nan -o "$TMP/x.csv"
expect "data: no output" 2 "tdl: error: no output file" "" -- data corrupt $TE --kind gauss --level 0.1
expect "data: no source" 2 "tdl: error: expected one SOURCE" "" -- data corrupt --kind gauss --level 0.1 -o "$TMP/x.csv"
expect "data: bad seed" 2 "tdl: error: --seed 'x'" "" -- data corrupt $TE --kind gauss --level 0.1 --seed x -o "$TMP/x.csv"
[ ! -e "$TMP/x.csv" ]; check "no file written on usage errors" $?
expect "data: missing source file" 1 "tdl: error: .*nope.csv" "" -- data corrupt "$TMP/nope.csv" --kind gauss --level 0.1 -o "$TMP/x.csv"

# ---- tdl eval --corrupt ----
avg() { sed 's/.*"average": {\([^}]*\)}.*/\1/' "$1"; }
sets() { sed 's/.*"sets": \[\(.*\)\], "average".*/\1/' "$1"; }
expect "clean json: corrupt null" 0 "" '"corrupt": null, "sets"' -- eval --model "$M" --train $TR --test $TR $TE --json
cp "$TMP/out" "$TMP/clean"
for kind in gauss:0.1 cutout:0.005 perlin:0.05; do
    k=${kind%%:*}; l=${kind#*:}
    expect "$kind json names it" 0 "" "\"corrupt\": {\"kind\": \"$k\", \"level\": $l, \"seed\": 1}" -- eval --model "$M" --train $TR --test $TR $TE --json --corrupt $kind
    cp "$TMP/out" "$TMP/c1"
    [ -n "$(avg "$TMP/c1")" ] && [ "$(avg "$TMP/c1")" != "$(avg "$TMP/clean")" ]; check "$kind: regret differs from the clean one" $?
    "$TDL" eval --model "$M" --train $TR --test $TR $TE --json --corrupt $kind --corrupt-seed 1 >"$TMP/c1b"
    cmp -s "$TMP/c1" "$TMP/c1b"; check "$kind: same seed, same numbers" $?
    "$TDL" eval --model "$M" --train $TR --test $TR $TE --json --corrupt $kind --corrupt-seed 2 >"$TMP/c2"
    grep -q "\"seed\": 2}" "$TMP/c2" && [ "$(avg "$TMP/c2")" != "$(avg "$TMP/c1")" ]; check "$kind: seeds 1 and 2 differ" $?
done
expect "physical protocol" 0 "" '"protocol": "physical"' -- eval --model "$M" --train $TR --test $TR $TE --json --protocol physical --corrupt gauss:0.1
cp "$TMP/out" "$TMP/pc"
"$TDL" eval --model "$M" --train $TR --test $TR $TE --json --protocol physical >"$TMP/pclean"
[ "$(avg "$TMP/pc")" != "$(avg "$TMP/pclean")" ]; check "physical: corrupted differs from clean" $?
expect "level 0" 0 "" '"level": 0.0, "seed": 1}' -- eval --model "$M" --train $TR --test $TR $TE --json --corrupt gauss:0
[ "$(sets "$TMP/out")" = "$(sets "$TMP/clean")" ] && [ "$(avg "$TMP/out")" = "$(avg "$TMP/clean")" ]; check "level 0: the clean numbers" $?
"$TDL" eval --model "$M" --train $TR --test $TR $TE --json >"$TMP/clean2"
cmp -s "$TMP/clean" "$TMP/clean2"; check "clean run after corrupted ones: identical" $?
expect "table names the corruption" 0 "" "^test sets CORRUPTED: cutout:0.005 (seed 7), in normalised units" -- eval --model "$M" --train $TR --test $TR $TE --corrupt cutout:0.005 --corrupt-seed 7
expect "clean table says nothing" 0 "" "^average" -- eval --model "$M" --train $TR --test $TR $TE
grep -q "CORRUPTED" "$TMP/out"; [ $? -ne 0 ]; check "clean table has no CORRUPTED line" $?

# ---- tdl data corrupt ----
expect "data corrupt gauss" 0 "" "2800 values .* gauss:0.1 (seed 1), [0-9]* changed" -- data corrupt $TE --kind gauss --level 0.1 -o "$TMP/g1.csv"
[ "$(head -1 "$TMP/g1.csv")" = "ContextTokens" ]; check "header ContextTokens" $?
[ "$(wc -l <"$TMP/g1.csv")" -eq 2801 ]; check "2800 values + header (got $(wc -l <"$TMP/g1.csv") lines)" $?
"$TDL" synth --profile code --seed 1 --slots 2800 -o "$TMP/clean.csv" >/dev/null
lo=$(sed 1d "$TMP/clean.csv" | sort -g | head -1); hi=$(sed 1d "$TMP/clean.csv" | sort -g | tail -1)
awk -v lo="$lo" -v hi="$hi" 'NR > 1 && ($1 < lo || $1 > hi) { bad++ } END { exit bad > 0 }' "$TMP/g1.csv"
check "gauss tokens inside the range $lo .. $hi (clipped)" $?
cmp -s "$TMP/g1.csv" "$TMP/clean.csv"; [ $? -ne 0 ]; check "gauss changed the series" $?
"$TDL" data corrupt $TE --kind gauss --level 0.1 --seed 1 -o "$TMP/g1b.csv" >/dev/null
cmp -s "$TMP/g1.csv" "$TMP/g1b.csv"; check "same seed, same file" $?
"$TDL" data corrupt $TE --kind gauss --level 0.1 --seed 2 -o "$TMP/g2.csv" >/dev/null
cmp -s "$TMP/g1.csv" "$TMP/g2.csv"; [ $? -ne 0 ]; check "seed 2 differs" $?
"$TDL" data corrupt "$TMP/clean.csv" --kind perlin --level 0 -o "$TMP/p0.csv" >/dev/null
cmp -s "$TMP/p0.csv" "$TMP/clean.csv"; check "level 0 writes the series unchanged" $?
expect "normalised" 0 "" "(normalised units)" -- data corrupt $TE --kind cutout --level 0.5 --normalised -o "$TMP/n.csv"
awk 'NR > 1 && ($1 < 0 || $1 > 1) { bad++ } NR > 1 && $1 == 0 { z++ } END { f = z / (NR - 1); exit (bad > 0 || f < 0.45 || f > 0.55) }' "$TMP/n.csv"
check "normalised cutout:0.5: values in [0, 1], about half 0" $?
"$TDL" data corrupt $TE --kind cutout --level 1 -o "$TMP/c1.csv" >/dev/null
[ "$(sed 1d "$TMP/c1.csv" | sort -u)" = "$lo" ]; check "cutout:1 in tokens: every value the series minimum $lo" $?
# eval on the written file with Cutout at 0.005 runs (the file is a valid source)
expect "written file is a test source" 0 "" "^average" -- eval --model "$M" --train $TR --test "$TMP/g1.csv"


cli_done cli_corrupt
