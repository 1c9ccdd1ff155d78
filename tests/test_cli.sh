#!/bin/sh
# test_cli.sh TDL: the command line's contract: help and version, exit codes
# (0 ok, 1 failure, 2 usage), the error format, and checked numeric options.
TDL="$1"
FIX="$(dirname "$0")/fixtures"
. "$(dirname "$0")/cli_lib.sh"
cli_init test_cli


expect "help" 0 "" "usage: tdl" -- --help
expect "version" 0 "" "^tdl [0-9]" -- --version
expect "no command" 2 "tdl: error: no command given" "" --
expect "unknown option" 2 "unknown option '--frobnicate'" "" -- --frobnicate
expect "usage on stderr" 2 "usage: tdl" "" -- --frobnicate
expect "unknown command" 2 "unknown command 'train-everything'" "" -- train-everything
expect "threads not a number" 2 "--threads 'many' is not an integer" "" -- --threads many info
expect "threads zero" 2 "--threads '0' is not an integer in" "" -- --threads 0 info
expect "threads trailing junk" 2 "--threads '2x'" "" -- --threads 2x info
expect "threads missing value" 2 "needs a value" "" -- --threads
expect "threads ok" 0 "" "threads: 1 of" -- --threads 1 info
TDL_THREADS=lots expect "TDL_THREADS bad" 2 "TDL_THREADS='lots'" "" -- info
unset TDL_THREADS
expect "info json" 0 "" '"blas_core"' -- info --json
expect "info help" 0 "" "usage: tdl info" -- info --help
expect "info unknown option" 2 "unknown option '--bogus'" "" -- info --bogus
expect "info usage on stderr" 2 "usage: tdl info" "" -- info --bogus
expect "inspect help" 0 "" "usage: tdl inspect" -- inspect --help
expect "inspect fixture" 0 "" "adam.w0" -- inspect "$FIX/adam.safetensors"
expect "inspect stats" 0 "" "min .* max .* mean" -- inspect --stats "$FIX/adam.safetensors"
expect "inspect no file" 2 "expected one FILE" "" -- inspect
expect "inspect missing file" 1 "tdl: error: .*cannot open" "" -- inspect "$TMP/none.safetensors"
head -c 100 "$FIX/adam.safetensors" >"$TMP/trunc.safetensors"
expect "inspect truncated" 1 "tdl: error: .*truncated" "" -- inspect "$TMP/trunc.safetensors"
printf 'not a model at all, just text\n' >"$TMP/text.safetensors"
expect "inspect text file" 1 "tdl: error: .*(is it a safetensors" "" -- inspect "$TMP/text.safetensors"

cli_done test_cli
