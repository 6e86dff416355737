#!/usr/bin/env bash
# What reading NumPy's formats costs reduce: `pisubmit reduce --op sum` of
# 1 GiB of doubles through one local worker, the same 2^27 values
#   - big-endian (`--dtype f64be`: sent as they are, no conversion), the
#     anchor: what `--dtype f64` read before it meant little-endian;
#   - little-endian (`--dtype f64`, NumPy's tofile(): byte-swapped on the
#     head while streaming);
#   - as f32 (`--dtype f32`, 512 MiB: widened to f64 on the head; the wire
#     carries 1 GiB all the same).
# With BASE_BIN=DIR, also that older build's `--dtype f64` of the
# big-endian file (printed, not in the table). Rates are MiB/s of wire
# data over the whole command; rounds are interleaved. Knobs: BENCH_REPS (5).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
reps=${BENCH_REPS:-5}
n=$((1 << 27))
mkdir -p target/bench
be=target/bench/doubles-1g.f64be le=target/bench/doubles-1g.f64 f32=target/bench/floats-512m.f32
if [ "$(stat -c %s "$le" 2>/dev/null)" != $((n * 8)) ] || [ "$(stat -c %s "$f32" 2>/dev/null)" != $((n * 4)) ]; then
    /usr/bin/python3 -c "
import numpy as np
a = np.random.default_rng(19).standard_normal($n)
a.tofile('$le'); a.astype('>f8').tofile('$be'); a.astype(np.float32).tofile('$f32')"
fi
cat "$be" "$le" "$f32" >/dev/null # from the page cache for every run
tmp=$(mktemp -d)
base_pid=''
trap 'stop_children $WORKER_PID $base_pid; rm -rf "$tmp"' EXIT
trap_signals
start_worker "$tmp/worker.log"
if [ -n "${BASE_BIN:-}" ]; then
    port=$(free_port)
    "$BASE_BIN/piworker" --listen "127.0.0.1:$port" --no-discovery 2>"$tmp/base.log" &
    base_pid=$! base=127.0.0.1:$port
    wait_for_port "$port"
fi
rate() { awk -v ms="$1" -v mib=1024 'BEGIN { printf "%.1f", mib / (ms / 1000) }'; }
sum() { # HOSTS PISUBMIT DTYPE FILE: sets MS, checks the three sums agree
    timed /dev/null "$tmp/out" "$2" --hosts "$1" --json reduce --op sum --dtype "$3" --input "$4"
    local s
    s=$(field result <"$tmp/out")
    [ -z "${want:-}" ] && want=$s
    [ "$3" = f32 ] || [ "$s" = "$want" ] || die "$2 --dtype $3: sum $s, expected $want"
}
pw_be=() pw_le=() pw_f32=() old=()
for r in $(seq 0 "$reps"); do
    sum "$WORKER" target/release/pisubmit f64be "$be"
    a=$MS
    sum "$WORKER" target/release/pisubmit f64 "$le"
    b=$MS
    sum "$WORKER" target/release/pisubmit f32 "$f32"
    c=$MS
    if [ -n "$base_pid" ]; then
        sum "$base" "$BASE_BIN/pisubmit" f64 "$be"
        old+=("$(rate "$MS")")
    fi
    [ "$r" = 0 ] && continue # warm-up
    pw_be+=("$(rate "$a")") pw_le+=("$(rate "$b")") pw_f32+=("$(rate "$c")")
    printf '  round %d: f64be %7.1f MiB/s   f64 (swapped) %7.1f   f32 (widened) %7.1f%s\n' \
        "$r" "${pw_be[-1]}" "${pw_le[-1]}" "${pw_f32[-1]}" "${old:+   base build f64 ${old[-1]}}"
done
bench_row "Large transfers" "reduce (sum) of 1 GiB of little-endian f64 (NumPy's tofile(), swapped on the head)" \
    MiB/s higher "${pw_le[*]}" "the same values big-endian (--dtype f64be, sent as they are)" "${pw_be[*]}" "ratio>=0.95"
bench_row "Large transfers" "reduce (sum) of 512 MiB of f32 (widened to 1 GiB of f64 on the head)" \
    MiB/s higher "${pw_f32[*]}" "1 GiB of big-endian f64 (--dtype f64be)" "${pw_be[*]}" "ratio>=0.9"
