#!/usr/bin/env bash
# bench/versus.sh: this tree against an earlier commit, in one run, on the
# paths a change to the protocol or the daemon could slow down:
#   - an empty job's round trip, sequential (examples/bench_rtt.rs);
#   - empty jobs pipelined, 64 in flight (the same program);
#   - a 1 GiB echo, there and back, and a 1 GiB reduce (sum of i64, and
#     exact sum of f64), through one local worker;
#   - the primes to 10^9 written to a file (480 MiB of text; the two
#     builds' files must be the same bytes), and the payload bytes a prime
#     pisubmit received for them (a job log's Receive column: 8 for u64
#     primes, about 1 since protocol 1.4's gaps).
# Each round runs the old build and then the new one (each its own worker,
# client and bench_rtt), so both see the same machine; the rows' anchor is
# the old build, and "ratio>=0.95" means "within 5% of it".
#
#   bash bench/versus.sh [REV]   # REV defaults to $BENCH_BASE, then 07e4754
#
# The old build is made once in target/versus/REV (a git worktree, release
# profile); the new one is target/release (`make bench` builds it).
# Knobs: BENCH_REPS (5), BENCH_RTT_COUNT (20000), BENCH_PIPE_COUNT (500000).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
trap_signals

rev=${1:-${BENCH_BASE:-07e4754}}
reps=${BENCH_REPS:-5}
rtt_count=${BENCH_RTT_COUNT:-20000}
pipe_count=${BENCH_PIPE_COUNT:-500000}
mib=1024
base=target/versus/$rev
short=$(git rev-parse --short "$rev^{commit}") || die "$rev is not a commit"

# ---- the two builds --------------------------------------------------------
if [ ! -x "$base/target/release/piworker" ] || [ ! -x "$base/target/release/examples/bench_rtt" ]; then
    rm -rf "$base"
    git worktree prune
    git worktree add --detach "$base" "$rev" >/dev/null
    (cd "$base" && cargo build --release --bins --example bench_rtt)
fi
cargo build --release --bins --example bench_rtt
old=$base/target/release
new=target/release

# ---- data: 1 GiB of i64 0..n, and 1 GiB of f64 (big-endian, as reduce reads)
mkdir -p target/bench
n=$((mib * 1024 * 1024 / 8))
ints=target/bench/ints-1g.i64
floats=target/bench/floats-1g.f64
[ "$(stat -c %s "$ints" 2>/dev/null)" = $((n * 8)) ] ||
    /usr/bin/python3 -c "import numpy; numpy.arange($n, dtype='>i8').tofile('$ints')"
[ "$(stat -c %s "$floats" 2>/dev/null)" = $((n * 8)) ] ||
    /usr/bin/python3 -c "
import numpy
rng = numpy.random.default_rng(7)
rng.standard_normal($n).astype('>f8').tofile('$floats')"
cat "$ints" "$floats" >/dev/null # from the page cache for both builds

tmp=$(mktemp -d)
old_pid='' new_pid=''
trap 'stop_children $old_pid $new_pid; rm -rf "$tmp"' EXIT

# worker BIN_DIR LOG: starts that build's worker; sets PID and ADDR.
worker() {
    local port
    port=$(free_port)
    "$1/piworker" --listen "127.0.0.1:$port" --no-discovery 2>"$2" &
    PID=$!
    ADDR=127.0.0.1:$port
    wait_for_port "$port"
}
worker "$old" "$tmp/old.log"
old_pid=$PID old_addr=$ADDR
worker "$new" "$tmp/new.log"
new_pid=$PID new_addr=$ADDR

kv() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'; }
rate() { awk -v ms="$1" -v m="$mib" 'BEGIN { printf "%.1f\n", m / (ms / 1000) }'; }

# one NAME BIN_DIR ADDR: one round of every measure; prints
# "rtt pipe echo i64 f64 primes" and keeps the f64 sum in $tmp/f64.NAME
# and the primes in $tmp/primes.NAME.
one() {
    local name=$1 bin=$2 addr=$3 out rtt pipe e i f p
    out=$(timeout 300 "$bin/examples/bench_rtt" "$addr" --seq "$rtt_count" --pipe 0) || die "bench_rtt: $out"
    rtt=$(kv seq_rtt_us_median <<<"$out")
    out=$(timeout 300 "$bin/examples/bench_rtt" "$addr" --seq 0 --warmup 0 --pipe "$pipe_count" --window 64) ||
        die "bench_rtt: $out"
    pipe=$(kv pipe_jobs_per_s <<<"$out")
    timed /dev/null "$tmp/out" "$bin/pisubmit" --hosts "$addr" --json echo --bytes $((mib * 1024 * 1024))
    e=$(rate "$MS")
    timed /dev/null "$tmp/out" "$bin/pisubmit" --hosts "$addr" --json reduce --op sum --dtype "$(be_dtype "$bin/pisubmit" i64)" --input "$ints"
    [ "$(field result <"$tmp/out")" = $((n * (n - 1) / 2)) ] || die "$bin: the i64 sum is wrong"
    i=$(rate "$MS")
    timed /dev/null "$tmp/out" "$bin/pisubmit" --hosts "$addr" --json reduce --op sum --dtype "$(be_dtype "$bin/pisubmit" f64)" --input "$floats"
    field result <"$tmp/out" >"$tmp/f64.$name"
    f=$(rate "$MS")
    rm -f "$tmp/primes.$name"
    timed /dev/null "$tmp/out" "$bin/pisubmit" --hosts "$addr" --quiet primes --from 1 --to 1e9 --output "$tmp/primes.$name"
    p=$MS
    echo "$rtt $pipe $e $i $f $p"
}

# received BIN_DIR ADDR: payload bytes a prime that pisubmit received for
# the primes to 10^9 --output, from a job log (partials and results).
received() {
    rm -f "$tmp/primes.log" "$tmp/primes.logged"
    "$1/pisubmit" --hosts "$2" --quiet --joblog "$tmp/primes.log" primes --from 1 --to 1e9 \
        --output "$tmp/primes.logged" >/dev/null || die "$1/pisubmit primes --joblog failed"
    awk -F'\t' '!/^#/ && $1 != "Seq" { r += $7 } END { printf "%.4f\n", r / 50847534 }' "$tmp/primes.log"
    rm -f "$tmp/primes.logged"
}

names=(rtt pipe echo i64 f64 primes)
declare -A samples
one old "$old" "$old_addr" >/dev/null # warm-up, both
one new "$new" "$new_addr" >/dev/null
for r in $(seq "$reps"); do
    read -r -a o <<<"$(one old "$old" "$old_addr")"
    read -r -a w <<<"$(one new "$new" "$new_addr")"
    for k in "${!names[@]}"; do
        samples[old_${names[k]}]+="${o[k]} "
        samples[new_${names[k]}]+="${w[k]} "
    done
    printf '  round %d: rtt %s/%s us  pipelined %s/%s jobs/s  echo %s/%s  i64 %s/%s  f64 %s/%s MiB/s  primes %s/%s ms (old/new)\n' \
        "$r" "${o[0]}" "${w[0]}" "${o[1]}" "${w[1]}" "${o[2]}" "${w[2]}" "${o[3]}" "${w[3]}" "${o[4]}" "${w[4]}" "${o[5]}" "${w[5]}"
    cmp -s "$tmp/primes.old" "$tmp/primes.new" || die "the two builds wrote different primes files"
done
rm -f "$tmp/primes.old" "$tmp/primes.new"
old_bytes=$(received "$old" "$old_addr")
new_bytes=$(received "$new" "$new_addr")
echo "  primes to 10^9 --output: $old_bytes/$new_bytes payload bytes received a prime (old/new)"
# Both builds must give the same f64 sum: an exact sum's bits depend on
# neither the build nor the split (this data never nears f64's range).
cmp -s "$tmp/f64.old" "$tmp/f64.new" || die "the two builds' f64 sums differ: $(cat "$tmp/f64.old" "$tmp/f64.new")"

section="Against the previous build ($short)"
anchor="piworker at $short"
bench_row "$section" "empty job round trip, sequential (median of $rtt_count)" µs lower \
    "${samples[new_rtt]}" "$anchor" "${samples[old_rtt]}" "ratio>=0.95"
bench_row "$section" "empty jobs pipelined, 64 in flight" jobs/s higher \
    "${samples[new_pipe]}" "$anchor" "${samples[old_pipe]}" "ratio>=0.95"
bench_row "$section" "echo of 1 GiB, there and back" MiB/s higher \
    "${samples[new_echo]}" "$anchor" "${samples[old_echo]}" "ratio>=0.95"
bench_row "$section" "reduce (sum) of a 1 GiB file of i64" MiB/s higher \
    "${samples[new_i64]}" "$anchor" "${samples[old_i64]}" "ratio>=0.95"
bench_row "$section" "reduce (exact sum) of a 1 GiB file of f64" MiB/s higher \
    "${samples[new_f64]}" "$anchor" "${samples[old_f64]}" "ratio>=0.95"
bench_row "$section" "primes to 10^9 --output FILE, whole command" ms lower \
    "${samples[new_primes]}" "$anchor" "${samples[old_primes]}" "ratio>=0.95"
bench_row "$section" "primes to 10^9 --output: payload bytes received a prime (job log)" B lower \
    "$new_bytes" "$anchor" "$old_bytes" "value<=1.2"
