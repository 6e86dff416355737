#!/usr/bin/env bash
# ExactSum (f64 sums of reduce and loopsum), before and after the exact
# superaccumulator, in the same run:
#   1. examples/bench_exact_sum on one core: values added per second by the
#      superaccumulator and by the Shewchuk partials it replaced, on the same
#      data, and loopsum's one-thread kernel with each;
#   2. whole jobs through one local worker: `pisubmit reduce --op sum
#      --dtype f64` of a file of random doubles (MiB/s over the command) and
#      a loopsum (ms) with seed 000's kernel, with this build and, when BASE_BIN names a
#      directory holding an older build's piworker and pisubmit, with that
#      one too, rounds interleaved, checking both give the same bits.
# Printed, not recorded in `make bench`'s table. Knobs: BENCH_REPS (5),
# BENCH_MIB (256), BENCH_LOOPSUM (20001: t, u in [0, 20001)), BASE_BIN,
# SKIP_KERNEL (set: skip part 1).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
reps=${BENCH_REPS:-5}
mib=${BENCH_MIB:-256}
side=${BENCH_LOOPSUM:-20001} # loopsum over t, u in [0, side)
cargo build --release --quiet --bin piworker --bin pisubmit --example bench_exact_sum
mkdir -p target/bench
if [ -z "${SKIP_KERNEL:-}" ]; then
    echo "1. ExactSum alone on one core, before (Shewchuk) and after (superaccumulator)"
    taskset -c 0 target/release/examples/bench_exact_sum 16 "$reps"
fi

data=target/bench/doubles-${mib}m.f64
if [ ! -s "$data" ] || [ "$(stat -c %s "$data")" != $((mib * 1024 * 1024)) ]; then
    target/release/examples/bench_exact_sum write "$data" "$mib"
fi
cat "$data" >/dev/null # read from the page cache by every build alike
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
builds=(target/release)
[ -n "${BASE_BIN:-}" ] && builds+=("$BASE_BIN")
hosts=()
for b in "${builds[@]}"; do
    [ -x "$b/piworker" ] && [ -x "$b/pisubmit" ] || die "$b has no piworker and pisubmit"
    port=$(free_port)
    "$b/piworker" --listen "127.0.0.1:$port" --no-discovery 2>"$tmp/worker-$port.log" &
    pids+=($!)
    wait_for_port "$port"
    hosts+=("127.0.0.1:$port")
done

rate() { awk -v ms="$1" -v m="$mib" 'BEGIN { printf "%.1f\n", m / (ms / 1000) }'; }
reduce=() loopsum=() result=() looped=()
for r in $(seq 0 "$reps"); do
    for i in "${!builds[@]}"; do
        b=${builds[$i]}
        timed /dev/null "$tmp/out" "$b/pisubmit" --hosts "${hosts[$i]}" --json reduce --op sum --dtype "$(be_dtype "$b/pisubmit" f64)" --input "$data"
        a=$MS
        result[$i]=$(field result <"$tmp/out")
        timed /dev/null "$tmp/out" "$b/pisubmit" --hosts "${hosts[$i]}" --json loopsum --t-range 0..$side --u-len $side
        looped[$i]=$(field result <"$tmp/out")
        [ "$r" = 0 ] && continue # warm-up
        reduce[$i]+="$(rate "$a") "
        loopsum[$i]+="$MS "
    done
    last=$((${#builds[@]} - 1))
    [ "${result[0]}" = "${result[$last]}" ] || die "the builds' reduce sums differ: ${result[*]}"
    [ "${looped[0]}" = "${looped[$last]}" ] || die "the builds' loopsums differ: ${looped[*]}"
done
echo "2. whole jobs on one local worker (median of $reps rounds; reduce ${result[0]}, loopsum ${looped[0]})"
for i in "${!builds[@]}"; do
    printf '  %-20s reduce f64 sum of %d MiB: %8.1f MiB/s   loopsum %dx%d: %8.1f ms\n' "${builds[$i]}" "$mib" \
        "$(tr ' ' '\n' <<<"${reduce[$i]}" | grep . | median)" "$side" "$side" "$(tr ' ' '\n' <<<"${loopsum[$i]}" | grep . | median)"
done
