#!/usr/bin/env bash
# Large transfers over loopback, 1 GiB each, through one local worker:
#   - `pisubmit echo` (the bytes go to the worker and come back, checked)
#     against a raw TCP echo of as many bytes (bench/pingpong.c bulk);
#   - `pisubmit reduce --op sum --dtype i64` of a 1 GiB file (the data goes
#     one way, the sum comes back) against a raw one-way copy of the same
#     file to a sink that answers with the byte count (pingpong send/sink).
# Rates are MiB/s over the whole command; rounds are interleaved. Records
# rows for `make bench`'s table. Knobs: BENCH_REPS (5).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
reps=${BENCH_REPS:-5}
mib=1024
mkdir -p target/bench
cc -O2 -pthread -o target/bench/pingpong bench/pingpong.c
data=target/bench/ints-1g.i64
n=$((mib * 1024 * 1024 / 8))
expect=$((n * (n - 1) / 2)) # the file holds 0, 1, ..., n-1
if [ ! -s "$data" ] || [ "$(stat -c %s "$data")" != $((mib * 1024 * 1024)) ]; then
    /usr/bin/python3 -c "import numpy; numpy.arange($n, dtype='>i8').tofile('$data')"
fi
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" $WORKER_PID 2>/dev/null; rm -rf "$tmp"' EXIT
start_worker "$tmp/worker.log"
echo_port=$(free_port)
target/bench/pingpong server "$echo_port" 2>/dev/null &
pids+=($!)
sink_port=$(free_port)
target/bench/pingpong sink "$sink_port" 2>/dev/null &
pids+=($!)
wait_for_port "$echo_port"
wait_for_port "$sink_port"
cat "$data" >/dev/null # both sides read it from the page cache

rate() { awk -v ms="$1" -v m="$mib" 'BEGIN { printf "%.1f\n", m / (ms / 1000) }'; }
pw_echo=() raw_echo=() pw_reduce=() raw_send=()
for r in $(seq 0 "$reps"); do
    timed /dev/null "$tmp/out" target/release/pisubmit --hosts "$WORKER" --json echo --bytes $((mib * 1024 * 1024))
    a=$MS
    timed /dev/null "$tmp/out" target/bench/pingpong bulk "$echo_port" $mib
    b=$MS
    timed /dev/null "$tmp/out" target/release/pisubmit --hosts "$WORKER" --json reduce --op sum --dtype i64be --input "$data"
    c=$MS
    sum=$(field result <"$tmp/out")
    [ "$sum" = "$expect" ] || die "reduce gave $sum, not $expect"
    timed /dev/null "$tmp/out" target/bench/pingpong send "$sink_port" "$data"
    d=$MS
    [ "$r" = 0 ] && continue # warm-up
    pw_echo+=("$(rate "$a")") raw_echo+=("$(rate "$b")") pw_reduce+=("$(rate "$c")") raw_send+=("$(rate "$d")")
    printf '  round %d: echo %7.1f MiB/s (raw %7.1f)   reduce %7.1f MiB/s (raw one-way %7.1f)\n' \
        "$r" "${pw_echo[-1]}" "${raw_echo[-1]}" "${pw_reduce[-1]}" "${raw_send[-1]}"
done
bench_row "Large transfers" "echo of 1 GiB, there and back" MiB/s higher "${pw_echo[*]}" \
    "raw TCP echo (C, read/write)" "${raw_echo[*]}" "-"
bench_row "Large transfers" "reduce (sum) of a 1 GiB file of i64" MiB/s higher "${pw_reduce[*]}" \
    "raw one-way TCP copy of the file (C)" "${raw_send[*]}" "ratio>=0.5"
