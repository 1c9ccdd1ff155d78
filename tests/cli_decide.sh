#!/bin/sh
# cli_decide.sh TDL: `tdl decide`: the spec's capacities for y = 10000 (exact
# 3286.5, authors 3149.5), the --actual outputs, bad values (exit 2) and the
# error format.
TDL="$1"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_decide

report() { # report NAME OK
    if [ "$2" -eq 1 ]; then
        pass=$((pass + 1)); echo "ok   $1"
    else
        fail=$((fail + 1)); echo "FAIL $1"
        sed 's/^/     stdout: /' "$TMP/out" | head -5; sed 's/^/     stderr: /' "$TMP/err" | head -5
    fi
}


# json_num KEY: the number after "KEY": in $TMP/out
json_num() {
    sed -n "s/.*\"$1\": \\([-+0-9.eE]*\\).*/\\1/p" "$TMP/out"
}

# in_range NAME VALUE LO HI: LO <= VALUE < HI
in_range() {
    ok=$(awk -v v="$2" -v lo="$3" -v hi="$4" 'BEGIN { print (v != "" && v + 0 >= lo && v + 0 < hi) ? 1 : 0 }')
    echo "     $1 = $2 (want [$3, $4))"
    report "$1" "$ok"
}

expect "decide exact json" 0 "" '"rule": "exact"' -- decide --forecast 10000 --json
in_range "exact capacity 3286.5" "$(json_num capacity)" 3286.5 3286.6
in_range "r 0.31495" "$(json_num r)" 0.31495 0.31496
expect "decide authors json" 0 "" '"rule": "authors"' -- decide --forecast 10000 --rule authors --json
in_range "authors capacity 3149.5" "$(json_num capacity)" 3149.5 3149.6
expect "decide exact is the default" 0 "" "^capacity: 3286.55" -- decide --forecast 10000
expect "decide with actual json" 0 "" '"regret"' -- decide --forecast 10000 --actual 10000 --json
in_range "loss -0.0042260" "$(json_num loss)" -0.00422605 -0.00422595
in_range "oracle capacity" "$(json_num oracle_capacity)" 3286.5 3286.6
in_range "perfect forecast regret 0" "$(json_num regret)" 0 1e-300
expect "decide authors actual" 0 "" '"oracle_capacity": 3149.5' -- decide --forecast 10000 --actual 10000 --rule authors --json
in_range "authors loss -0.0042232" "$(json_num loss)" -0.00422325 -0.00422315
expect "decide text with actual" 0 "" "^regret: " -- decide --forecast 12000 --actual 10000
expect "decide regret > 0" 0 "" "" -- decide --forecast 12000 --actual 10000 --json
in_range "regret of 12000 for 10000" "$(json_num regret)" 1e-9 1
# a workload far above a_max: log(A t + 1) rounded s(t) to 0 and the regret to -0.42
expect "decide huge actual" 0 "" '"regret"' -- decide --forecast 0 --actual 1e50 --json
in_range "regret of 0 for 1e50 is positive" "$(json_num regret)" 2.6 2.7
expect "decide clamps to a_min" 0 "" '"capacity": 200.0}' -- decide --forecast 0 --json
expect "decide clamps to a_max" 0 "" '"capacity": 400000.0}' -- decide --forecast 1e7 --json
expect "decide override eta" 0 "" '"capacity": 10000.0}' -- decide --forecast 10000 --eta 0.95 --json
expect "decide override a-max" 0 "" '"capacity": 1000.0}' -- decide --forecast 10000 --a-max 1000 --json

expect "decide help" 0 "" "usage: tdl decide" -- decide --help
expect "decide help names the authors' defaults" 0 "" "default to the authors'" -- decide --help
expect "main usage lists decide" 0 "" "decide " -- --help
expect "decide no forecast" 2 "tdl: error: --forecast is required" "" -- decide
expect "decide usage on stderr" 2 "usage: tdl decide" "" -- decide
expect "decide negative forecast" 2 "tdl: error: --forecast '-1' is not a finite number >= 0" "" -- decide --forecast -1
expect "decide nan forecast" 2 "--forecast 'nan' is not a finite number" "" -- decide --forecast nan
expect "decide inf forecast" 2 "--forecast 'inf' is not a finite number" "" -- decide --forecast inf
expect "decide junk forecast" 2 "--forecast '10k'" "" -- decide --forecast 10k
expect "decide negative actual" 2 "--actual '-5' is not a finite number >= 0" "" -- decide --forecast 5 --actual -5
expect "decide missing value" 2 "--forecast needs a value" "" -- decide --forecast
expect "decide bad rule" 2 "unknown decision rule 'best'" "" -- decide --forecast 5 --rule best
expect "decide unknown option" 2 "unknown option '--bogus'" "" -- decide --forecast 5 --bogus
expect "decide stray argument" 2 "unexpected argument 'extra'" "" -- decide --forecast 5 extra
expect "decide bad eta" 2 "tdl: error: bad constants: eta = 1.5 is not in (0, 1)" "" -- decide --forecast 5 --eta 1.5
expect "decide a-min >= a-max" 2 "a_min = 500 is not below a_max = 400" "" -- decide --forecast 5 --a-min 500 --a-max 400
expect "decide negative p-idle" 2 "P_idle = -1 is negative" "" -- decide --forecast 5 --p-idle -1
expect "decide degenerate r" 2 "r = .* is not > 0" "" -- decide --forecast 5 --eta 0.05
expect "decide bad constant text" 2 "--B 'x' is not a finite number" "" -- decide --forecast 5 --B x

cli_done cli_decide
