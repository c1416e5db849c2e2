#!/usr/bin/env bash
# Prints the summary of one fuzz run from its libFuzzer log: executions, speed, coverage, peak
# memory, and any crash, abort, timeout or out-of-memory report.
#   fuzz/summarize.sh TARGET SECONDS STATUS STARTED < results/TARGET.log
set -uo pipefail
target=$1 seconds=$2 status=$3 started=$4
log=$(cat)
echo "target: $target"
echo "started: $started, ran ${seconds}s, exit status $status (0 = no crash, abort, timeout or OOM)"
grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' <<<"$log" | tail -n 1
grep -E '^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::peak_rss_mb)' <<<"$log"
grep -E '^==[0-9]+== ERROR|deadly signal|panicked at|out-of-memory|ALARM: working on the last Unit' <<<"$log" | head -n 5
exit 0
