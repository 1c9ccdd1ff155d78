#!/bin/sh
# test_cli.sh TDL: the command line's contract: help and version, exit codes
# (0 ok, 1 failure, 2 usage), the error format, and checked numeric options.
TDL="$1"
FIX="$(dirname "$0")/fixtures"
TMP="${TMPDIR:-/tmp}/tdl_test_cli.$$"
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

# expect NAME WANT_STATUS STDERR_PATTERN(or '') STDOUT_PATTERN(or '') -- ARGS...
expect() {
    name="$1"; want="$2"; errpat="$3"; outpat="$4"; shift 5
    "$TDL" "$@" >"$TMP/out" 2>"$TMP/err"
    got=$?
    ok=1
    [ "$got" -eq "$want" ] || ok=0
    if [ -n "$errpat" ] && ! grep -q -- "$errpat" "$TMP/err"; then ok=0; fi
    if [ -n "$outpat" ] && ! grep -q -- "$outpat" "$TMP/out"; then ok=0; fi
    if [ "$ok" -eq 1 ]; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); echo "FAIL $name: status $got (want $want)"
        sed 's/^/     stdout: /' "$TMP/out" | head -5; sed 's/^/     stderr: /' "$TMP/err" | head -5
    fi
}

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

echo "test_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
