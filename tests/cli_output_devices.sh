#!/bin/sh
# cli_output_devices.sh TDL: device nodes as -o (issue 14, item 1). As root,
# `-o /dev/null` and `-o /dev/full` replaced the device node by a regular
# file (the temporary-file-and-rename write). The checks use copies of the
# two nodes made with mknod in a private directory (never the machine's
# own): written in place, /dev/full's ENOSPC reported with exit 1, the node
# still a character device afterwards; a training command, which keeps a
# checkpoint beside its model, refuses a device. Needs root (mknod):
# reports a skip otherwise.
TDL="$1"
export OMP_WAIT_POLICY=PASSIVE
. "$(dirname "$0")/cli_lib.sh"
cli_init cli_output_devices

if [ "$(id -u)" -ne 0 ] || ! mknod "$TMP/null" c 1 3 2>/dev/null || ! mknod "$TMP/full" c 1 7 2>/dev/null ||
    ! printf x >"$TMP/null" 2>/dev/null; then
    skip "device nodes: not root, or mknod (or opening a node) is not allowed here"
    cli_done cli_output_devices
fi
chmod 666 "$TMP/null" "$TMP/full"
nodes() { [ -c "$TMP/null" ] && [ -c "$TMP/full" ]; }
no_temp() { ! ls -a "$TMP" | grep -q '\.tmp\.'; }

expect "synth -o null" 0 "" "" -- synth --slots 1000 -o "$TMP/null"
nodes; check "null is still a character device" $?
expect "synth -o full" 1 "tdl: error: .*full: write failed: No space left on device" "" -- synth --slots 1000 -o "$TMP/full"
nodes; check "full is still a character device" $?
"$TDL" synth --slots 2800 -o "$TMP/a.csv"
expect "data corrupt -o null" 0 "" "" -- data corrupt "$TMP/a.csv" --kind gauss --level 0.1 -o "$TMP/null"
expect "data corrupt -o full" 1 "No space left on device" "" -- data corrupt "$TMP/a.csv" --kind gauss --level 0.1 -o "$TMP/full"
expect "data slots -o full" 1 "No space left on device" "" -- data slots "$(dirname "$0")/data/raw_small.csv" -o "$TMP/full"
"$TDL" --threads 2 diffusion train --train "$TMP/a.csv" --preset tiny --ch 8 --groups 4 --T 10 --iters 1 --batch 2 -o "$TMP/d.safetensors" 2>/dev/null
check "a diffusion model" $?
expect "diffusion sample -o null" 0 "" "" -- --threads 2 diffusion sample --model "$TMP/d.safetensors" --images 2 -o "$TMP/null"
expect "diffusion sample --trajectory full" 1 "No space left on device" "" -- --threads 2 diffusion sample --model "$TMP/d.safetensors" --images 2 --trajectory 2 "$TMP/full" -o "$TMP/s.csv"
nodes; check "still character devices" $?
expect "train -o null refused" 1 "tdl: error: -o: .*null is not a regular file" "" -- --threads 2 train --train "$TMP/a.csv" --epochs 1 -o "$TMP/null"
expect "diffusion train -o full refused" 1 "is not a regular file" "" -- --threads 2 diffusion train --train "$TMP/a.csv" --iters 1 -o "$TMP/full"
expect "3dl -o null refused" 1 "is not a regular file" "" -- --threads 2 train --method 3dl --train "$TMP/a.csv" -o "$TMP/null"
nodes; check "still character devices after the refusals" $?
[ ! -e "$TMP/null.ckpt.safetensors" ] && [ ! -e "$TMP/full.ckpt.safetensors" ] && no_temp
check "no checkpoint beside a device, no temporary file" $?

cli_done cli_output_devices
