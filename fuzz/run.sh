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
  ./summarize.sh "$target" "$seconds" "$status" "$start" <"$log" >"results/$target.txt"
done
