#!/usr/bin/env bash
# What the --serve page costs a job: `primes --to 10^10` on one local worker
# with every core, plain and with --serve and three browsers' worth of
# /events streams reading it (curl), rounds interleaved, every count checked.
# The job's own wall time (the --json wall_ms) is compared: the page's
# threads must not slow the job. Records a row for `make bench`'s table.
# Knobs: BENCH_REPS (5), WEB_TO (1e10).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
reps=${BENCH_REPS:-5}
to=${WEB_TO:-1e10}
cargo build --release --quiet --bin piworker --bin pisubmit
tmp=$(mktemp -d)
readers=()
trap 'kill $WORKER_PID "${readers[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
start_worker "$tmp/worker.log"

# run [--serve PORT]: one primes job; prints its wall_ms and keeps its count.
run() {
    target/release/pisubmit --hosts "$WORKER" --json "$@" primes --from 1 --to "$to" >"$tmp/out"
    field result <"$tmp/out" >>"$tmp/counts"
    field wall_ms <"$tmp/out"
}
# run_served: the same with the page on, three /events readers attached as soon
# as it listens.
run_served() {
    local port reader
    port=$(free_port)
    run --serve "$port" >"$tmp/wall" &
    local job=$!
    wait_for_port "$port" 10
    readers=()
    for _ in 1 2 3; do
        curl -sN "http://127.0.0.1:$port/events" >/dev/null 2>&1 &
        readers+=($!)
    done
    wait "$job"
    for reader in "${readers[@]}"; do kill "$reader" 2>/dev/null || true; done
    cat "$tmp/wall"
}
plain=() served=()
for _ in $(seq "$reps"); do
    plain+=("$(run)")
    served+=("$(run_served)")
done
[ "$(sort -u "$tmp/counts" | wc -l)" = 1 ] || die "the counts differ: $(sort -u "$tmp/counts" | tr '\n' ' ')"
ms_to_s() { for v in "$@"; do awk -v v="$v" 'BEGIN { printf "%.3f ", v / 1000 }'; done; }
echo "primes to $to, job wall ms: plain ${plain[*]}; with --serve and 3 readers ${served[*]}"
bench_row "web page (--serve)" "primes to $to with the page served and 3 /events readers" s lower \
    "$(ms_to_s "${served[@]}")" "the same job without --serve" "$(ms_to_s "${plain[@]}")" "ratio>=0.95" \
    "the job's own wall time (--json wall_ms); the page only copies numbers on the job's thread"
