#!/usr/bin/env bash
# Seed 000's loop (sum of t*u*c, t and u in [0, 4001), the post's own
# size): pisubmit loopsum through one local worker on every core, against
# the seed's Python with its four threads, and plain C -O2 with one
# pinned thread per core (bench/loopsum.c). Each is timed as a whole
# command; rounds are interleaved. Records rows for `make bench`'s table.
# Knobs: BENCH_REPS (5).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
reps=${BENCH_REPS:-5}
n=4001
exact=64032004000000 # (4000 * 4001 / 2)^2
mkdir -p target/bench
cc -O2 -pthread -o target/bench/loopsum bench/loopsum.c
tmp=$(mktemp -d)
trap 'kill $WORKER_PID 2>/dev/null; rm -rf "$tmp"' EXIT
start_worker "$tmp/worker.log"

check() { # NAME FILE: the total printed must be exactly the exact sum
    local v
    v=$(grep -o '"result":[^,}]*\|total=[^ ]*' "$2" | head -1 | sed 's/.*[:=]//')
    awk -v v="$v" -v e="$exact" 'BEGIN { exit !(v == e) }' || die "$1 gave $v, not $exact"
}
pw=() py=() c=()
for r in $(seq 0 "$reps"); do
    timed /dev/null "$tmp/pw" target/release/pisubmit --hosts "$WORKER" --json loopsum --t-range 0..$n --u-len $n
    a=$MS
    check pisubmit "$tmp/pw"
    timed /dev/null "$tmp/c" target/bench/loopsum 0 $n $n 1.0 "$(nproc)"
    b=$MS
    check loopsum.c "$tmp/c"
    timed /dev/null "$tmp/py" /usr/bin/python3 bench/seed000.py $n $n 4
    d=$MS
    check seed000.py "$tmp/py"
    if [ "$r" = 0 ]; then continue; fi # warm-up
    pw+=("$a") c+=("$b") py+=("$d")
    printf '  round %d: pisubmit %8.1f ms   C -O2 %8.1f ms   seed Python (4 threads) %8.1f ms\n' "$r" "$a" "$b" "$d"
done
echo "seed 000's loop, ${n}^2, whole commands: pisubmit $(printf '%s\n' "${pw[@]}" | median) ms," \
    "C $(printf '%s\n' "${c[@]}" | median) ms, Python $(printf '%s\n' "${py[@]}" | median) ms (medians of $reps)"
size="t, u in [0, $n) as in the post, whole command"
bench_row "Seed 000's loop" "$size" ms lower "${pw[*]}" "the seed's Python, 4 threads" "${py[*]}" "ratio>=1"
bench_row "Seed 000's loop" "$size" ms lower "${pw[*]}" "C -O2, $(nproc) pinned threads" "${c[*]}" "-"
