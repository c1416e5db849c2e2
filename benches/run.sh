#!/usr/bin/env bash
# Every performance figure of the crate in one run, each printed beside its baseline measured in
# the same run, with the ratio:
#   decode throughput per format   vs serde_json::Value, PHP unserialize(), Python xmlrpc.client
#                                     and xml.etree.ElementTree          (benches/decode.rs)
#   calls per second over loopback vs curl with keep-alive               (benches/calls.rs)
#   1 GiB upload: throughput, RSS  vs curl -F                            (benches/upload.rs)
#   a signed call without network  vs the same steps in Python's stdlib  (benches/signed_call.rs)
#   load: 20,000 mixed calls at concurrency 64 and 50 concurrent uploads (benches/load.rs)
#   walking 2,000 documents with 20 ms of latency  vs the plain page loop   (benches/paging.rs)
#   backup and restore of 10,000 documents and 1 GiB vs curl, RSS        (benches/backup.rs)
#   calls/s through the protocol bridge vs straight to its upstream,
#   and a 1 GiB SOAP upload through it, its RSS                          (benches/bridge.rs)
# Needs php, python3 and curl on the PATH. Results go to BENCHMARKS.md by hand, with the date.
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in decode signed_call; do
  echo "== $bench"
  cargo bench --quiet --bench "$bench"
done
echo "== decode, freed memory kept for reuse (as PHP's allocator keeps it)"
GLIBC_TUNABLES=glibc.malloc.trim_threshold=4294967295 cargo bench --quiet --bench decode
for bench in calls upload load paging backup bridge; do
  echo "== $bench"
  cargo bench --quiet --features cli --bench "$bench"
done
