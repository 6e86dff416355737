#!/usr/bin/env bash
# The main job on an embedded default: three piworkers on loopback, the
# seeds' workloads through pisubmit, answers and timings printed, workers
# stopped. Run it with `make demo` (which builds first).
set -euo pipefail

cd "$(dirname "$0")/.."
BIN=target/release
WORK=$(mktemp -d -t piworker-demo.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

# Start a worker on a free loopback port, wait for it to say where, and
# add it to HOSTS. (Not in a $(...) subshell: the worker would hold its
# pipe open, and PIDS would not be kept.)
HOSTS=""
start_worker() {
    local log="$WORK/worker$1.log"
    # The package's example job programs, as /usr/lib/piworker/jobs would hold them.
    RUST_LOG=info "$BIN/piworker" --listen 127.0.0.1:0 --job-dir "$PWD/packaging/jobs" >/dev/null 2>"$log" &
    PIDS+=($!)
    for _ in $(seq 100); do
        if grep -q "listening on" "$log"; then
            local addr
            addr=$(grep -o "listening on [0-9.:]*" "$log" | awk '{print $3}')
            HOSTS="${HOSTS:+$HOSTS,}$addr"
            return
        fi
        sleep 0.05
    done
    echo "worker $1 did not start:" >&2
    cat "$log" >&2
    exit 1
}

for i in 1 2 3; do start_worker "$i"; done
export PISUBMIT_HOSTS=$HOSTS

run() {
    echo
    echo "\$ pisubmit $*"
    local start end
    start=$(date +%s%N)
    "$BIN/pisubmit" "$@"
    end=$(date +%s%N)
    awk -v ns=$((end - start)) 'BEGIN { printf "  (%.2f s for the whole command, connecting included)\n", ns / 1e9 }'
}

echo "piworker demo: 3 workers on loopback ($HOSTS), $(nproc) cores on this machine"
run ping
echo
echo "== seed 004's wall display: each worker's health (no sensor in a VM: grey, not 0 C)"
run status
echo
echo "== seed 000: the nested loop sum, split over every core of every worker"
run loopsum
run loopsum --t-range 0..40001 --u-len 40001
echo
echo "== seed 001: Monte Carlo pi; counts come back, never coordinates"
run pi --samples 1000000
run pi --samples 100000000
echo "  seed 001's scaling study (one worker's cores first, then the next worker's):"
run bench --repeat 1 pi --samples 100000000
echo
echo "== seed 003: broadcast numbers, scatter exponents, gather the table"
run powers --nums 1,2,3,4,5,6 --exps 1,2,3,4,5
echo
echo "== seed 004: primes in [1, 10^9], and streamed to a file"
run primes --from 1 --to 1000000000
run primes --from 1 --to 10000000 --output "$WORK/primes.txt"
echo "  first: $(head -3 "$WORK/primes.txt" | tr '\n' ' ') ... last: $(tail -1 "$WORK/primes.txt")"
echo
echo "== seed 002: a 10 MB list of long integers, framed so no byte is lost"
python3 -c "
import sys
sys.stdout.write(''.join('%d\n' % (1234567890123456 + i) for i in range(600000)))" >"$WORK/longs.txt"
echo "  $(wc -c <"$WORK/longs.txt") bytes of text, 600000 numbers"
run reduce --op count --input "$WORK/longs.txt"
run reduce --op sum --input "$WORK/longs.txt"
run echo --bytes 10000000
echo
echo "== your own programs: seed 004's Python prime search as a job program, a piece per core"
run jobs
run exec primes --range 1..1000000 --pieces 12
echo
echo "== seed 004's first demo, the Game of Life: one board cut over every worker"
cat >"$WORK/rpent.rle" <<'RLE'
#N R-pentomino (LifeWiki: settles at generation 1103 with 116 cells)
x = 3, y = 3, rule = B3/S23
b2o$2ob$bo!
RLE
run life --input "$WORK/rpent.rle" --width 512 --height 512 --generations 1103
run life --random 0.3 --seed 1 --width 4096 --height 4096 --generations 500 --frames "$WORK/frames" --every 250
echo "  frames: $(ls "$WORK/frames" | tr '\n' ' ')"
echo
echo "demo done; stopping the workers"
