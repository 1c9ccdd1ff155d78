#!/bin/sh
# cli_data_info.sh TDL: `tdl data info`: the 23D-vs-23V numbers of the Azure
# README through the command line (`cli_data_info.sh TDL azure`, CTest
# cli_data_info_azure, which reports a skip when TDL_DATA_DIR has no data),
# small series written here, and bad input (missing file, bad values, usage).
TDL="$1"
CLI_PART="${2:-}"
DATA="${TDL_DATA_DIR:-$(dirname "$0")/../../shared/data/azure}"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_data_info

if cli_part azure; then
    if [ -r "$DATA/23D.csv" ] && [ -r "$DATA/23V.csv" ]; then
        expect "23D vs 23V" 0 "" "23D.csv  *22368  *798 .*  233  0.1457$" -- \
            data info "$DATA/23D.csv" --against "$DATA/23V.csv"
        expect "23V period 701" 0 "" "23V.csv  *21030  *751 .*  701  0.0000$" -- \
            data info "$DATA/23V.csv" --against "$DATA/23V.csv"
        expect "24D24V json" 0 "" '"w1": 0.0685' -- \
            data info --json "$DATA/24D24V.csv" --against "$DATA/23V.csv"
    else
        skip "23D vs 23V: the Azure data is absent ($DATA); set TDL_DATA_DIR"
    fi
    cli_done cli_data_info_azure
fi


# a series of 60 values repeating with period 3 (1 2 3 ...), and a shifted copy
printf 'ContextTokens\n' >"$TMP/a.csv"
i=0; while [ $i -lt 20 ]; do printf '1\n2\n3\n' >>"$TMP/a.csv"; i=$((i + 1)); done
printf 'TIMESTAMP,ContextTokens\n' >"$TMP/b.csv"
i=0; while [ $i -lt 30 ]; do printf 't,%d\n' $((i * i % 97 + 5)) >>"$TMP/b.csv"; i=$((i + 1)); done

expect "help" 0 "" "usage: tdl data info" -- data info --help
expect "small series" 0 "" "a.csv  *60  *2  *1  *3  *2.00  *0.82  *3$" -- data info "$TMP/a.csv"
expect "no period" 0 "" "b.csv  *30  *1 .* -$" -- data info "$TMP/b.csv"
expect "options after files" 0 "" "b.csv .*  0.[0-9]*$" -- data info "$TMP/b.csv" --against "$TMP/a.csv"
expect "against itself" 0 "" "  0.0000$" -- data info "$TMP/a.csv" --against "$TMP/a.csv"
expect "json" 0 "" '"period": 3' -- data info --json "$TMP/a.csv"
expect "no source: the built-in default" 0 "" "^synth:conversation  *21030  *751 " -- data info
expect "synth source" 0 "" "^synth:code:2:600  *600  *21 " -- data info synth:code:2:600
expect "bad synth source" 1 "tdl: error: unknown workload profile .bogus.*tdl synth --list" "" -- data info synth:bogus
expect "json w1" 0 "" '"w1": 0' -- data info --json "$TMP/a.csv" --against "$TMP/a.csv"
expect "json no period" 0 "" '"period": null' -- data info --json "$TMP/b.csv"
printf 'ContextTokens,Other\n4,x\n,y\n8,z\n' >"$TMP/gap.csv"
expect "empty cell warning" 0 "warning: .*1 empty cell" "gap.csv *3 " -- data info "$TMP/gap.csv"
expect "column option" 2 "--column needs" "" -- data info --column "" "$TMP/a.csv"

expect "unknown option" 2 "unknown option '--bogus'" "" -- data info --bogus "$TMP/a.csv"
expect "against needs value" 2 "--against needs a value" "" -- data info "$TMP/a.csv" --against
expect "missing file" 1 "tdl: error: " "" -- data info "$TMP/none.csv"
expect "missing against" 1 "tdl: error: " "" -- data info "$TMP/a.csv" --against "$TMP/none.csv"
printf 'ContextTokens\n5\nabc\n' >"$TMP/bad.csv"
expect "bad value" 1 "tdl: error: .*bad.csv:3" "" -- data info "$TMP/bad.csv"
expect "missing column" 1 "tdl: error: " "" -- data info --column Nope "$TMP/a.csv"


cli_done cli_data_info
