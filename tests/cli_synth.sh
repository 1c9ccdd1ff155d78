#!/bin/sh
# cli_synth.sh TDL: `tdl synth`: the profile list, defaults, determinism, the
# CSV it writes (header ContextTokens, positive integers), atomic output, and
# exit codes (2 usage with the usage text, 1 I/O failure as `tdl: error:`).
TDL="$1"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_synth



expect "help" 0 "" "usage: tdl synth" -- synth --help
expect "listed in tdl --help" 0 "" "synth" -- --help
expect "list" 0 "" "^conversation " -- synth --list
expect "list code-2024" 0 "" "^code-2024 .*24D" -- synth --list
n_profiles=$("$TDL" synth --list | wc -l)
[ "$n_profiles" -ge 12 ]; check "list has $n_profiles >= 12 profiles" $?

# Defaults: conversation, 21030 slots, seed 1.
expect "defaults" 0 "" "" -- synth -o "$TMP/a.csv"
[ "$(head -1 "$TMP/a.csv")" = "ContextTokens" ]; check "header ContextTokens" $?
[ "$(wc -l <"$TMP/a.csv")" -eq 21031 ]; check "21030 rows by default" $?
bad=$(tail -n +2 "$TMP/a.csv" | grep -cv '^[1-9][0-9]*$')
[ "$bad" -eq 0 ]; check "every row a positive integer ($bad bad)" $?
distinct=$(tail -n +2 "$TMP/a.csv" | sort -u | wc -l)
[ "$distinct" -gt 15000 ]; check "not constant ($distinct distinct values)" $?
ls "$TMP" | grep -q '\.tmp\.'; [ $? -ne 0 ]; check "no temporary file left" $?

expect "explicit defaults" 0 "" "" -- synth --profile conversation --slots 21030 --seed 1 -o "$TMP/b.csv"
cmp -s "$TMP/a.csv" "$TMP/b.csv"; check "same seed, same file" $?
expect "seed 2" 0 "" "" -- synth --seed 2 -o "$TMP/c.csv"
cmp -s "$TMP/a.csv" "$TMP/c.csv"; [ $? -ne 0 ]; check "different seed, different file" $?
expect "stdout" 0 "" "^ContextTokens" -- synth --profile code --slots 50 -o -
[ "$(wc -l <"$TMP/out")" -eq 51 ]; check "50 slots to stdout" $?
expect "prefix" 0 "" "" -- synth --slots 100 -o "$TMP/d.csv"
[ "$(head -101 "$TMP/a.csv")" = "$(cat "$TMP/d.csv")" ]; check "100 slots = start of 21030" $?
for p in $("$TDL" synth --list | cut -d' ' -f1); do
    expect "profile $p" 0 "" "" -- synth --profile "$p" --slots 2000 --seed 3 -o "$TMP/p.csv"
done
# Overwriting an existing file replaces it.
expect "overwrite" 0 "" "" -- synth --slots 10 -o "$TMP/a.csv"
[ "$(wc -l <"$TMP/a.csv")" -eq 11 ]; check "overwritten" $?

# Usage errors: exit 2, message and usage on stderr.
expect "unknown profile" 2 "unknown workload profile 'chat'; valid profiles: conversation, code" "" -- synth --profile chat -o "$TMP/x.csv"
expect "unknown profile usage" 2 "usage: tdl synth" "" -- synth --profile chat -o "$TMP/x.csv"
[ ! -e "$TMP/x.csv" ]; check "no file on a usage error" $?
expect "slots zero" 2 "--slots '0' is not an integer in \[1, 10000000\]" "" -- synth --slots 0 -o "$TMP/x.csv"
expect "slots huge" 2 "--slots '10000001'" "" -- synth --slots 10000001 -o "$TMP/x.csv"
expect "slots overflow" 2 "--slots '99999999999999999999999'" "" -- synth --slots 99999999999999999999999 -o "$TMP/x.csv"
expect "slots junk" 2 "--slots '5k'" "" -- synth --slots 5k -o "$TMP/x.csv"
expect "slots negative" 2 "--slots '-3'" "" -- synth --slots -3 -o "$TMP/x.csv"
expect "seed negative" 2 "--seed '-1'" "" -- synth --seed -1 -o "$TMP/x.csv"
expect "seed junk" 2 "--seed 'abc'" "" -- synth --seed abc -o "$TMP/x.csv"
expect "no output" 2 "no output file" "" -- synth --profile code
expect "missing value" 2 "needs a value" "" -- synth --profile
expect "unknown option" 2 "unknown option '--bogus'" "" -- synth --bogus -o "$TMP/x.csv"
expect "stray argument" 2 "unexpected argument 'extra'" "" -- synth -o "$TMP/x.csv" extra

# I/O failures: exit 1, `tdl: error: ...`.
expect "missing directory" 1 "^tdl: error: .*no/such/dir/x.csv: cannot create" "" -- synth -o "$TMP/no/such/dir/x.csv"
mkdir -p "$TMP/ro"
chmod a-w "$TMP/ro"
# root writes into a read-only directory anyway: as root the directory is
# made immutable instead (chattr +i), else the check reports a skip
if [ "$(id -u)" -ne 0 ]; then
    expect "read-only directory" 1 "^tdl: error: .*ro/x.csv" "" -- synth -o "$TMP/ro/x.csv"
elif chattr +i "$TMP/ro" 2>/dev/null; then
    expect "immutable directory (root)" 1 "^tdl: error: .*ro/x.csv" "" -- synth -o "$TMP/ro/x.csv"
    chattr -i "$TMP/ro"
else
    skip "read-only directory: running as root and chattr +i is not available"
fi
: >"$TMP/plain"
expect "parent is a file" 1 "^tdl: error: .*plain/x.csv" "" -- synth -o "$TMP/plain/x.csv"
mkdir -p "$TMP/isdir"
expect "output is a directory" 1 "^tdl: error: .*isdir is a directory" "" -- synth --slots 5 -o "$TMP/isdir"
ls "$TMP" | grep -q '\.tmp\.'; [ $? -ne 0 ]; check "no temporary file left after failure" $?
if [ -w /dev/full ]; then
    "$TDL" synth --slots 5000 -o - >/dev/full 2>"$TMP/err"; st=$?
    [ "$st" -eq 1 ] && grep -q "tdl: error: cannot write to stdout" "$TMP/err"; check "stdout to /dev/full fails with 1" $?
else
    skip "stdout to /dev/full: /dev/full is not writable here"
fi

cli_done cli_synth
