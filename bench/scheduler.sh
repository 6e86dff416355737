#!/usr/bin/env bash
# bench/scheduler.sh: what dynamic scheduling costs, and what losing a
# worker costs (part of `make bench`).
#
#   1. one job of several seconds on one local worker using both cores,
#      versus the same job over four workers (two pinned to each core, one
#      thread each): the four-worker run pays for four connections, twice
#      the pieces in flight and the scheduler's bookkeeping;
#   2. the same four-worker run with one worker killed (SIGKILL) or frozen
#      (SIGSTOP) a second and a half in: the extra time against the bound
#      "compute time of the pieces it lost + the time to notice".
#
# Only 127.0.0.1 is used; every process started here is stopped on exit.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
BIN=target/release
REPS=${BENCH_REPS:-3}
JOB=(loopsum --t-range 0..100001 --u-len 100001)   # 10^10 iterations
HEARTBEAT=3
WORK=$(mktemp -d -t piworker-sched-bench.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -CONT "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_worker NAME [taskset CPU] [piworker args...]: sets ADDR[NAME], PID[NAME]
declare -A ADDR PID
start_worker() {
    local name=$1 cpu=$2; shift 2
    local log=$WORK/$name.log
    if [ "$cpu" = all ]; then
        RUST_LOG=info "$BIN/piworker" --listen 127.0.0.1:0 "$@" 2>"$log" &
    else
        RUST_LOG=info taskset -c "$cpu" "$BIN/piworker" --listen 127.0.0.1:0 "$@" 2>"$log" &
    fi
    PID[$name]=$!
    PIDS+=("${PID[$name]}")
    for _ in $(seq 100); do
        if grep -q "listening on" "$log"; then
            ADDR[$name]=$(grep -o "listening on [0-9.:]*" "$log" | awk '{print $3}')
            return
        fi
        sleep 0.05
    done
    echo "bench: worker $name did not start" >&2; cat "$log" >&2; exit 1
}

field() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval('v'+sys.argv[1]))" "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
calc() { awk "BEGIN { printf \"%.3f\", $1 }"; }

start_worker one all
for i in 1 2 3 4; do start_worker "w$i" $(( (i - 1) % $(nproc) )) --threads 1; done
FOUR="${ADDR[w1]},${ADDR[w2]},${ADDR[w3]},${ADDR[w4]}"

echo "== 1. one worker on all cores vs four single-thread workers, ${REPS} rounds: ${JOB[*]}"
ONE=() MANY=() RESULTS=()
for r in $(seq "$REPS"); do
    a=$("$BIN/pisubmit" --hosts "${ADDR[one]}" --json "${JOB[@]}")
    b=$("$BIN/pisubmit" --hosts "$FOUR" --json "${JOB[@]}")
    ONE+=("$(echo "$a" | field "['wall_ms']")")
    MANY+=("$(echo "$b" | field "['wall_ms']")")
    RESULTS+=("$(echo "$a" | field "['result']")" "$(echo "$b" | field "['result']")")
    PIECES=$(echo "$b" | field "['hosts'][0]['pieces']+v['hosts'][1]['pieces']+v['hosts'][2]['pieces']+v['hosts'][3]['pieces']")
    echo "   round $r: one worker ${ONE[-1]} ms, four workers ${MANY[-1]} ms ($PIECES pieces)"
done
[ "$(printf '%s\n' "${RESULTS[@]}" | sort -u | wc -l)" = 1 ] || { echo "bench: answers differ: ${RESULTS[*]}" >&2; exit 1; }
M_ONE=$(median "${ONE[@]}"); M_MANY=$(median "${MANY[@]}")
OVERHEAD=$(calc "($M_MANY / $M_ONE - 1) * 100")

# One piece alone on one single-thread worker: its compute time when it
# has a core to itself; two workers share each core here, so twice that.
piece_rows=$(( (1 << 26) / 100001 ))
P=()
for _ in 1 2 3; do
    P+=("$("$BIN/pisubmit" --hosts "${ADDR[w1]}" --json loopsum --t-range "0..$piece_rows" --u-len 100001 | field "['wall_ms']")")
done
PIECE_MS=$(calc "2 * $(median "${P[@]}")")

fault_run() { # SIGNAL: prints "extra_ms lost_pieces"
    local sig=$1
    "$BIN/pisubmit" --hosts "$FOUR" --json --heartbeat-timeout "$HEARTBEAT" "${JOB[@]}" >"$WORK/fault.json" 2>"$WORK/fault.err" &
    local sub=$!
    sleep 1.5
    kill "-$sig" "${PID[w4]}"
    wait "$sub" || { cat "$WORK/fault.err" >&2; exit 1; }
    local wall lost result
    wall=$(field "['wall_ms']" <"$WORK/fault.json")
    lost=$(field "['hosts'][3]['failures']" <"$WORK/fault.json")
    result=$(field "['result']" <"$WORK/fault.json")
    [ "$result" = "${RESULTS[0]}" ] || { echo "bench: wrong answer after $sig: $result" >&2; exit 1; }
    echo "$(calc "$wall - $M_MANY") $lost"
}

echo "== 2. a worker lost 1.5 s into the four-worker run"
read -r EXTRA_STOP LOST_STOP < <(fault_run STOP)
kill -CONT "${PID[w4]}"; kill "${PID[w4]}"; wait "${PID[w4]}" 2>/dev/null || true
start_worker w4 $(( 3 % $(nproc) )) --threads 1
FOUR="${ADDR[w1]},${ADDR[w2]},${ADDR[w3]},${ADDR[w4]}"
read -r EXTRA_KILL LOST_KILL < <(fault_run KILL)
BOUND_KILL=$(calc "$LOST_KILL * $PIECE_MS")
BOUND_STOP=$(calc "$LOST_STOP * $PIECE_MS + $HEARTBEAT * 1000")

verdict() { awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l) ? "met" : "NOT MET" }'; }
echo
echo "Results (medians of $REPS rounds; load average at end: $(cut -d' ' -f1-3 /proc/loadavg))"
fmt="%-58s %14s %14s %9s\n"
printf "$fmt" "measure" "value" "bound" "verdict"
printf "$fmt" "one worker, both cores (wall)" "$M_ONE ms" "" ""
printf "$fmt" "four workers, same cores (wall)" "$M_MANY ms" "" ""
printf "$fmt" "dynamic scheduling overhead" "$OVERHEAD %" "< 10 %" "$(verdict "$OVERHEAD" 10)"
printf "$fmt" "one piece on a shared core" "$PIECE_MS ms" "" ""
printf "$fmt" "SIGKILL: extra time ($LOST_KILL pieces lost, noticed at once)" "$EXTRA_KILL ms" "$BOUND_KILL ms" "$(verdict "$EXTRA_KILL" "$BOUND_KILL")"
printf "$fmt" "SIGSTOP: extra time ($LOST_STOP pieces lost, ${HEARTBEAT} s heartbeat)" "$EXTRA_STOP ms" "$BOUND_STOP ms" "$(verdict "$EXTRA_STOP" "$BOUND_STOP")"
