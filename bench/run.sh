#!/usr/bin/env bash
# bench/run.sh: piworker against native baselines, in one run (`make bench`).
#
#   1. seed 000's loop at t, u in [0, 40001): pisubmit -> one local piworker
#      on all cores, versus bench/loopsum.c with as many pthreads;
#   2. an empty echo job's round trip (examples/bench_rtt.rs, speaking the
#      protocol over a blocking socket) versus a raw TCP ping-pong of the
#      same size (bench/pingpong.c), once with the scheduler free to spread
#      the two ends over CPUs and once with both on CPU 0; and pipelined
#      empty jobs per second;
#   3. piworker's RSS when idle, and the release binaries' sizes.
#
# Runs are interleaved and repeated; the table shows medians. Only
# 127.0.0.1 is used, and every process started here is stopped on exit.
# Expects target/release/{piworker,pisubmit} to be built (`make bench` does).
#
# Knobs (environment): BENCH_REPS (5), BENCH_RTT_COUNT (20000),
# BENCH_PIPE_COUNT (1000000), BENCH_WINDOWS ("64 256"), BENCH_PORT (random).
set -euo pipefail
export LC_ALL=C

cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh # for bench_row; the helpers below are this script's own
REPS=${BENCH_REPS:-5}
RTT_COUNT=${BENCH_RTT_COUNT:-20000}
PIPE_COUNT=${BENCH_PIPE_COUNT:-1000000}
WINDOWS=${BENCH_WINDOWS:-64 256}
T_END=40001
U_LEN=40001
NPROC=$(nproc)
OUT=target/bench
BIN=$OUT/bin

PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
    echo "bench: $*" >&2
    exit 1
}

# ---- helpers ---------------------------------------------------------------

# median of the arguments
median() {
    printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 }
        END { if (NR == 0) print "nan";
              else if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2];
              else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# calc EXPR: floating-point arithmetic through awk
calc() {
    awk "BEGIN { printf \"%.3f\n\", $1 }"
}

# field KEY TEXT: the value of KEY=value in TEXT
field() {
    local v
    v=$(grep -o "$1=[^ ]*" <<<"$2" | head -n1 | cut -d= -f2)
    [[ -n $v ]] || die "no $1 in: $2"
    echo "$v"
}

# Whole-process wall times come from $EPOCHREALTIME (microseconds, read
# without forking anything): "${EPOCHREALTIME/./}".

# rss_kb PID KEY: VmRSS or VmHWM in kB
rss_kb() {
    awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"
}

# start_server NAME LOG CMD...: runs CMD in the background on a free port
# (the literal argument PORT in CMD is replaced) and waits until it listens.
# Sets SERVER_PID and SERVER_PORT.
start_server() {
    local name=$1 log=$2
    shift 2
    local attempt port pid i arg args
    for attempt in 1 2 3 4 5; do
        if [[ -n ${BENCH_PORT:-} && $attempt == 1 ]]; then
            port=$((BENCH_PORT + ${#PIDS[@]}))
        else
            port=$((20000 + RANDOM % 40000))
        fi
        # Somebody else already listening there: try another port.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            continue
        fi
        args=()
        for arg in "$@"; do args+=("${arg//PORT/$port}"); done
        "${args[@]}" >"$log" 2>&1 &
        pid=$!
        PIDS+=("$pid")
        for i in $(seq 1 100); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
                SERVER_PID=$pid
                SERVER_PORT=$port
                return 0
            fi
            sleep 0.05
        done
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        echo "bench: $name did not come up on port $port:" >&2
        tail -n 5 "$log" >&2 || true
    done
    die "could not start $name"
}

# ---- build -------------------------------------------------------------------

for b in piworker pisubmit; do
    [[ -x target/release/$b ]] || die "target/release/$b missing: run \`make bench\` (or cargo build --release)"
done
mkdir -p "$BIN"
cargo build --release --quiet --example bench_rtt
cc -O2 -pthread -o "$OUT/loopsum" bench/loopsum.c
cc -O2 -pthread -o "$OUT/pingpong" bench/pingpong.c
# Snapshot the binaries, so that a concurrent `cargo build` cannot swap them
# out from under a half-done run.
cp target/release/piworker target/release/pisubmit target/release/examples/bench_rtt "$BIN/"

CPU=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "machine: $NPROC CPUs, ${CPU:-unknown CPU}, Linux $(uname -r)"
echo "rounds: $REPS (interleaved; medians below); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# ---- the worker --------------------------------------------------------------

start_server piworker "$OUT/piworker.log" env RUST_LOG=info "$BIN/piworker" --listen 127.0.0.1:PORT
WORKER_PID=$SERVER_PID
WORKER=127.0.0.1:$SERVER_PORT
sleep 0.5
RSS_START=$(rss_kb "$WORKER_PID" VmRSS)
HWM_START=$(rss_kb "$WORKER_PID" VmHWM)
echo "piworker pid $WORKER_PID on $WORKER: VmRSS ${RSS_START} kB, VmHWM ${HWM_START} kB at start"

# ---- 1. loopsum ---------------------------------------------------------------

# The exact total is (40000*40001/2)^2 = 640032000400000000; pisubmit's
# exact summation must hit it, the C program's plain doubles come within
# rounding.
EXACT=640032000400000000

run_pw() {
    local t0 t1 out
    t0=${EPOCHREALTIME/./}
    out=$(timeout 600 "$BIN/pisubmit" --hosts "$WORKER" --json loopsum \
        --t-range 0..$T_END --u-len $U_LEN) || die "pisubmit loopsum failed: $out"
    t1=${EPOCHREALTIME/./}
    local result wall
    result=$(grep -o '"result":[^,]*' <<<"$out" | cut -d: -f2)
    wall=$(grep -o '"wall_ms":[^,]*' <<<"$out" | cut -d: -f2)
    [[ -n $result && -n $wall ]] || die "unexpected pisubmit output: $out"
    awk -v r="$result" -v e=$EXACT 'BEGIN { exit !(r == e) }' ||
        die "pisubmit loopsum result $result, expected $EXACT"
    PW_WALL+=("$wall")
    PW_PROC+=("$(calc "($t1 - $t0) / 1000")")
}

run_c() {
    local t0 t1 out
    t0=${EPOCHREALTIME/./}
    out=$(timeout 600 "$OUT/loopsum" 0 $T_END $U_LEN 1.0 "$NPROC") || die "loopsum.c failed: $out"
    t1=${EPOCHREALTIME/./}
    local total
    total=$(field total "$out")
    awk -v r="$total" -v e=$EXACT 'BEGIN { d = r - e; if (d < 0) d = -d; exit !(d <= e * 1e-12) }' ||
        die "loopsum.c total $total, expected about $EXACT"
    C_WALL+=("$(field wall_ms "$out")")
    C_PROC+=("$(calc "($t1 - $t0) / 1000")")
}

echo
echo "1. loopsum t, u in [0, $T_END): pisubmit -> piworker vs loopsum.c, $NPROC threads"
PW_WALL=() PW_PROC=() C_WALL=() C_PROC=()
run_c # warm-up, not counted
run_pw
PW_WALL=() PW_PROC=() C_WALL=() C_PROC=()
for r in $(seq 1 "$REPS"); do
    if ((r % 2)); then run_c; run_pw; else run_pw; run_c; fi
    printf '   round %d: piworker wall_ms %9.1f (process %9.1f)   C wall_ms %9.1f (process %9.1f)\n' \
        "$r" "${PW_WALL[-1]}" "${PW_PROC[-1]}" "${C_WALL[-1]}" "${C_PROC[-1]}"
done
bench_row "Seed 000's loop" "t, u in [0, $T_END), whole command" ms lower "${PW_PROC[*]}" \
    "C -O2, $NPROC pinned threads (bench/loopsum.c)" "${C_PROC[*]}" "ratio>=0.8"
M_PW_WALL=$(median "${PW_WALL[@]}")
M_PW_PROC=$(median "${PW_PROC[@]}")
M_C_WALL=$(median "${C_WALL[@]}")
M_C_PROC=$(median "${C_PROC[@]}")

# ---- 2. round trips -----------------------------------------------------------

echo
echo "2. empty echo job round trip vs TCP ping-pong; pipelined empty jobs"
start_server pingpong "$OUT/pingpong.log" "$OUT/pingpong" server PORT
PINGPONG_PID=$SERVER_PID
PINGPONG_PORT=$SERVER_PORT

probe=$(timeout 60 "$BIN/bench_rtt" "$WORKER" --seq 1 --pipe 0 --warmup 0) || die "bench_rtt failed: $probe"
SUBMIT_BYTES=$(field submit_bytes "$probe")
RESULT_BYTES=$(field result_bytes "$probe")
echo "   an empty job is a $SUBMIT_BYTES-byte Submit frame and a $RESULT_BYTES-byte Result frame"

declare -A PIPE_RATE
for w in $WINDOWS; do
    rates=()
    for r in $(seq 1 "$REPS"); do
        out=$(timeout 300 "$BIN/bench_rtt" "$WORKER" --seq 0 --warmup 0 --pipe "$PIPE_COUNT" --window "$w") ||
            die "bench_rtt failed: $out"
        rates+=("$(field pipe_jobs_per_s "$out")")
    done
    bench_row "Round trips" "empty jobs pipelined, $w in flight" jobs/s higher "${rates[*]}" - - "value>=50000"
    PIPE_RATE[$w]=$(median "${rates[@]}")
    echo "   pipelined, window $w, $PIPE_COUNT jobs: ${rates[*]} jobs/s"
done

# Round trips are measured twice. "spread": the scheduler places client and
# server freely; on a VM, a message that has to wake an idle CPU then costs
# tens of microseconds, for both piworker and the C ping-pong. "one-cpu": the
# client, the ping-pong server and piworker's event loop (its main thread;
# the compute threads are not involved in an empty job) all on one CPU, which
# leaves only the software path.
declare -A M_RTT_MED M_RTT_MEAN M_PP_S_MED M_PP_S_MEAN M_PP_R_MED
RTT_MODES="spread one-cpu"
command -v taskset >/dev/null || RTT_MODES=spread
WORKER_CPUS=$(awk '$1 == "Cpus_allowed_list:" { print $2 }' "/proc/$WORKER_PID/status")
PIN_CPU=${WORKER_CPUS%%[-,]*} # "one-cpu" mode: the first CPU we may use
for mode in $RTT_MODES; do
    pin=()
    if [[ $mode == one-cpu ]]; then
        pin=(taskset -c "$PIN_CPU")
        taskset -p -c "$PIN_CPU" "$WORKER_PID" >/dev/null
        taskset -p -c "$PIN_CPU" "$PINGPONG_PID" >/dev/null
    fi
    pingpong() { # SIZE -> "median mean"
        local out
        out=$(timeout 300 "${pin[@]}" "$OUT/pingpong" client "$PINGPONG_PORT" "$1" "$RTT_COUNT") ||
            die "pingpong failed: $out"
        echo "$(field rtt_us_median "$out") $(field rtt_us_mean "$out")"
    }
    echo "   round trips, $mode, $RTT_COUNT sequential each:"
    # warm-up, not counted
    pingpong "$SUBMIT_BYTES" >/dev/null
    timeout 300 "${pin[@]}" "$BIN/bench_rtt" "$WORKER" --seq 2000 --pipe 0 >/dev/null || die "bench_rtt warm-up failed"
    RTT_MED=() RTT_MEAN=() PP_S_MED=() PP_S_MEAN=() PP_R_MED=()
    for r in $(seq 1 "$REPS"); do
        res=$(pingpong "$SUBMIT_BYTES")
        read -r med mean <<<"$res"
        PP_S_MED+=("$med") PP_S_MEAN+=("$mean")
        out=$(timeout 300 "${pin[@]}" "$BIN/bench_rtt" "$WORKER" --seq "$RTT_COUNT" --pipe 0) ||
            die "bench_rtt failed: $out"
        RTT_MED+=("$(field seq_rtt_us_median "$out")") RTT_MEAN+=("$(field seq_rtt_us_mean "$out")")
        res=$(pingpong "$RESULT_BYTES")
        read -r med mean <<<"$res"
        PP_R_MED+=("$med")
        printf '     round %d: job median %7.2f us (mean %7.2f)   ping-pong %d B %7.2f (mean %7.2f)   %d B %7.2f\n' \
            "$r" "${RTT_MED[-1]}" "${RTT_MEAN[-1]}" "$SUBMIT_BYTES" "${PP_S_MED[-1]}" "${PP_S_MEAN[-1]}" \
            "$RESULT_BYTES" "${PP_R_MED[-1]}"
    done
    bench_row "Round trips" "empty job, sequential, $mode (median of $RTT_COUNT)" µs lower "${RTT_MED[*]}" \
        "raw TCP ping-pong of $SUBMIT_BYTES B (C)" "${PP_S_MED[*]}" "ratio>=0.5"
    M_RTT_MED[$mode]=$(median "${RTT_MED[@]}")
    M_RTT_MEAN[$mode]=$(median "${RTT_MEAN[@]}")
    M_PP_S_MED[$mode]=$(median "${PP_S_MED[@]}")
    M_PP_S_MEAN[$mode]=$(median "${PP_S_MEAN[@]}")
    M_PP_R_MED[$mode]=$(median "${PP_R_MED[@]}")
done
# Give the worker its CPUs back for the rest.
if [[ $RTT_MODES == *one-cpu* ]]; then
    taskset -p -c "$WORKER_CPUS" "$WORKER_PID" >/dev/null
fi

# ---- 3. memory and size ------------------------------------------------------

sleep 1
kill -0 "$WORKER_PID" 2>/dev/null || die "piworker died during the runs (see $OUT/piworker.log)"
RSS_END=$(rss_kb "$WORKER_PID" VmRSS)
HWM_END=$(rss_kb "$WORKER_PID" VmHWM)
SIZE_PW=$(stat -c %s target/release/piworker)
SIZE_PS=$(stat -c %s target/release/pisubmit)
stripped() {
    if readelf -S "$1" 2>/dev/null | grep -q '\.symtab'; then echo "not stripped"; else echo "stripped"; fi
}
if grep -qE 'WARN|ERROR' "$OUT/piworker.log"; then
    echo
    echo "piworker logged warnings or errors ($OUT/piworker.log):"
    grep -E 'WARN|ERROR' "$OUT/piworker.log" | head -n 5
fi

# ---- table -------------------------------------------------------------------

verdict() { # VALUE OP LIMIT
    awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN {
        ok = (op == "<=") ? v <= l : v >= l; print ok ? "met" : "NOT MET" }'
}
mib() { awk -v v="$1" -v d="$2" 'BEGIN { printf "%.2f\n", v / d }'; }

R_WALL=$(calc "$M_PW_WALL / $M_C_WALL")
R_PROC=$(calc "$M_PW_PROC / $M_C_PROC")

echo
echo "Results (medians of $REPS rounds; ratio = piworker / native); load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
fmt='%-44s %14s %14s %7s  %-9s %s\n'
# shellcheck disable=SC2059
{
    printf "$fmt" "measure" "piworker" "native" "ratio" "target" "verdict"
    printf "$fmt" "loopsum 40001^2, pisubmit wall_ms vs C" "$M_PW_WALL ms" "$M_C_WALL ms" "$R_WALL" "<= 1.25" "$(verdict "$R_WALL" "<=" 1.25)"
    printf "$fmt" "loopsum 40001^2, whole process" "$M_PW_PROC ms" "$M_C_PROC ms" "$R_PROC" "<= 1.25" "$(verdict "$R_PROC" "<=" 1.25)"
    for mode in $RTT_MODES; do
        r_s=$(calc "${M_RTT_MED[$mode]} / ${M_PP_S_MED[$mode]}")
        r_r=$(calc "${M_RTT_MED[$mode]} / ${M_PP_R_MED[$mode]}")
        r_m=$(calc "${M_RTT_MEAN[$mode]} / ${M_PP_S_MEAN[$mode]}")
        printf "$fmt" "rtt median, $mode, vs ${SUBMIT_BYTES} B ping-pong" "${M_RTT_MED[$mode]} us" "${M_PP_S_MED[$mode]} us" "$r_s" "<= 2" "$(verdict "$r_s" "<=" 2)"
        printf "$fmt" "rtt median, $mode, vs ${RESULT_BYTES} B ping-pong" "${M_RTT_MED[$mode]} us" "${M_PP_R_MED[$mode]} us" "$r_r" "<= 2" "$(verdict "$r_r" "<=" 2)"
        printf "$fmt" "rtt mean, $mode, vs ${SUBMIT_BYTES} B ping-pong" "${M_RTT_MEAN[$mode]} us" "${M_PP_S_MEAN[$mode]} us" "$r_m" "" ""
    done
    for w in $WINDOWS; do
        printf "$fmt" "pipelined empty jobs/s, window $w" "${PIPE_RATE[$w]%.*}" "" "" ">= 50000" "$(verdict "${PIPE_RATE[$w]}" ">=" 50000)"
    done
    printf "$fmt" "piworker idle VmRSS at start" "$(mib "$RSS_START" 1024) MiB" "" "" "<= 4 MiB" "$(verdict "$RSS_START" "<=" 4096)"
    printf "$fmt" "piworker idle VmRSS after the runs" "$(mib "$RSS_END" 1024) MiB" "" "" "<= 4 MiB" "$(verdict "$RSS_END" "<=" 4096)"
    printf "$fmt" "piworker VmHWM (peak) after the runs" "$(mib "$HWM_END" 1024) MiB" "" "" "" ""
    printf "$fmt" "piworker binary, $(stripped target/release/piworker)" "$(mib "$SIZE_PW" 1048576) MiB" "" "" "<= 2 MiB" "$(verdict "$SIZE_PW" "<=" 2097152)"
    printf "$fmt" "pisubmit binary, $(stripped target/release/pisubmit)" "$(mib "$SIZE_PS" 1048576) MiB" "" "" "" ""
}
