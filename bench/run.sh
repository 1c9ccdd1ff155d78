#!/bin/sh
# bench/run.sh: run every benchmark twice in one session, with OpenBLAS's
# AVX-512 kernels (tdl's default on a CPU that has them) and with its Haswell
# AVX2 kernels, and write BENCHMARKS.md. Usage: sh bench/run.sh [OUT.md]
# (from the repository root, after `make build`; `make bench` does both).
set -eu
OUT="${1:-BENCHMARKS.md}"
BIN=build/bench
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

for prog in bench_sgemm bench_conv2d bench_lstm; do
    [ -x "$BIN/$prog" ] || { echo "bench: $BIN/$prog missing: run 'make build' first" >&2; exit 1; }
done

run_both() { # NAME ARGS...: AVX-512 run then Haswell run, rows appended to $TMP/NAME
    name="$1"; shift
    echo "bench: $name (AVX-512 kernels)" >&2
    env -u TDL_NO_AVX512 "$BIN/$name" "$@" >"$TMP/$name.avx512"
    echo "bench: $name (Haswell kernels)" >&2
    TDL_NO_AVX512=1 OPENBLAS_CORETYPE=Haswell "$BIN/$name" "$@" >"$TMP/$name.haswell"
}

run_both bench_sgemm 2048
run_both bench_conv2d 2
run_both bench_lstm

# One DFL epoch on 23V: tdl (AVX-512 kernels) and the PyTorch twin, same session.
AZURE="${TDL_DATA_DIR:-../shared/data/azure}"
if [ -f "$AZURE/23V.csv" ]; then
    echo "bench: DFL epoch (tdl)" >&2
    "$BIN/bench_dfl_epoch" "$AZURE" 3 >"$TMP/dfl.tdl"
    # 2 threads again with a passive OpenMP wait, as the twin's 2 threads: on a
    # shared, busy machine a spinning wait is many times slower.
    OMP_WAIT_POLICY=PASSIVE "$BIN/bench_dfl_epoch" "$AZURE" 3 |
        sed -n 's/^| tdl DFL epoch, 23V (\([0-9]*\) steps) \(| [^|]* | 2 |\)/| tdl DFL epoch, 23V (\1 steps), OMP_WAIT_POLICY=PASSIVE \2/p' >>"$TMP/dfl.tdl"
    if /usr/bin/python3 -c "import torch" 2>/dev/null; then
        echo "bench: DFL epoch (PyTorch, 1 and 2 threads)" >&2
        /usr/bin/python3 bench/torch_dfl_epoch.py "$AZURE/23V.csv" --threads 1 --epochs 3 >"$TMP/dfl.torch"
        OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_dfl_epoch.py "$AZURE/23V.csv" \
            --threads 2 --epochs 3 >>"$TMP/dfl.torch"
    else
        echo "PyTorch not installed (scripts/setup.sh --with-torch): no twin measured" >"$TMP/dfl.torch"
    fi
else
    echo "the Azure data is absent ($AZURE): DFL epoch not measured" >"$TMP/dfl.tdl"
    : >"$TMP/dfl.torch"
fi

# speedup HASWELL_FILE AVX512_FILE COLUMN: a markdown table joining the rows
# of the two runs on (what, threads), with the first number of COLUMN (a
# time) from each and their ratio.
speedup() {
    awk -F '|' -v col="$3" '
        function trim(x) { gsub(/^ +| +$/, "", x); return x }
        FNR == NR { split($col, v, " "); hw[trim($2) "|" trim($4)] = v[1]; next }
        { k = trim($2) "|" trim($4); split($col, v, " ");
          if (k in hw) printf "| %s | %s | %s ms | %s ms | %.2f x |\n", trim($2), trim($4), hw[k], v[1], hw[k] / v[1] }
    ' "$1" "$2"
}

cpu="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
cores="$(nproc)"
mem="$(free -g | awk '/^Mem:/ {print $2 " GiB"}')"
blas="$(dpkg-query -W -f='${Package} ${Version}' libopenblas0-openmp 2>/dev/null || echo OpenBLAS)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"

{
    echo "# Benchmarks"
    echo
    echo "Measured by \`make bench\` (bench/run.sh), which runs every program in bench/"
    echo "twice in one session: with the AVX-512 kernels tdl selects on its own, and with"
    echo "\`TDL_NO_AVX512=1 OPENBLAS_CORETYPE=Haswell\` (OpenBLAS's AVX2 kernels, what this"
    echo "machine's environment presets). Times are the best of several rounds of at least"
    echo "0.3 s each; the machine is shared and noisy, so compare ratios from one run."
    echo
    echo "- date: $(date -u +%Y-%m-%d), commit $commit"
    echo "- machine: $cpu, $cores cores, $mem; $blas"
    echo
    echo "## sgemm (cblas_sgemm, row-major, square)"
    echo
    echo "| product | kernels | threads | time | rate |"
    echo "|---|---|---|---|---|"
    cat "$TMP/bench_sgemm.avx512" "$TMP/bench_sgemm.haswell"
    echo
    echo "Speed-up of the AVX-512 kernels over the Haswell ones, same run:"
    echo
    echo "| product | threads | Haswell | AVX-512 | speed-up |"
    echo "|---|---|---|---|---|"
    speedup "$TMP/bench_sgemm.haswell" "$TMP/bench_sgemm.avx512" 5
    echo
    echo "## conv2d forward and backward, batch 64 (the UNet's shapes)"
    echo
    echo "Backward computes dinp, dweight and dbias (twice the forward's FLOPs)."
    echo
    echo "| shape (B x C x HxW -> OC) | kernels | threads | forward | backward |"
    echo "|---|---|---|---|---|"
    cat "$TMP/bench_conv2d.avx512" "$TMP/bench_conv2d.haswell"
    echo
    echo "Forward + backward speed-up of the AVX-512 kernels (backward times):"
    echo
    echo "| shape | threads | Haswell | AVX-512 | speed-up |"
    echo "|---|---|---|---|---|"
    speedup "$TMP/bench_conv2d.haswell" "$TMP/bench_conv2d.avx512" 6
    echo
    echo "## One LSTM training step of the predictor (batch 64, 7 steps, 1->128->64)"
    echo
    echo "Both layers forward and backward through time; the predictor's DFL epoch on"
    echo "the 23V training rows is 168 such steps (plus LayerNorm, the head and Adam)."
    echo
    echo "| step | kernels | threads | time | rate | 168 steps |"
    echo "|---|---|---|---|---|---|"
    cat "$TMP/bench_lstm.avx512" "$TMP/bench_lstm.haswell"
    echo
    echo "| step | threads | Haswell | AVX-512 | speed-up |"
    echo "|---|---|---|---|---|"
    speedup "$TMP/bench_lstm.haswell" "$TMP/bench_lstm.avx512" 5
    echo
    echo "## One DFL training epoch on 23V (525 rows, 8 batches of 64, 168 Adam steps)"
    echo
    echo "The authors' loop with the paper's model and settings: tdl's trainer"
    echo "(bench/bench_dfl_epoch.c) against a PyTorch twin of the authors' code"
    echo "(bench/torch_dfl_epoch.py, Debian torch; 2 threads with OMP_WAIT_POLICY=PASSIVE),"
    echo "best of 3 epochs each. GFLOP/s counts the LSTM matrix products only."
    echo "tdl's 2 threads run twice: with OpenMP's default (spinning) wait and with"
    echo "OMP_WAIT_POLICY=PASSIVE, the twin's setting."
    echo
    echo "| run | kernels | threads | epoch | rate | peak RSS |"
    echo "|---|---|---|---|---|---|"
    cat "$TMP/dfl.tdl"
    echo
    sed 's/^/    /' "$TMP/dfl.torch"
    # tdl's best epoch against the twin's best (both best of 3, same session)
    best_tdl="$(awk -F '|' '/tdl DFL epoch/ { split($5, v, " "); if (b == "" || v[1] < b) b = v[1] } END { print b }' "$TMP/dfl.tdl")"
    best_torch="$(awk '/per DFL epoch/ { if (b == "" || $5 < b) b = $5 } END { print b }' "$TMP/dfl.torch")"
    if [ -n "$best_tdl" ] && [ -n "$best_torch" ]; then
        echo
        awk -v a="$best_tdl" -v b="$best_torch" 'BEGIN { printf "Best epoch: tdl %.3f s, PyTorch %.3f s: %.2f x faster.\n", a, b, b / a }'
    fi
} >"$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "bench: wrote $OUT" >&2
