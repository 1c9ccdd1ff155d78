# cli_lib.sh: what the CLI test scripts share; source it after setting TDL
# (the tdl binary), then call cli_init NAME.
#   expect NAME WANT_STATUS STDERR_PATTERN(or '') STDOUT_PATTERN(or '') -- ARGS...
#       runs "$TDL" ARGS, checks the exit status and greps stderr and stdout
#       (basic regular expressions); prints ok/FAIL with the output on failure
#   check NAME STATUS   records a shell condition's result (0 = ok)
#   cli_done NAME       prints "NAME: N passed, N failed"; status 1 on failure
# TMP is a private directory removed at exit.

cli_init() {
    TMP="${TMPDIR:-/tmp}/tdl_$1.$$"
    mkdir -p "$TMP"
    trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
    pass=0
    fail=0
}

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

check() {
    if [ "$2" -eq 0 ]; then pass=$((pass + 1)); echo "ok   $1"
    else fail=$((fail + 1)); echo "FAIL $1"; fi
}

cli_done() {
    echo "$1: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
