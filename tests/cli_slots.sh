#!/bin/sh
# cli_slots.sh TDL: `tdl data slots`: help, usage errors (exit 2), a small
# log, every malformed file of tests/data/bad (exit 1 with FILE:LINE: in the
# message), the atomic output, and the Azure raw traces (`cli_slots.sh TDL
# azure`, CTest cli_slots_azure, which reports a skip when they are absent).
# Once `tdl data info` exists, the series files of tests/data/bad are checked
# through it the same way.
TDL="$1"
CLI_PART="${2:-}"
HERE="$(cd "$(dirname "$0")" && pwd)"
DATA="$HERE/data"
AZURE="${TDL_DATA_DIR:-$HERE/../../shared/data/azure}"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_slots

if cli_part azure; then
    if [ -f "$AZURE/raw/AzureLLMInferenceTrace_conv.csv" ]; then
        expect "azure conv" 0 "" "19366 requests -> 701 slots of 5 s from 2023-11-16T18:15:45Z to 2023-11-16T19:14:10Z (0 empty), 22361870 context tokens" -- data slots "$AZURE/raw/AzureLLMInferenceTrace_conv.csv" -o "$TMP/conv.csv"
        expect "azure code" 0 "" "8819 requests -> 688 slots of 5 s .* (455 empty), 18059974 context tokens" -- data slots "$AZURE/raw/AzureLLMInferenceTrace_code.csv" -o "$TMP/code.csv"
        # The authors' 23V.csv starts with our 701 slots (it repeats them 30 times).
        tail -n +2 "$AZURE/23V.csv" | head -n 701 | cut -d, -f2 >"$TMP/v.txt"
        if tail -n +2 "$TMP/conv.csv" | cut -d, -f2 | cmp -s - "$TMP/v.txt"; then
            pass=$((pass + 1)); echo "ok   conv 5 s slots = first 701 rows of 23V.csv"
        else fail=$((fail + 1)); echo "FAIL conv 5 s slots differ from 23V.csv"; fi
    else
        skip "Azure raw traces: $AZURE/raw not found (set TDL_DATA_DIR)"
    fi
    cli_done cli_slots_azure
fi


expect "data help" 0 "" "usage: tdl data" -- data --help
expect "data no subcommand" 2 "no data subcommand" "" -- data
expect "data unknown subcommand" 2 "unknown data subcommand 'frob'" "" -- data frob
expect "slots help" 0 "" "usage: tdl data slots" -- data slots --help
expect "slots no output" 2 "give -o OUT.csv" "" -- data slots "$DATA/raw_small.csv"
expect "slots no input" 2 "expected one RAW.csv, got 0" "" -- data slots -o "$TMP/o.csv"
expect "slots two inputs" 2 "expected one RAW.csv, got 2" "" -- data slots a.csv b.csv -o "$TMP/o.csv"
expect "slots unknown option" 2 "unknown option '--bogus'" "" -- data slots --bogus "$DATA/raw_small.csv" -o "$TMP/o.csv"
expect "slots usage on stderr" 2 "usage: tdl data slots" "" -- data slots --bogus "$DATA/raw_small.csv" -o "$TMP/o.csv"
expect "slots seconds zero" 2 "--seconds '0' is not an integer in \[1, 86400\]" "" -- data slots "$DATA/raw_small.csv" --seconds 0 -o "$TMP/o.csv"
expect "slots seconds junk" 2 "--seconds '5s'" "" -- data slots "$DATA/raw_small.csv" --seconds 5s -o "$TMP/o.csv"
expect "slots seconds missing" 2 "needs a value" "" -- data slots "$DATA/raw_small.csv" -o "$TMP/o.csv" --seconds
expect "slots missing file" 1 "tdl: error: .*none.csv: cannot open" "" -- data slots "$TMP/none.csv" -o "$TMP/o.csv"
expect "slots small" 0 "" "6 requests -> 7 slots of 5 s from 2024-05-09T23:59:55Z" -- data slots "$DATA/raw_small.csv" -o "$TMP/small.csv"
printf 'TIMESTAMP,ContextTokens\n2024-05-09T23:59:55Z,50\n2024-05-10T00:00:00Z,300\n2024-05-10T00:00:05Z,300\n2024-05-10T00:00:10Z,400\n2024-05-10T00:00:15Z,0\n2024-05-10T00:00:20Z,0\n2024-05-10T00:00:25Z,600\n' >"$TMP/want.csv"
if cmp -s "$TMP/small.csv" "$TMP/want.csv"; then pass=$((pass + 1)); echo "ok   slots small output";
else fail=$((fail + 1)); echo "FAIL slots small output"; diff "$TMP/small.csv" "$TMP/want.csv" | head; fi
expect "slots generated 10 s" 0 "" "1815 context+generated tokens" -- data slots --with-generated -s 10 "$DATA/raw_small.csv" -o "$TMP/g.csv"
expect "slots out of order reported" 0 "" "1 rows earlier than the row before" -- data slots "$DATA/raw_small.csv" -o "$TMP/small.csv"
expect "slots unwritable output" 1 "tdl: error: .*cannot create" "" -- data slots "$DATA/raw_small.csv" -o "$TMP/no/such/dir.csv"
# a failed run leaves an existing output untouched and no temporary behind
cp "$TMP/want.csv" "$TMP/keep.csv"
expect "slots failure keeps old output" 1 "raw_bad_day.csv:2:" "" -- data slots "$DATA/bad/raw_bad_day.csv" -o "$TMP/keep.csv"
if cmp -s "$TMP/keep.csv" "$TMP/want.csv" && [ -z "$(ls "$TMP" | grep '\.tmp\.')" ]; then
    pass=$((pass + 1)); echo "ok   old output kept, no temporary left"
else fail=$((fail + 1)); echo "FAIL old output changed or temporary left"; fi

# Every malformed file: exit 1 and "FILE:LINE:" as expected.txt says.
has_info=0
"$TDL" data info --help >/dev/null 2>&1 && has_info=1
while read -r file line reader frag; do
    case "$file" in \#*|'') continue ;; esac
    if [ "$reader" != series ]; then
        expect "slots bad $file" 1 "tdl: error: .*bad/$file:$line: " "" -- data slots "$DATA/bad/$file" -o "$TMP/bad.csv"
    fi
    if [ "$reader" != raw ] && [ "$has_info" -eq 1 ]; then
        expect "info bad $file" 1 "tdl: error: .*bad/$file:$line: " "" -- data info "$DATA/bad/$file"
    fi
done <"$DATA/bad/expected.txt"
[ "$has_info" -eq 1 ] || echo "note: no 'tdl data info' in this build: series files checked by test_csv only"
[ ! -e "$TMP/bad.csv" ] && { pass=$((pass + 1)); echo "ok   no output from failed runs"; } || { fail=$((fail + 1)); echo "FAIL output written by a failed run"; }


cli_done cli_slots
