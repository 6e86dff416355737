#!/usr/bin/env bash
# bench/limits.sh: what the abuse defences (allow-list, limits, deadlines,
# held jobs) cost on the core benchmarks, measured against the worker as it
# was before them, in the same run (part of `make bench`).
#
# BEFORE (default 1a50da4, the last commit without them) is built from git
# into target/bench/before; both workers run side by side on loopback and
# are measured in alternation: sequential empty jobs (round trip),
# pipelined empty jobs (throughput), and 400 MB through echo (bytes).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
BEFORE=${BENCH_BEFORE:-1a50da4}
REPS=${BENCH_REPS:-5}
OUT=target/bench
WORK=$(mktemp -d -t piworker-limits.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$OUT/before/piworker-$BEFORE" ]; then
    echo "building piworker at $BEFORE for comparison..."
    mkdir -p "$OUT/before"
    git archive --format=tar "$BEFORE" | tar -x -C "$WORK"
    (cd "$WORK" && cargo build --release --bin piworker -q --target-dir "$PWD/../limits-target" 2>&1 | tail -3)
    cp "$WORK/../limits-target/release/piworker" "$OUT/before/piworker-$BEFORE"
    rm -rf "$WORK/../limits-target"
fi
cargo build --release --example bench_rtt -q

declare -A ADDR
start() { # NAME BINARY
    local log=$WORK/$1.log
    RUST_LOG=info "$2" --listen 127.0.0.1:0 2>"$log" &
    PIDS+=($!)
    for _ in $(seq 100); do
        grep -q "listening on" "$log" && { ADDR[$1]=$(grep -o "listening on [0-9.:]*" "$log" | awk '{print $3}'); return; }
        sleep 0.05
    done
    echo "bench: $1 did not start" >&2; exit 1
}
start before "$OUT/before/piworker-$BEFORE"
start after target/release/piworker

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
rtt() { target/release/examples/bench_rtt "$1" --seq 20000 | grep -o 'seq_rtt_us_median=[0-9.]*' | cut -d= -f2; }
pipe() { target/release/examples/bench_rtt "$1" --pipe 500000 --window 256 | grep -o 'pipe_jobs_per_s=[0-9.]*' | cut -d= -f2; }
echo_ms() { target/release/pisubmit --hosts "$1" --json echo --bytes 400000000 | python3 -c "import json,sys; print(json.load(sys.stdin)['wall_ms'])"; }

declare -A R
for name in before after; do R[rtt_$name]=""; R[pipe_$name]=""; R[echo_$name]=""; done
for r in $(seq "$REPS"); do
    for name in before after; do
        R[rtt_$name]+=" $(rtt "${ADDR[$name]}")"
        R[pipe_$name]+=" $(pipe "${ADDR[$name]}")"
        R[echo_$name]+=" $(echo_ms "${ADDR[$name]}")"
    done
    echo "   round $r done"
done
fmt="%-40s %14s %14s %9s\n"
echo
echo "Results (medians of $REPS alternating rounds; load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
printf "$fmt" "measure" "before ($BEFORE)" "after" "cost"
for m in rtt pipe echo; do
    b=$(median ${R[${m}_before]}); a=$(median ${R[${m}_after]})
    case $m in
        rtt) label="empty job round trip (us)"; cost=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%+.1f %%", (a/b-1)*100}');;
        pipe) label="pipelined empty jobs per second"; cost=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%+.1f %%", (b/a-1)*100}');;
        echo) label="echo 400 MB, wall (ms)"; cost=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%+.1f %%", (a/b-1)*100}');;
    esac
    printf "$fmt" "$label" "$b" "$a" "$cost"
done
echo "(cost: how much slower the current worker is; negative means faster; target under 5 %)"
