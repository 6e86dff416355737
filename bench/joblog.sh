#!/usr/bin/env bash
# bench/joblog.sh: what `--joblog FILE` costs (issue 17), part of `make bench`.
#
# Time: the same job with and without --joblog, through one local worker
# on every core, alternating in one run (which goes first alternates too),
# a warm-up round and then BENCH_REPS rounds; whole commands are timed.
# The jobs are `make bench`'s own, plus the two where a log costs most:
#   - pi, 2·10^9 darts (bench/pi.sh's job): a few long pieces;
#   - primes to 10^9, counted (bench/primes.sh's job): a short job, where
#     creating and syncing the log's header weighs most;
#   - primes to 10^9 with --output: a 480 MiB file, whose pieces are
#     hashed as they land and which is synced once a second with a log;
#   - a farm of 100,000 `0 i` tasks (bench/tiny.sh's job): a line per
#     task, the most lines a second a log gets.
# The farm's rounds differ by more than what the log costs: on a shared
# 2-core machine whose cores also run the worker, a round of 0-ms tasks
# moves by 10-15 % with what the machine's neighbours do. So the farm is
# also run as many short rounds (JOBLOG_SHORT_N tasks, JOBLOG_SHORT_ROUNDS
# pairs), whose paired ratios give the median and a 95 % confidence
# interval for it (order statistics, no assumption about the noise's
# shape): the target is met only if the whole interval is at or below 2 %,
# missed only if the whole interval is above it.
# The short rounds run twice: as `make bench` runs everything, the worker
# and pisubmit sharing every core, and pinned (taskset), the worker on the
# last core and pisubmit on the others. On a cluster a head's workers are
# other machines, so its CPUs are its own; shared, the log's writer and
# pisubmit's loop wait for CPUs the worker holds, which no real head does,
# and that contention is most of what the shared rounds measure.
# Every answer is checked: the same result, the same output bytes, a log
# with a line per piece.
#
# Memory: pisubmit's peak RSS (GNU time's %M) for farms of FARM_SMALL and
# FARM_BIG `0 i` tasks with and without a log, and for resuming the big
# farm's complete log (every task replayed from it, none run). The log
# must not make the head grow with the number of pieces.
#
# Knobs: JOBLOG_JOBS (all of "pi primes output farm short pinned memory"),
# BENCH_REPS (5), JOBLOG_FARM_N (100000), JOBLOG_SHORT_N (10000),
# JOBLOG_SHORT_ROUNDS (100), JOBLOG_MEM_SMALL (50000),
# JOBLOG_MEM_BIG (200000), BENCH_ROWS. Only 127.0.0.1 is used; the worker
# is stopped and the temporary files removed on exit.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
reps=${BENCH_REPS:-5}
farm_n=${JOBLOG_FARM_N:-100000}
short_n=${JOBLOG_SHORT_N:-10000}
short_rounds=${JOBLOG_SHORT_ROUNDS:-100}
mem_small=${JOBLOG_MEM_SMALL:-50000}
mem_big=${JOBLOG_MEM_BIG:-200000}
jobs=${JOBLOG_JOBS:-pi primes output farm short pinned memory}
bin=target/release
# The logs and output files go to the disk the bench writes to, not to a
# tmpfs: a log's cost is mostly its fsyncs.
mkdir -p target/bench
tmp=$(mktemp -d -p target/bench joblog.XXXXXX)
PINNED_PID=''
trap 'stop_children "$WORKER_PID" "$PINNED_PID"; rm -rf "$tmp"' EXIT
trap_signals
start_worker "$tmp/worker.log"

seq 1 "$farm_n" | sed 's/^/0 /' >"$tmp/farm.txt"
seq 1 "$short_n" | sed 's/^/0 /' >"$tmp/short.txt"

# plain JOB...: the job without a log; logged JOB...: with a new log
# ($tmp/run.log). With OUTPUT set, each side writes OUTPUT.plain or
# OUTPUT.logged, compared after every round. HEAD is what pisubmit runs
# under (taskset for the pinned rounds).
HEAD=()
plain() {
    rm -f "${OUTPUT:-$tmp/none}.plain"
    "${HEAD[@]}" "$bin/pisubmit" --hosts "$WORKER" --quiet "$@" ${OUTPUT:+--output "$OUTPUT.plain"}
}
logged() {
    rm -f "$tmp/run.log" "${OUTPUT:-$tmp/none}.logged"
    "${HEAD[@]}" "$bin/pisubmit" --hosts "$WORKER" --quiet --joblog "$tmp/run.log" "$@" ${OUTPUT:+--output "$OUTPUT.logged"}
}
# The answer a run printed: its stdout up to the report's timings, the
# output file's name made the same.
answer() { sed '/ ms wall, /,$d; s/\.plain$\|\.logged$//' "$1"; }
log_lines() { grep -c '^[0-9]' "$tmp/run.log"; }
other() { [ "$1" = plain ] && echo logged || echo plain; }

# pair NAME ROUND STDIN JOB...: the job without a log and with one (odd
# rounds start with the log), times in A and B (ms) and their paired
# ratio in PAIRED (%); both must print the same answer (and write the
# same OUTPUT), and the log must have a line.
A='' B='' PAIRED=''
pair() {
    local name=$1 r=$2 in=$3 side=plain
    shift 3
    [ $((r % 2)) = 1 ] && side=logged
    for side in "$side" "$(other "$side")"; do
        timed "$in" "$tmp/$side.out" "$side" "$@"
        if [ "$side" = plain ]; then A=$MS; else B=$MS; fi
    done
    [ "$(answer "$tmp/plain.out")" = "$(answer "$tmp/logged.out")" ] || die "$name: the runs with and without --joblog printed different answers"
    if [ -n "${OUTPUT:-}" ]; then
        cmp -s "$OUTPUT.plain" "$OUTPUT.logged" || die "$name: the output files differ"
    fi
    [ "$(log_lines)" -ge 1 ] || die "$name: the log has no line"
    PAIRED=$(awk -v a="$A" -v b="$B" 'BEGIN { printf "%.3f", (b / a - 1) * 100 }')
}

# compare NAME STDIN JOB...: alternates the job with and without a log
# (odd rounds start with the log), checks that both print the same, and
# records a row (with the log) against the anchor (without).
compare() {
    local name=$1 in=$2 r with=() without=() paired=()
    shift 2
    for r in $(seq 0 "$reps"); do
        pair "$name" "$r" "$in" "$@"
        [ "$r" = 0 ] && continue # warm-up
        without+=("$A") with+=("$B") paired+=("$PAIRED")
        printf '  round %d: %s: without %8.1f ms   with --joblog %8.1f ms (%d lines)\n' "$r" "$name" "$A" "$B" "$(log_lines)"
    done
    local ma mb
    ma=$(printf '%s\n' "${without[@]}" | median)
    mb=$(printf '%s\n' "${with[@]}" | median)
    echo "  $name: medians $ma ms without, $mb ms with: $(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%+.1f", (b / a - 1) * 100 }') %"
    bench_row "Job log" "$name, with --joblog, whole command ($(log_lines) lines)" ms lower "${with[*]}" \
        "the same without --joblog" "${without[*]}" "-"
    # The same rounds paired: each round's with-log time over its
    # without-log time, which a load that changes between rounds (other
    # jobs on the machine) moves much less than either median.
    bench_row "Job log" "$name, what --joblog adds, round by round (with / without - 1)" % lower "${paired[*]}" \
        - - "value<=2"
}

wanted() { [[ " $jobs " == *" $1 "* ]]; }

echo "== the same job with and without --joblog, alternating, $reps rounds"
if wanted pi; then compare "pi, 2e9 darts" /dev/null pi --samples 2e9; fi
if wanted primes; then compare "primes to 10^9, counted" /dev/null primes --from 1 --to 1e9; fi
if wanted output; then
    OUTPUT=$tmp/primes.txt
    compare "primes to 10^9 --output" /dev/null primes --from 1 --to 1e9
    rm -f "$OUTPUT".*
    OUTPUT=
fi
if wanted farm; then compare "farm of $farm_n 0 ms tasks" "$tmp/farm.txt" farm spin; fi

# interval N: the 1-based ranks of the sorted values that bound a 95 %
# confidence interval for the median of N (at least 6) values: the count
# below the median is binomial(N, 1/2), here by its normal approximation.
interval() { awk -v n="$1" 'BEGIN { r = int((n - 1.96 * sqrt(n)) / 2); if (r < 1) r = 1; print r, n + 1 - r }'; }

# short NAME STDIN ROUNDS JOB...: ROUNDS short alternating pairs, each
# checked like compare's; rows for the median paired ratio and for the
# upper end of its confidence interval (the one with the target).
short() {
    local name=$1 in=$2 rounds=$3 r paired=() lo hi
    shift 3
    for r in $(seq 0 "$rounds"); do
        pair "$name" "$r" "$in" "$@"
        [ "$(log_lines)" = "$short_n" ] || die "$name: the log has $(log_lines) lines, not $short_n"
        [ "$r" = 0 ] || paired+=("$PAIRED") # round 0 warms up
    done
    read -r lo hi < <(interval "${#paired[@]}")
    local sorted median low high
    sorted=$(printf '%s\n' "${paired[@]}" | sort -g)
    median=$(median <<<"$sorted")
    low=$(sed -n "${lo}p" <<<"$sorted")
    high=$(sed -n "${hi}p" <<<"$sorted")
    echo "  $name, $rounds short rounds: what --joblog adds, median $median %, 95 % interval $low to $high %" \
        "(rounds from $(head -1 <<<"$sorted") to $(tail -1 <<<"$sorted") %)"
    bench_row "Job log" "$name, $rounds short rounds: what --joblog adds, round by round (with / without - 1)" % lower \
        "${paired[*]}" - - "-"
    bench_row "Job log" "$name: upper end of the 95 % interval of that median (lower end $low %)" % lower \
        "$high" - - "value<=2"
}
if wanted short; then
    echo "== a farm of $short_n 0 ms tasks with and without --joblog, $short_rounds short rounds"
    short "farm of $short_n 0 ms tasks" "$tmp/short.txt" "$short_rounds" farm spin
fi
if wanted pinned; then
    cpus=$(nproc)
    if [ "$cpus" -lt 2 ]; then
        echo "== SKIPPED: the pinned short rounds need 2 CPUs, this machine has $cpus" >&2
    else
        echo "== the same short rounds, the worker on CPU $((cpus - 1)) and pisubmit on CPUs 0-$((cpus - 2))"
        shared=$WORKER shared_pid=$WORKER_PID
        start_worker_on $((cpus - 1)) "$tmp/pinned.log"
        PINNED_PID=$WORKER_PID WORKER_PID=$shared_pid HEAD=(taskset -c "0-$((cpus - 2))")
        short "farm of $short_n 0 ms tasks, head and worker on CPUs of their own" "$tmp/short.txt" "$short_rounds" farm spin
        WORKER=$shared HEAD=()
    fi
fi
if ! wanted memory; then exit 0; fi

# peak_rss_mib STDIN ARGS...: pisubmit's peak RSS in MiB (GNU time's %M),
# its stdout thrown away.
peak_rss_mib() {
    local in=$1
    shift
    /usr/bin/time -f %M -o "$tmp/rss" "$bin/pisubmit" --hosts "$WORKER" --quiet "$@" <"$in" >/dev/null 2>"$tmp/rss.err" ||
        die "pisubmit $* failed: $(tail -3 "$tmp/rss.err")"
    kib_to_mib "$(tail -1 "$tmp/rss")"
}

# Peak RSS hardly varies between runs: three rounds are enough.
mem_reps=$((reps < 3 ? reps : 3))
echo "== pisubmit's peak RSS, $mem_reps rounds"
declare -A rss
for n in "$mem_small" "$mem_big"; do
    seq 1 "$n" | sed 's/^/0 /' >"$tmp/mem$n.txt"
done
for r in $(seq 1 "$mem_reps"); do
    for n in "$mem_small" "$mem_big"; do
        rss[plain$n]+=" $(peak_rss_mib "$tmp/mem$n.txt" farm spin)"
        rm -f "$tmp/mem$n.log"
        rss[logged$n]+=" $(peak_rss_mib "$tmp/mem$n.txt" --joblog "$tmp/mem$n.log" farm spin)"
        [ "$(grep -c '^[0-9]' "$tmp/mem$n.log")" = "$n" ] || die "the log of $n tasks does not have $n lines"
    done
    rss[resume]+=" $(peak_rss_mib "$tmp/mem$mem_big.txt" --joblog "$tmp/mem$mem_big.log" --resume farm spin)"
    echo "  round $r: ${mem_small}/${mem_big} tasks: without${rss[plain$mem_small]##* }/${rss[plain$mem_big]##* } MiB," \
        "with --joblog${rss[logged$mem_small]##* }/${rss[logged$mem_big]##* } MiB, resuming the big log${rss[resume]##* } MiB"
done
log_mib=$(kib_to_mib $(($(stat -c %s "$tmp/mem$mem_big.log") / 1024)))
for n in "$mem_small" "$mem_big"; do
    bench_row "Job log" "farm of $n 0 ms tasks: pisubmit peak RSS with --joblog" MiB lower "${rss[logged$n]# }" \
        "the same without --joblog" "${rss[plain$n]# }" "-"
done
bench_row "Job log" "resuming the log of $mem_big tasks ($log_mib MiB), all replayed: pisubmit peak RSS" MiB lower \
    "${rss[resume]# }" "running them without a log" "${rss[plain$mem_big]# }" "-"
# Per task: what the head keeps per piece anyway (without a log, between
# the small and the big farm), and what a log adds to it, running and
# resuming, at the big farm. Medians of the rounds.
med() { printf '%s\n' $1 | median; }
per_task() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.1f", (b - a) * 1048576 / n }'; }
bench_row "Job log" "pisubmit RSS per extra task without a log (farms of $mem_small and $mem_big)" B lower \
    "$(per_task "$(med "${rss[plain$mem_small]}")" "$(med "${rss[plain$mem_big]}")" $((mem_big - mem_small)))" - - "-"
bench_row "Job log" "pisubmit RSS per task that --joblog adds ($mem_big tasks)" B lower \
    "$(per_task "$(med "${rss[plain$mem_big]}")" "$(med "${rss[logged$mem_big]}")" "$mem_big")" - - "value<=4"
# A resumed run must know which pieces are done and their results, so it
# may keep something per logged piece: the target is less than the log
# file holds per line ("no per-piece growth beyond the log file itself").
line_bytes=$(($(stat -c %s "$tmp/mem$mem_big.log") / mem_big))
bench_row "Job log" "pisubmit RSS per logged task that resuming adds ($mem_big tasks, against running them; the log holds $line_bytes B a line)" B lower \
    "$(per_task "$(med "${rss[plain$mem_big]}")" "$(med "${rss[resume]}")" "$mem_big")" - - "value<=$line_bytes"
