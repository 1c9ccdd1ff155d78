#!/bin/sh
# cli_train_tty.sh TDL: `tdl train`'s progress display. On a terminal
# (stderr a pty, through util-linux script(1)) one bar line rewritten with a
# carriage return per epoch (epoch, steps, loss, rate, ETA) and a final
# newline; on a pipe, one plain line per epoch and no carriage return. With
# --steps the bar shows the steps attempted of the budget.
TDL="$1"
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_train_tty

ARGS="train --method mse --train synth:conversation:1:2800 --epochs 3 --lr 1e-3"
if ! command -v script >/dev/null 2>&1; then
    echo "cli_train_tty: script(1) not installed (util-linux): no pty, test skipped"
    exit 0
fi
# script -q: no banner; -e: its status is the command's; -c: the command.
# The terminal's output (stdout and stderr together) goes to $TMP/tty.
script -qec "'$TDL' --threads 1 $ARGS -o '$TMP/t.safetensors'" /dev/null \
    >"$TMP/tty" 2>&1 </dev/null
check "training on a pty succeeds" $?
cr="$(printf '\r')"
# every epoch's bar starts with a carriage return, on one line
n="$(tr '\r' '\n' <"$TMP/tty" | grep -c '^epoch [1-3]/3  steps [0-9]*  loss .*steps/s  ETA ')"
[ "$n" -eq 3 ]; check "three bar updates (epoch, steps, loss, rate, ETA)" $?
grep -q "${cr}epoch 3/3" "$TMP/tty"; check "bar rewritten in place with a carriage return" $?
grep -q "^train: wrote " "$TMP/tty" || tr '\r' '\n' <"$TMP/tty" | grep -q "^train: wrote "
check "summary line after the bar" $?

"$TDL" --threads 1 $ARGS -o "$TMP/p.safetensors" >/dev/null 2>"$TMP/pipe"
check "training on a pipe succeeds" $?
n="$(grep -c '^epoch [1-3]/3 steps [0-9]* loss .* rate .* ETA ' "$TMP/pipe")"
[ "$n" -eq 3 ]; check "three plain progress lines on a pipe" $?
! grep -q "$cr" "$TMP/pipe"; check "no carriage return on a pipe" $?

# --steps: the bar counts steps attempted of the budget (21 steps per epoch;
# 50 = two epochs and 8 steps of a third)
script -qec "'$TDL' --threads 1 train --method mse --train synth:conversation:1:2800 --steps 50 --lr 1e-3 -o '$TMP/s.safetensors'" /dev/null \
    >"$TMP/tty" 2>&1 </dev/null
check "--steps on a pty succeeds" $?
n="$(tr '\r' '\n' <"$TMP/tty" | grep -c '^epoch [1-3]  steps [0-9]*/50  loss .*steps/s  ETA ')"
[ "$n" -eq 3 ]; check "three --steps bar updates (epoch, steps/budget, loss, rate, ETA)" $?
tr '\r' '\n' <"$TMP/tty" | grep -q '^epoch 3  steps 50/50 '; check "the bar ends at 50/50" $?

cli_done cli_train_tty
