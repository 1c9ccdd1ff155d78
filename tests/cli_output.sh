#!/bin/sh
# cli_output.sh TDL: where the commands write (issue 14, item 1). A FIFO as
# -o is written in place (the temporary-file-and-rename replaced it by a
# regular file); a symbolic link is written through (the file it names is
# replaced, the link stays; a dangling one gets its target created); an -o
# that is one of the command's inputs, or two outputs that are one file,
# exit 2 with the input unchanged; a missing or unwritable output directory
# fails before any work (training used to run first); SIGINT and SIGTERM
# leave no temporary file; a second run writing the same model and
# checkpoint is refused while the first holds its lock. Device nodes as -o
# (root only) are in cli_output_devices.sh.
TDL="$1"
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_output

sum() { cksum <"$1" 2>/dev/null; }
is_link() { [ -L "$1" ]; }
no_temp() { ! ls -a "$1" | grep -q '\.tmp\.'; }

"$TDL" synth --slots 2800 -o "$TMP/a.csv" && cp "$TMP/a.csv" "$TMP/a0.csv"
check "a series" $?
TR="$TMP/a.csv"

# ---- a FIFO: written in place ----
mkfifo "$TMP/fifo"
cat "$TMP/fifo" >"$TMP/from_fifo" &
reader=$!
expect "synth into a FIFO" 0 "" "" -- synth --slots 50 -o "$TMP/fifo"
# a FIFO the writer replaced leaves the reader waiting: end it
( sleep 5; kill $reader 2>/dev/null ) &
watchdog=$!
wait $reader
kill $watchdog 2>/dev/null
[ -p "$TMP/fifo" ]; check "the FIFO is still a FIFO" $?
[ "$(wc -l <"$TMP/from_fifo")" -eq 51 ] && head -n 1 "$TMP/from_fifo" | grep -q ContextTokens
check "the reader got the header and 50 values" $?
no_temp "$TMP"; check "no temporary file" $?

# ---- symbolic links: written through ----
mkdir -p "$TMP/real" "$TMP/links"
echo old >"$TMP/real/r.csv"
ln -s ../real/r.csv "$TMP/links/r.csv"
expect "synth through a relative link" 0 "" "" -- synth --slots 20 -o "$TMP/links/r.csv"
is_link "$TMP/links/r.csv"; check "the link is still a link" $?
[ "$(wc -l <"$TMP/real/r.csv")" -eq 21 ]; check "its target holds the series" $?
ln -s ../real/new.csv "$TMP/links/dangling.csv"
expect "synth through a dangling link" 0 "" "" -- synth --slots 20 -o "$TMP/links/dangling.csv"
is_link "$TMP/links/dangling.csv" && [ "$(wc -l <"$TMP/real/new.csv")" -eq 21 ]
check "the dangling link's target created, the link kept" $?
ln -s ../real/m.safetensors "$TMP/links/m.safetensors"
expect "train through a link" 0 "" "" -- --threads 2 train --method mse --train $TR --epochs 1 -o "$TMP/links/m.safetensors"
is_link "$TMP/links/m.safetensors" && [ -f "$TMP/real/m.safetensors" ] && [ -f "$TMP/links/m.ckpt.safetensors" ]
check "model through the link, checkpoint beside it" $?
no_temp "$TMP/real" && no_temp "$TMP/links"; check "no temporary file" $?
M="$TMP/real/m.safetensors"

# ---- an output that is an input: exit 2, the input untouched ----
cp "$(dirname "$0")/data/raw_small.csv" "$TMP/raw.csv"
ln -s a.csv "$TMP/alias.csv"
cp "$M" "$TMP/x.safetensors"
"$TDL" --threads 2 diffusion train --train $TR --preset tiny --ch 8 --groups 4 --T 10 --iters 1 --batch 2 -o "$TMP/d.safetensors" 2>/dev/null
check "a diffusion model" $?
before_a=$(sum "$TR"); before_m=$(sum "$M"); before_raw=$(sum "$TMP/raw.csv")
before_d=$(sum "$TMP/d.safetensors"); before_x=$(sum "$TMP/x.safetensors")
expect "data slots RAW -o RAW" 2 "tdl: error: -o .*raw.csv is the same file as RAW.csv" "" -- data slots "$TMP/raw.csv" -o "$TMP/raw.csv"
expect "data corrupt SOURCE -o SOURCE" 2 "is the same file as SOURCE" "" -- data corrupt $TR --kind gauss --level 0.1 -o $TR
expect "data corrupt -o a link to SOURCE" 2 "alias.csv is the same file as SOURCE" "" -- data corrupt $TR --kind gauss --level 0.1 -o "$TMP/alias.csv"
expect "train --train X -o X" 2 "is the same file as --train" "" -- train --train $TR -o $TR
expect "train --init M -o M" 2 "-o .* is the same file as --init" "" -- train --init "$M" --train $TR -o "$M"
expect "train --init M.ckpt -o M" 2 "the checkpoint .* is the same file as --init" "" -- train --init "$TMP/real/m.ckpt.safetensors" --train $TR -o "$M"
expect "diffusion train --train X -o X" 2 "is the same file as --train" "" -- diffusion train --train $TR -o $TR
expect "diffusion sample --model D -o D" 2 "is the same file as --model" "" -- diffusion sample --model "$TMP/d.safetensors" -o "$TMP/d.safetensors"
expect "diffusion sample --trajectory D" 2 "--trajectory .* is the same file as --model" "" -- diffusion sample --model "$TMP/d.safetensors" --trajectory 2 "$TMP/d.safetensors" -o "$TMP/s.csv"
expect "diffusion sample: two outputs one file" 2 "are the same file" "" -- diffusion sample --model "$TMP/d.safetensors" --trajectory 2 "$TMP/s.csv" -o "$TMP/s.csv"
expect "diffusion eps --x X -o X" 2 "is the same file as --x" "" -- diffusion eps --model "$TMP/d.safetensors" --x "$TMP/x.safetensors" --t 1 -o "$TMP/x.safetensors"
expect "3dl --init M -o M" 2 "is the same file as --init" "" -- train --method 3dl --train $TR --init "$M" --diffusion "$TMP/d.safetensors" -o "$M"
expect "3dl --log the training file" 2 "--log .* is the same file as --train" "" -- train --method 3dl --train $TR --init "$M" --diffusion "$TMP/d.safetensors" --log $TR -o "$TMP/t.safetensors"
[ "$(sum "$TR")" = "$before_a" ] && [ "$(sum "$M")" = "$before_m" ] && [ "$(sum "$TMP/raw.csv")" = "$before_raw" ] &&
    [ "$(sum "$TMP/d.safetensors")" = "$before_d" ] && [ "$(sum "$TMP/x.safetensors")" = "$before_x" ]
check "every input unchanged" $?
[ ! -e "$TMP/s.csv" ] && [ ! -e "$TMP/t.safetensors" ]; check "nothing written" $?

# ---- the output's directory, checked before any work ----
N="$TMP/no/such"
expect "train: missing directory" 1 "tdl: error: -o: .*no/such/m.safetensors: cannot create a file there" "" -- --threads 2 train --train $TR --epochs 50 -o "$N/m.safetensors"
grep -q "epoch" "$TMP/err"; [ $? -ne 0 ]; check "train: no epoch ran" $?
expect "diffusion train: missing directory" 1 "tdl: error: -o: .*cannot create" "" -- --threads 2 diffusion train --train $TR --preset tiny --iters 500 -o "$N/d.safetensors"
grep -q "iter" "$TMP/err"; [ $? -ne 0 ]; check "diffusion train: no iteration ran" $?
expect "3dl: missing directory" 1 "tdl: error: -o: .*cannot create" "" -- --threads 2 train --method 3dl --train $TR -o "$N/t.safetensors"
grep -q "pre-training" "$TMP/err"; [ $? -ne 0 ]; check "3dl: no pre-training ran" $?
expect "diffusion sample: missing directory" 1 "tdl: error: -o: .*cannot create" "" -- --threads 2 diffusion sample --model "$TMP/d.safetensors" --images 2 -o "$N/s.csv"
grep -q "wrote\|reverse" "$TMP/err"; [ $? -ne 0 ]; check "diffusion sample: no sampling ran" $?
expect "diffusion sample: trajectory directory" 1 "tdl: error: --trajectory: .*cannot create" "" -- --threads 2 diffusion sample --model "$TMP/d.safetensors" --images 2 --trajectory 1 "$N/t.safetensors" -o "$TMP/s2.csv"
[ ! -e "$TMP/s2.csv" ]; check "no samples written when the trajectory cannot be" $?
expect "data slots: missing directory" 1 "cannot create" "" -- data slots "$TMP/raw.csv" -o "$N/o.csv"
mkdir -p "$TMP/isdir"
expect "train: -o a directory" 1 "tdl: error: -o: .*isdir is a directory" "" -- --threads 2 train --train $TR -o "$TMP/isdir"
expect "synth: -o a directory" 1 "tdl: error: -o: .*isdir is a directory" "" -- synth --slots 5 -o "$TMP/isdir"

# ---- SIGINT and SIGTERM: no temporary file left ----
# interrupt_write SIG: synth 10^7 slots (seconds of writing), signalled as
# soon as its temporary file exists
interrupt_write() {
    rm -f "$TMP/big.csv"
    # a script's background job starts with SIGINT ignored (and tdl keeps an
    # ignored signal ignored, as nohup wants): env restores the default
    $DEFSIG "$TDL" synth --slots 10000000 -o "$TMP/big.csv" 2>/dev/null &
    pid=$!
    n=0
    while ! ls "$TMP" | grep -q '^big.csv.tmp.' && [ $n -lt 3000 ]; do sleep 0.01; n=$((n + 1)); done
    seen=0; ls "$TMP" | grep -q '^big.csv.tmp.' && seen=1
    kill -"$1" $pid 2>/dev/null
    wait $pid
    st=$?
    [ $seen -eq 1 ]; check "$1: caught while writing" $?
    [ $st -eq $2 ]; check "$1: died by the signal (status $st, want $2)" $?
    no_temp "$TMP" && [ ! -e "$TMP/big.csv" ]; check "$1: no temporary file, no output" $?
}
DEFSIG=""
if env --default-signal=INT true 2>/dev/null; then
    DEFSIG="env --default-signal=INT"
    interrupt_write INT 130
else
    skip "SIGINT: this env cannot give a background job SIGINT back (coreutils >= 8.31)"
fi
interrupt_write TERM 143

# ---- two runs, one model and checkpoint ----
"$TDL" --threads 2 train --method mse --train $TR --epochs 100000 -o "$TMP/lk.safetensors" 2>/dev/null &
first=$!
n=0
while [ ! -f "$TMP/lk.lock" ] && [ $n -lt 3000 ]; do sleep 0.01; n=$((n + 1)); done
[ -f "$TMP/lk.lock" ]; check "the first run holds its lock file" $?
expect "a second train on the same -o" 1 "tdl: error: another run is writing these files (process $first holds .*lk.lock)" "" -- --threads 2 train --method mse --train $TR --epochs 1 -o "$TMP/lk.safetensors"
expect "a resume meanwhile" 1 "another run is writing these files" "" -- --threads 2 train --resume -o "$TMP/lk.safetensors"
expect "diffusion train on the same -o" 1 "another run is writing these files" "" -- --threads 2 diffusion train --train $TR --iters 1 -o "$TMP/lk.safetensors"
expect "the same -o through a link" 1 "another run is writing these files" "" -- --threads 2 train --train $TR --epochs 1 -o "$TMP/links/../lk.safetensors"
kill -TERM $first
wait $first
st=$?
[ $st -eq 143 ]; check "the first run ended by SIGTERM (status $st)" $?
[ ! -e "$TMP/lk.lock" ] && no_temp "$TMP"; check "SIGTERM removed its lock file" $?
expect "the next run takes the lock" 0 "" "" -- --threads 2 train --method mse --train $TR --epochs 1 -o "$TMP/lk.safetensors"
[ ! -e "$TMP/lk.lock" ]; check "released at the end" $?

cli_done cli_output
