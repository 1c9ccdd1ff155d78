# cli_lib.sh: what the CLI test scripts share; source it after setting TDL
# (the tdl binary), then call cli_init NAME.
#   expect NAME WANT_STATUS STDERR_PATTERN(or '') STDOUT_PATTERN(or '') -- ARGS...
#       runs "$TDL" ARGS, checks the exit status and greps stderr and stdout
#       (basic regular expressions); prints ok/FAIL with the output on failure
#   check NAME STATUS   records a shell condition's result (0 = ok)
#   skip WHY            records a part that cannot run here ("SKIP WHY")
#   cli_done NAME       prints "NAME: N passed, N failed[, N skipped]" and exits:
#                       1 on a failure, 77 (CTest's SKIP_RETURN_CODE) when a part
#                       was skipped and nothing failed, else 0
#   cli_part NAME       1 when the script was started as part NAME (its second
#                       argument, e.g. `cli_corrupt.sh TDL azure`: CTest's
#                       cli_corrupt_azure runs only the part that needs the data)
#   poison IN OUT BYTES copies the safetensors file IN to OUT with the first
#                       4 bytes of its data (the first tensor's first float)
#                       replaced by BYTES (printf escapes: '\000\000\300\177' is NaN)
# TMP is a private directory removed at exit.

cli_init() {
    TMP="${TMPDIR:-/tmp}/tdl_$1.$$"
    mkdir -p "$TMP"
    trap 'chmod -R u+w "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
    pass=0
    fail=0
    skipped=0
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

skip() {
    skipped=$((skipped + 1)); echo "SKIP $1"
}

cli_part() {
    [ "${CLI_PART:-}" = "$1" ]
}

cli_done() {
    if [ "$skipped" -gt 0 ]; then echo "$1: $pass passed, $fail failed, $skipped skipped"
    else echo "$1: $pass passed, $fail failed"; fi
    [ "$fail" -eq 0 ] || exit 1
    [ "$skipped" -eq 0 ] || exit 77
    [ $((pass + fail)) -gt 0 ] || exit 1
    exit 0
}

# kill_after_checkpoint LABEL OUT ARGS...: run "$TDL" --threads 2 ARGS -o OUT
# in the background, SIGKILL it as soon as OUT's checkpoint
# (OUT.ckpt.safetensors) exists, and check that it died by the signal and
# wrote no model (the crash half of the resume tests).
kill_after_checkpoint() {
    label="$1"; out="$2"; shift 2
    ckpt="${out%.safetensors}.ckpt.safetensors"
    "$TDL" --threads 2 "$@" -o "$out" >/dev/null 2>"$TMP/err.kill" &
    pid=$!
    n=0
    while [ ! -f "$ckpt" ] && [ $n -lt 6000 ]; do sleep 0.01; n=$((n + 1)); done
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    st=$?
    [ "$st" -eq 137 ]; check "$label killed by SIGKILL (status $st)" $?
    [ ! -f "$out" ]; check "the killed $label wrote no model" $?
}

poison() {
    n=$(od -An -tu8 -N8 "$1" | tr -d ' ')
    cp "$1" "$2"
    printf "$3" | dd of="$2" bs=1 seek=$((8 + n)) conv=notrunc 2>/dev/null
}
