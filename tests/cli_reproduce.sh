#!/bin/sh
# cli_reproduce.sh TDL: `tdl reproduce`, the experiment runner: usage and
# data errors (exit 2 and 1, the missing file named), cell hashing (the same
# settings give the same cell IDs, a different preset, seed count or input
# file changes exactly the cells that depend on it), the demo grid with 2
# seeds on the synthetic stand-ins (report.md with every section and the
# SYNTHETIC warning, results.json with every cell, PNG and SVG figures when
# gnuplot is installed), a rerun that trains nothing, --cell, another grid's
# OUT refused without --force, and the crash test: a grid killed with
# SIGKILL in the middle of a 3D-L cell (after its first checkpoint), rerun,
# resumes that cell (--resume), skips the finished ones and ends with the
# same regrets as the uninterrupted run.
TDL="$1"
# small networks on a shared machine: a spinning OpenMP wait costs 10-20x
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_reproduce

# ---- usage and data errors ----
expect "help" 0 "" "Table I" -- reproduce --help
expect "no -o" 2 "tdl: error: -o OUT is required" "" -- reproduce
expect "unknown preset" 2 "tdl: error: --preset huge is not a preset (demo, cpu or paper)" "" -- \
    reproduce --preset huge -o "$TMP/x"
expect "seeds 0" 2 "tdl: error: --seeds 0 is not a seed count (an integer from 1 to 100)" "" -- \
    reproduce --seeds 0 -o "$TMP/x"
expect "seeds not a number" 2 "tdl: error: --seeds three" "" -- reproduce --seeds three -o "$TMP/x"
expect "jobs 0" 2 "tdl: error: --jobs 0 is not a job count (an integer from 1 to 64)" "" -- \
    reproduce --jobs 0 -o "$TMP/x"
expect "unknown option" 2 "unknown option" "" -- reproduce --fast -o "$TMP/x"
expect "list and cell" 2 "give one" "" -- reproduce --list --cell x -o "$TMP/x"
expect "data not a directory" 1 "tdl: error: --data $TMP/none is not a directory (" "" -- \
    reproduce --data "$TMP/none" -o "$TMP/x"
# a data folder with six of the seven series: the missing one is named
D="$TMP/data"
mkdir -p "$D"
for p in 23V:conversation 24V:conversation-2024 23D:code 24D:code-2024 23D24D:code-bursty \
         23D24V:conversation-daily 24D24V:code-daily; do
    "$TDL" synth --profile "${p#*:}" --slots 3000 -o "$D/${p%%:*}.csv" 2>/dev/null
done
mv "$D/24D.csv" "$TMP/24D.csv"
expect "missing data file named" 1 "tdl: error: --data $D: missing 24D.csv" "" -- \
    reproduce --data "$D" --list -o "$TMP/x"
mv "$TMP/24D.csv" "$D/24D.csv"
expect "unknown cell" 2 "tdl: error: --cell nope is not a cell of this grid" "" -- \
    reproduce --data synth --cell nope -o "$TMP/x"
[ ! -e "$TMP/x" ]; check "errors wrote nothing" $?

# ---- cell hashing ----
ids() { "$TDL" reproduce --list "$@" 2>/dev/null | grep -v '^#' | awk '{print $1, $3, $4}'; }
ids --data synth -o "$TMP/b" >"$TMP/l1"
ids --data synth -o "$TMP/elsewhere" >"$TMP/l2"
ids --data synth --seeds 2 -o "$TMP/b" >"$TMP/l3"
ids --data synth --preset cpu -o "$TMP/b" >"$TMP/l4"
[ "$(wc -l <"$TMP/l1")" -eq 14 ]; check "demo: 14 cells per seed" $?
cmp -s "$TMP/l1" "$TMP/l2"; check "same settings, same cell IDs (OUT does not matter)" $?
[ "$(wc -l <"$TMP/l3")" -eq 28 ] && grep -F -x -f "$TMP/l1" "$TMP/l3" | cmp -s - "$TMP/l1"
check "--seeds 2 keeps seed 1's 14 cells and adds 14" $?
cut -d' ' -f1 "$TMP/l1" | sort >"$TMP/i1"
cut -d' ' -f1 "$TMP/l4" | sort >"$TMP/i4"
[ -z "$(comm -12 "$TMP/i1" "$TMP/i4")" ]; check "another preset: no cell in common" $?
[ "$(cut -d' ' -f1 "$TMP/l3" | sort -u | wc -l)" -eq 28 ]; check "IDs distinct" $?
ids --data "$D" -o "$TMP/d" >"$TMP/d1"
echo 5 >>"$D/24V.csv" # a test set changes: every evaluated cell, not the diffusion model
ids --data "$D" -o "$TMP/d" >"$TMP/d2"
[ "$(grep ddpm "$TMP/d1" | cut -d' ' -f1)" = "$(grep ddpm "$TMP/d2" | cut -d' ' -f1)" ] &&
    [ -z "$(grep -v ddpm "$TMP/d1" | cut -d' ' -f1 | grep -F -x -f - "$TMP/d2")" ]
check "a changed test file changes every evaluated cell, not the DDPM's" $?
echo 5 >>"$D/23V.csv" # the training set changes: every cell
ids --data "$D" -o "$TMP/d" >"$TMP/d3"
[ -z "$(cut -d' ' -f1 "$TMP/d2" | grep -F -x -f - "$TMP/d3")" ]
check "a changed training file changes every cell" $?

# ---- the demo grid, 2 seeds, synthetic stand-ins ----
t0=$(date +%s)
expect "demo grid, 2 seeds" 0 "28 cells: 0 cached, 28 run, 0 failed" "Table I summary" -- \
    --threads 2 reproduce --data synth --seeds 2 -o "$TMP/b"
echo "     demo grid with 2 seeds: $(($(date +%s) - t0)) s"
grep -q "^report: $TMP/b/report.md" "$TMP/out"; check "prints the report's path" $?
R="$TMP/b/report.md"
grep -q "SYNTHETIC STAND-INS" "$R"; check "report: says the data are synthetic, at the top" $?
[ "$(grep -n SYNTHETIC "$R" | head -1 | cut -d: -f1)" -le 3 ]; check "  ... in its first lines" $?
for s in "## The paper's claims" "## Table I: normalised test regret, pooled form" \
         "## Table I: the authors' per-(batch, step) form" "## Fig. 2" "## Fig. 3" "## Fig. 4" \
         "## Controls the paper lacks" "Learning rates tuned on a validation part" "## Commands" \
         "tdl --threads 2 train --method 3dl" "(0.1635)" "**holds** when the mean difference"; do
    grep -q -F "$s" "$R"; check "report: $s" $?
done
[ "$(grep -c -E '^[0-9]+\. \*\*(holds|does not hold|inconclusive)\*\*' "$R")" -eq 8 ]
check "report: 8 claims with a verdict" $?
grep -q -E '^\| \*\*average\*\* \| [0-9.]+ ± [0-9.]+ ' "$R"; check "report: mean ± sd" $?
python3 - "$TMP/b/results.json" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
cells = d["cells"]
assert len(cells) == 28, len(cells)
assert all(c["state"] == "done" and c["result"] for c in cells)
for c in cells:
    r = c["result"]
    if c["method"] != "ddpm":
        assert len(r["eval"]["sets"]) == 7 and r["eval"]["average"]["regret_pooled"] > 0
assert d["table1"]["3D-L"]["average"]["seeds"] == 2
assert len(d["claims"]) == 8 and d["data"]["synthetic"] is True
EOF
check "results.json: 28 cells with their evaluations, Table I, the claims" $?
if command -v gnuplot >/dev/null 2>&1; then
    ok=0
    for f in regret_per_set fig2_corrupted fig3_objective fig4_budget; do
        [ "$(head -c 4 "$TMP/b/figures/$f.png" | od -An -c | tr -d ' ')" = "211PNG" ] || ok=1
        grep -q '<svg' "$TMP/b/figures/$f.svg" || ok=1
    done
    check "figures: 4 valid PNG and SVG files" $ok
else
    grep -q "gnuplot is not installed" "$R"; check "no gnuplot: the report says so" $?
fi

# a rerun trains nothing
cat "$TMP"/b/cells/*/commands.txt | wc -l >"$TMP/n1"
expect "rerun" 0 "28 cells (28 cached, 0 to run)" "" -- --threads 2 reproduce --data synth \
    --seeds 2 -o "$TMP/b"
cat "$TMP"/b/cells/*/commands.txt | wc -l | cmp -s - "$TMP/n1"; check "rerun: no command ran" $?

# another grid's OUT: refused, then --force
expect "another grid refused" 1 "holds another grid" "" -- reproduce --data synth -o "$TMP/b"
expect "--force" 0 "14 cells (14 cached, 0 to run)" "" -- --threads 2 reproduce --data synth \
    --force -o "$TMP/b"

# --cell: one cell, by name or ID
expect "--cell by name" 0 "1 cells (0 cached, 1 to run)" "" -- --threads 2 reproduce --data synth \
    --cell "dfl s1" -o "$TMP/c"
CTRL=$(grep 'dfl-control s1' "$TMP/l1" | cut -d' ' -f1)
expect "--cell by ID (its dependency cached)" 0 "2 cells (1 cached, 1 to run)" "" -- --threads 2 \
    reproduce --data synth --cell "$CTRL" -o "$TMP/c"
[ "$(ls "$TMP"/c/cells/*/result.json | wc -l)" -eq 2 ] && [ -f "$TMP/c/report.md" ]
check "--cell ran only those cells and wrote the report" $?

# ---- crash test: SIGKILL inside the 3D-L cell, then rerun ----
L3=$(grep '3dl s1' "$TMP/l1" | head -1 | cut -d' ' -f1)
"$TDL" --threads 2 reproduce --data synth -o "$TMP/k" >/dev/null 2>"$TMP/err.kill" &
pid=$!
n=0
while [ ! -f "$TMP/k/cells/$L3/model.ckpt.safetensors" ] && [ $n -lt 30000 ]; do
    sleep 0.01
    n=$((n + 1))
done
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
st=$?
[ "$st" -eq 137 ]; check "grid killed by SIGKILL (status $st)" $?
sleep 1 # the children die with it (PR_SET_PDEATHSIG)
[ ! -f "$TMP/k/cells/$L3/result.json" ]; check "the killed 3D-L cell has no result" $?
done_before=$(ls "$TMP"/k/cells/*/result.json 2>/dev/null | wc -l)
todo=$((14 - done_before))
expect "rerun after the kill" 0 "14 cells ($done_before cached, $todo to run)" "" -- \
    --threads 2 reproduce --data synth -o "$TMP/k"
grep -q -- "--method 3dl --resume" "$TMP/k/cells/$L3/commands.txt"; check "the 3D-L cell resumed" $?
python3 - "$TMP/k/results.json" "$TMP/b/results.json" <<'EOF'
import json, sys
k = {c["id"]: c["result"] for c in json.load(open(sys.argv[1]))["cells"]}
b = {c["id"]: c["result"] for c in json.load(open(sys.argv[2]))["cells"]}
assert len(k) == 14
def numbers(e):  # the regrets, not the model's path
    return e and {x: e[x] for x in ("sets", "average", "maximum")}
for i, r in k.items():
    assert numbers(r["eval"]) == numbers(b[i]["eval"]), r["name"]
    for kind, e in (r["corrupt"] or {}).items():
        assert numbers(e) == numbers(b[i]["corrupt"][kind]), (r["name"], kind)
EOF
check "killed + rerun: the same regrets as the uninterrupted run (every cell)" $?

cli_done cli_reproduce
