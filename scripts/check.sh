#!/bin/sh
# Run the test suite twice: the release build (build/) and the build under
# AddressSanitizer + UndefinedBehaviorSanitizer (build-sanitize/), then the
# serving path's threads test under ThreadSanitizer (build-tsan/, when built).
# Prints each CTest report and ends with one summary line over all runs:
#   check: N passed, N failed
# Tests CTest reports as skipped (exit 77: missing data, torch, root) are not
# counted as passed; a line before the summary counts and names them.
set -u
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

total_pass=0
total_fail=0
total_skip=0
skipped_names=""
status=0
for dir in build build-sanitize; do
    echo "== tests in $dir"
    out=$(cd "$dir" && ctest --output-on-failure 2>&1)
    rc=$?
    echo "$out"
    line=$(echo "$out" | grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' | tail -n 1)
    if [ -z "$line" ]; then
        echo "check: no CTest summary from $dir" >&2
        total_fail=$((total_fail + 1))
        status=1
        continue
    fi
    failed=$(echo "$line" | sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/')
    count=$(echo "$line" | sed -E 's/.* failed out of ([0-9]+).*/\1/')
    # CTest counts a skipped test among the passed ones
    skips=$(echo "$out" | sed -n -E 's/^[[:space:]]*[0-9]+ - (.*) \(Skipped\)$/\1/p')
    nskip=0
    if [ -n "$skips" ]; then
        nskip=$(echo "$skips" | wc -l)
        skipped_names="$skipped_names $(echo "$skips" | sed "s|\$|($dir)|" | tr '\n' ' ')"
    fi
    total_skip=$((total_skip + nskip))
    total_pass=$((total_pass + count - failed - nskip))
    total_fail=$((total_fail + failed))
    [ "$rc" -ne 0 ] && status=1
done
# The serving path's threads test under ThreadSanitizer (make build-tsan
# builds only that test there).
if [ -x build-tsan/tests/test_provisioner ]; then
    echo "== test_provisioner_threads in build-tsan (ThreadSanitizer)"
    out=$(cd build-tsan && TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1}" \
        ctest --output-on-failure -R test_provisioner_threads 2>&1)
    rc=$?
    echo "$out"
    if [ "$rc" -eq 0 ]; then total_pass=$((total_pass + 1))
    else total_fail=$((total_fail + 1)); status=1; fi
fi
[ "$total_fail" -ne 0 ] && status=1
[ "$total_skip" -ne 0 ] && echo "check: $total_skip skipped (not counted as passed):$skipped_names"
echo "check: $total_pass passed, $total_fail failed"
exit $status
