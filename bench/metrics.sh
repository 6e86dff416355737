#!/usr/bin/env bash
# bench/metrics.sh: what `piworker --metrics` costs jobs (issue 20), part
# of `make bench`.
#
# Three workers of the same build on loopback, each on every core, only
# one of them working at a time: one without --metrics, one with an idle
# metrics listener, one with its listener scraped every
# METRICS_SCRAPE_EVERY seconds (1, as a Prometheus in a hurry) while its job
# runs. Each round runs the same job on the three, in an order that
# rotates from round to round, after a warm-up round; whole commands are
# timed and every answer is checked against the plain worker's.
# The jobs: pi with 2·10^9 darts (bench/pi.sh's: compute on every core)
# and a farm of METRICS_FARM_N `0 i` tasks (bench/tiny.sh's: the event
# loop's busiest path, where a second listener would show first).
#
# Rows: each side's times against the plain worker's, and the paired
# difference round by round (with / without - 1), whose target is +-2 %;
# then the CPU time (user + system) each worker spent on the job, which
# other work on a shared machine moves much less than wall time.
#
# Knobs: BENCH_REPS (5), METRICS_FARM_N (20000), METRICS_SCRAPE_EVERY (1),
# METRICS_JOBS (all of "pi farm"), BENCH_ROWS. Only 127.0.0.1 is used; the
# workers and the scraper are stopped and temporary files removed on exit.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
reps=${BENCH_REPS:-5}
farm_n=${METRICS_FARM_N:-20000}
every=${METRICS_SCRAPE_EVERY:-1}
jobs=${METRICS_JOBS:-pi farm}
bin=target/release
tmp=$(mktemp -d)
SCRAPER=''
trap 'stop_children "$PLAIN_PID" "$IDLE_PID" "$SCRAPED_PID" "$SCRAPER"; rm -rf "$tmp"' EXIT
trap_signals

PLAIN_PID='' IDLE_PID='' SCRAPED_PID=''
start_worker "$tmp/plain.log"
PLAIN_PID=$WORKER_PID PLAIN=$WORKER
idle_port=$(free_port)
start_worker "$tmp/idle.log" --metrics "127.0.0.1:$idle_port"
IDLE_PID=$WORKER_PID IDLE=$WORKER
scraped_port=$(free_port)
start_worker "$tmp/scraped.log" --metrics "127.0.0.1:$scraped_port"
SCRAPED_PID=$WORKER_PID SCRAPED=$WORKER

# scrape PORT: one GET /metrics over bash's /dev/tcp (no curl needed);
# fails unless the answer is a 200 with the worker's build info.
scrape() {
    local answer
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    printf 'GET /metrics HTTP/1.1\r\nHost: bench\r\n\r\n' >&3
    answer=$(cat <&3)
    exec 3<&-
    [[ $answer == "HTTP/1.1 200 OK"* && $answer == *piworker_build_info* ]]
}
scrape "$idle_port" || die "the idle listener does not answer a scrape"

# Scrapes the third worker every $every seconds until stopped.
scrape_loop() {
    while true; do
        scrape "$scraped_port" || echo "scrape failed" >&2
        sleep "$every"
    done
}

seq 1 "$farm_n" | sed 's/^/0 /' >"$tmp/farm.txt"

# cpu_ms PID: the CPU time (user + system) process PID has used, in ms.
tick_ms=$(awk -v t="$(getconf CLK_TCK)" 'BEGIN { print 1000 / t }')
cpu_ms() { awk -v ms="$tick_ms" '{ sub(/.*\) /, ""); print ($12 + $13) * ms }' "/proc/$1/stat"; }

# run SIDE IN JOB...: the job on SIDE's worker (plain, idle or scraped);
# sets MS (wall) and CPU (the worker's CPU time for it), both in ms.
run() {
    local side=$1 in=$2 host pid before
    shift 2
    case $side in plain) host=$PLAIN pid=$PLAIN_PID ;; idle) host=$IDLE pid=$IDLE_PID ;; scraped) host=$SCRAPED pid=$SCRAPED_PID ;; esac
    before=$(cpu_ms "$pid")
    if [ "$side" = scraped ]; then
        scrape_loop 2>>"$tmp/scrapes.err" &
        SCRAPER=$!
    fi
    timed "$in" "$tmp/$side.out" "$bin/pisubmit" --hosts "$host" --quiet "$@"
    if [ -n "$SCRAPER" ]; then
        kill "$SCRAPER" 2>/dev/null || true
        wait "$SCRAPER" 2>/dev/null || true
        SCRAPER=''
    fi
    CPU=$(awk -v a="$before" -v b="$(cpu_ms "$pid")" 'BEGIN { print b - a }')
}
# The answer a run printed, without the report's timings.
answer() { sed '/ ms wall, /,$d' "$1"; }

# compare NAME IN JOB...: the three sides alternating, rows for two.
compare() {
    local name=$1 in=$2 r i side
    local -a order=(plain idle scraped) plain=() idle=() scraped=() d_idle=() d_scraped=()
    local -a cpu_plain=() cpu_idle=() cpu_scraped=()
    local -A ms cpu
    shift 2
    for r in $(seq 0 "$reps"); do
        for i in 0 1 2; do
            side=${order[$(((i + r) % 3))]}
            run "$side" "$in" "$@"
            ms[$side]=$MS cpu[$side]=$CPU
        done
        for side in idle scraped; do
            [ "$(answer "$tmp/plain.out")" = "$(answer "$tmp/$side.out")" ] ||
                die "$name: the $side worker answered differently"
        done
        [ "$r" = 0 ] && continue # warm-up
        plain+=("${ms[plain]}") idle+=("${ms[idle]}") scraped+=("${ms[scraped]}")
        cpu_plain+=("${cpu[plain]}") cpu_idle+=("${cpu[idle]}") cpu_scraped+=("${cpu[scraped]}")
        d_idle+=("$(awk -v a="${ms[plain]}" -v b="${ms[idle]}" 'BEGIN { printf "%.3f", (b / a - 1) * 100 }')")
        d_scraped+=("$(awk -v a="${ms[plain]}" -v b="${ms[scraped]}" 'BEGIN { printf "%.3f", (b / a - 1) * 100 }')")
        printf '  round %d: %s: without %8.1f ms   idle --metrics %8.1f ms   scraped every %ss %8.1f ms' \
            "$r" "$name" "${ms[plain]}" "${ms[idle]}" "$every" "${ms[scraped]}"
        printf '   (worker CPU %s / %s / %s ms)\n' "${cpu[plain]}" "${cpu[idle]}" "${cpu[scraped]}"
    done
    local mp mi ms_
    mp=$(printf '%s\n' "${plain[@]}" | median)
    mi=$(printf '%s\n' "${idle[@]}" | median)
    ms_=$(printf '%s\n' "${scraped[@]}" | median)
    echo "  $name: medians $mp ms without, $mi ms idle listener, $ms_ ms scraped;" \
        "paired medians $(printf '%s\n' "${d_idle[@]}" | median) % and $(printf '%s\n' "${d_scraped[@]}" | median) %"
    bench_row "Metrics" "$name, with an idle --metrics listener, whole command" ms lower "${idle[*]}" \
        "the same without --metrics" "${plain[*]}" "-"
    bench_row "Metrics" "$name, scraped every ${every} s while it runs, whole command" ms lower "${scraped[*]}" \
        "the same without --metrics" "${plain[*]}" "-"
    bench_row "Metrics" "$name, what an idle --metrics listener adds, round by round" % lower "${d_idle[*]}" \
        - - "value<=2"
    bench_row "Metrics" "$name, what scrapes every ${every} s add, round by round" % lower "${d_scraped[*]}" \
        - - "value<=2"
    bench_row "Metrics" "$name, worker CPU time with an idle --metrics listener" ms lower "${cpu_idle[*]}" \
        "the same without --metrics" "${cpu_plain[*]}" "-"
    bench_row "Metrics" "$name, worker CPU time scraped every ${every} s" ms lower "${cpu_scraped[*]}" \
        "the same without --metrics" "${cpu_plain[*]}" "-"
}

wanted() { [[ " $jobs " == *" $1 "* ]]; }

echo "== the same job without --metrics, with an idle listener, and scraped every ${every} s; $reps rounds"
if wanted pi; then compare "pi, 2e9 darts" /dev/null pi --samples 2e9; fi
if wanted farm; then compare "farm of $farm_n 0 ms tasks" "$tmp/farm.txt" farm spin; fi
if [ -s "$tmp/scrapes.err" ]; then
    die "scrapes failed while jobs ran: $(sort "$tmp/scrapes.err" | uniq -c)"
fi
