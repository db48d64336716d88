#!/usr/bin/env bash
# Runs `make test` RUNS times in a row (default 5) while two CPU-bound processes run beside it,
# as on a busy 2-core machine, and prints each run's time and result. Exits non-zero when any
# run failed.
#   scripts/suite_under_load.sh [RUNS]
set -uo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
busy=()
for _ in 1 2; do
    python3 -c 'while True: pass' &
    busy+=($!)
done
trap 'kill "${busy[@]}" 2>/dev/null' EXIT
failed=0
for run in $(seq 1 "$runs"); do
    start=$(date +%s)
    if make test >"/tmp/suite_under_load.$run.log" 2>&1; then result=passed; else result=FAILED; failed=1; fi
    end=$(date +%s)
    summary=$(grep -E '(passed|failed)' "/tmp/suite_under_load.$run.log" | tail -1)
    echo "run $run: $result in $((end - start)) s: $summary"
done
exit "$failed"
