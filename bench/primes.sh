#!/usr/bin/env bash
# Counting primes, through one local worker on every core:
#   - up to 10^9: `pisubmit primes` against Debian's primesieve with as
#     many threads (the specialist: a wheel-of-210 segmented sieve);
#   - up to 5·10^6 (PRIMES_PY_TO): against seed 004's own Python worker
#     (bench/seed004.py), one process per core, each given an equal block
#     of the range as the seed's distribution script does. Up to 10^9 the
#     seed's trial division would take hours.
# Whole commands are timed; rounds are interleaved; every count is checked.
# Records rows for `make bench`'s table. Knobs: BENCH_REPS (5),
# PRIMES_PY_REPS (3), PRIMES_PY_TO (5000000).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
reps=${BENCH_REPS:-5}
py_reps=${PRIMES_PY_REPS:-3}
py_to=${PRIMES_PY_TO:-5000000}
threads=$(nproc)
tmp=$(mktemp -d)
trap 'kill $WORKER_PID 2>/dev/null; rm -rf "$tmp"' EXIT
start_worker "$tmp/worker.log"

pisubmit_count() { # TO: runs pisubmit, checks the count against primesieve's
    target/release/pisubmit --hosts "$WORKER" --json primes --from 1 --to "$1"
}
# The seed's workers: equal blocks of [1, TO], one process each, counts added.
seed_python() {
    local to=$1 i lo hi pids=()
    for i in $(seq 0 $((threads - 1))); do
        lo=$((1 + to * i / threads))
        hi=$((to * (i + 1) / threads))
        /usr/bin/python3 bench/seed004.py "$lo" "$hi" >"$tmp/py$i" &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    cat "$tmp"/py* | sed 's/count=\([0-9]*\).*/\1/' | awk '{ n += $1 } END { print "count=" n }'
}
count_of() { grep -o '"result":[0-9]*\|count=[0-9]*\|^[0-9]*$' "$1" | head -1 | sed 's/.*[:=]//'; }

big=1000000000
truth=$(primesieve "$big" -t "$threads" -q -c)
py_truth=$(primesieve "$py_to" -q -c)
pw=() ps=()
for r in $(seq 0 "$reps"); do
    timed /dev/null "$tmp/out" pisubmit_count $big
    a=$MS
    [ "$(count_of "$tmp/out")" = "$truth" ] || { echo "bench: pisubmit counted $(count_of "$tmp/out"), primesieve $truth" >&2; exit 1; }
    timed /dev/null "$tmp/out" primesieve $big -t "$threads" -q -c
    b=$MS
    [ "$(count_of "$tmp/out")" = "$truth" ] || die "primesieve disagrees with itself"
    [ "$r" = 0 ] && continue # warm-up
    pw+=("$a") ps+=("$b")
    printf '  round %d: primes to 10^9: pisubmit %7.1f ms   primesieve -t%d %7.1f ms\n' "$r" "$a" "$threads" "$b"
done
pw_small=() py=()
for r in $(seq 1 "$py_reps"); do
    timed /dev/null "$tmp/out" pisubmit_count "$py_to"
    a=$MS
    [ "$(count_of "$tmp/out")" = "$py_truth" ] || { echo "bench: pisubmit counted $(count_of "$tmp/out") to $py_to" >&2; exit 1; }
    timed /dev/null "$tmp/out" seed_python "$py_to"
    b=$MS
    [ "$(count_of "$tmp/out")" = "$py_truth" ] || { echo "bench: the seed's Python counted $(count_of "$tmp/out")" >&2; exit 1; }
    pw_small+=("$a") py+=("$b")
    printf '  round %d: primes to %s: pisubmit %7.1f ms   seed 004 Python x%d %9.1f ms\n' "$r" "$py_to" "${a}" "$threads" "$b"
done
bench_row "Counting primes" "up to 10^9 ($truth), $threads threads, whole command" ms lower "${pw[*]}" \
    "primesieve $(primesieve --version | head -1 | awk '{print $2}' | tr -d ,) -t$threads" "${ps[*]}" "ratio>=0.333"
bench_row "Counting primes" "up to $py_to ($py_truth), whole command" ms lower "${pw_small[*]}" \
    "seed 004's Python, $threads processes" "${py[*]}" "-"
