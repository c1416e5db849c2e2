#!/usr/bin/env bash
# Runs fuzz targets one after another for SECONDS each (default 1800) and keeps a summary per
# target in fuzz/results/TARGET.txt: executions, coverage, peak memory, and whether it crashed.
#   fuzz/run.sh [SECONDS] TARGET...
set -uo pipefail
cd "$(dirname "$0")"
seconds=${1:-1800}; shift
mkdir -p results artifacts
python3 seed.py >/dev/null
for target in "$@"; do
  log="results/$target.log"
  start=$(date -u +%FT%TZ)
  cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 >"$log" 2>&1
  status=$?
  {
    echo "target: $target"
    echo "started: $start, ran ${seconds}s, exit status $status (0 = no crash, abort, timeout or OOM)"
    grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$log" | tail -n 1
    grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' "$log"
    grep -E 'ERROR|panicked|deadly signal|out-of-memory|timeout' "$log" | head -n 5
  } >"results/$target.txt"
done
