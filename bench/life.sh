#!/usr/bin/env bash
# Game of Life, issue 7's targets, all in one run on one board:
#   1. the kernel alone on one core (examples/bench_life_kernel, pinned);
#   2. end to end: pisubmit life against one local piworker using both
#      cores (load, rounds, border exchange, final gather included);
#   3. bgolly (Debian's golly) on the same board with QuickLife, its
#      single-threaded bit-parallel algorithm, on the same torus.
# Target: 2 >= 0.8 * 2 * 1. Every contender's final board must have the
# same SHA-256 (pisubmit's board hash), or the run stops.
# LIFE_SIZE (8192) and LIFE_GENS (1000) change the board; RUNS (3) the
# repeats, of which the median is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
size=${LIFE_SIZE:-8192}
gens=${LIFE_GENS:-1000}
runs=${RUNS:-3}
if ! command -v bgolly >/dev/null; then
    apt-get install -y -qq golly >/dev/null
fi
cargo build --release --quiet --bin piworker --bin pisubmit --example bench_life_kernel
bin=target/release
tmp=$(mktemp -d)
port=$(free_port)
$bin/piworker --listen "127.0.0.1:$port" 2>/dev/null &
worker=$!
trap 'kill $worker 2>/dev/null; rm -rf "$tmp"' EXIT
wait_for_port "$port"
hash_of() { $bin/pisubmit --hosts 127.0.0.1:1 --json life --input "$1" --generations 0 | field hash; }

# The board: random, density 0.3, seed 1, as RLE on a torus (rule B3/S23:T).
$bin/pisubmit --hosts 127.0.0.1:1 life --random 0.3 --seed 1 --width "$size" --height "$size" \
    --generations 0 --output "$tmp/start.rle" >/dev/null
cells=$(python3 -c "print($size * $size * $gens)")

kernel=()
for _ in $(seq "$runs"); do
    line=$(taskset -c 0 $bin/examples/bench_life_kernel "$tmp/start.rle" "$gens" 16)
    kernel+=("$(echo "$line" | sed -E 's/.* s, ([0-9.e+]+) cell updates.*/\1/')")
    kernel_hash=$(echo "$line" | sed -E 's/.*sha256 //')
done

e2e=(); e2e_wall=()
for _ in $(seq "$runs"); do
    json=$($bin/pisubmit --hosts "127.0.0.1:$port" --json life --input "$tmp/start.rle" --generations "$gens" \
        --output "$tmp/ours.rle")
    e2e+=("$(echo "$json" | field cell_updates_per_s)")
    e2e_wall+=("$(echo "$json" | field wall_ms)")
    ours_hash=$(echo "$json" | field hash)
    depth=$(echo "$json" | field exchange_every)
    exchange=$(echo "$json" | field exchange_ms)
done

golly=()
for _ in $(seq "$runs"); do
    start=$(date +%s.%N)
    bgolly -q -q -a QuickLife -m "$gens" -o "$tmp/golly.rle" "$tmp/start.rle" >/dev/null 2>&1
    end=$(date +%s.%N)
    golly+=("$(python3 -c "print($cells / ($end - $start))")")
done
golly_hash=$(hash_of "$tmp/golly.rle")

if [ "$kernel_hash" != "$ours_hash" ] || [ "$golly_hash" != "$ours_hash" ]; then
    echo "life: final boards differ: kernel $kernel_hash, pisubmit $ours_hash, bgolly $golly_hash" >&2
    exit 1
fi
k=$(printf '%s\n' "${kernel[@]}" | median)
e=$(printf '%s\n' "${e2e[@]}" | median)
w=$(printf '%s\n' "${e2e_wall[@]}" | median)
g=$(printf '%s\n' "${golly[@]}" | median)
echo "life ${size}x${size} torus, $gens generations ($(date -u +%F), $(nproc) CPUs, $(bgolly --help 2>&1 | head -1 | cut -d" " -f3,4)); medians of $runs:"
printf '  kernel, one core:            %.3e cell updates/s\n' "$k"
printf '  pisubmit life, both cores:   %.3e cell updates/s (%.0f ms wall; borders every %s generations, %s ms of exchange)\n' "$e" "$w" "$depth" "$exchange"
printf '  bgolly QuickLife, one core:  %.3e cell updates/s\n' "$g"
python3 - "$k" "$e" "$g" <<'PY'
import sys
k, e, g = map(float, sys.argv[1:])
print(f"  end to end / (2 x kernel):   {e / (2 * k):.2f}  (target >= 0.80)")
print(f"  kernel / bgolly QuickLife:   {k / g:.2f}")
print(f"  end to end / bgolly:         {e / g:.2f}")
PY
echo "  final board sha256 $ours_hash (the same from all three)"
