#!/usr/bin/env bash
# Tiny tasks: how many tasks a second, and how long one task takes end to
# end, when the task itself costs nothing. Three task runners on all cores
# of this machine, over loopback only (127.0.0.1):
#   1. piworker: `pisubmit farm spin` -> one piworker (one thread per CPU);
#      the task is the line `0 i` (spin 0 ms, send the line back).
#   2. dispy: bench/tiny_dispy.py -> one dispynode (-c $(nproc)); the task
#      is `compute(n): return n`, the smallest job dispy runs (with a
#      setup function: without one, dispynode 4.15.2 loses the results of
#      jobs this short and the client hangs; see bench/tiny_dispy.py).
#   3. GNU parallel: the task is `echo i` (parallel runs `bash -c 'echo i'`).
# Each task's answer is checked: the line, the number or the echo comes back.
#
# Throughput (tasks/s): N tasks at once, N / wall time.
#   piworker: N lines on pisubmit's stdin, whole command (start-up and
#     connect included); pisubmit's own wall_ms is logged too.
#   dispy: N cluster.submit(i), first submit to last result; the cluster's
#     set-up (JobCluster, node found, computation sent) is not counted and
#     is logged apart (setup_s).
#   parallel: `parallel -j $(nproc) -k echo` with N lines on stdin, whole
#     command. -k prints in input order, as pisubmit does by default.
#   Each runner gets enough tasks for a few seconds (piworker needs far
#   more than the anchors for that); piworker's rate at the anchors' N is
#   logged too (there its start-up weighs more).
# Latency (µs): one task at a time, each timed from its submit to its
#   answer; the median of many.
#   piworker and parallel: bench/tiny_latency.py writes a line to the
#     runner's stdin and waits for the answer line before writing the next.
#     parallel needs -u (--ungroup) for that: by default it holds a job's
#     output until it has read the next argument, so a closed loop never
#     gets its answer; -u passes the job's stdout through (with -j1 nothing
#     can interleave) and is parallel's cheapest output mode. This times
#     what a task costs inside a running parallel, without its start-up;
#     `parallel -j1` over N tasks, wall / N, is logged once for reference
#     (it includes the start-up, spread over N).
#   dispy: cluster.submit(i) then job(), in a loop.
#
# Knobs (environment): BENCH_REPS (5 interleaved rounds), TINY_PW_N
# (100000), TINY_PW_LAT_N (5000), TINY_ANCHOR_N (1000: dispy's and
# parallel's throughput N), TINY_DISPY_LAT_N (300), TINY_PAR_LAT_N (200),
# BENCH_ROWS (where rows go). Needs the release binaries (`make bench`
# builds them) and bench/install-anchors.sh's dispy venv and parallel.
# Every process started here is stopped on exit, Ctrl-C included, and the
# temporary directory (dispynode's files too) is removed.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh

posint() { [[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 must be a whole number >= 1, not '$2'"; }
REPS=${BENCH_REPS:-5}
PW_N=${TINY_PW_N:-100000}
PW_LAT_N=${TINY_PW_LAT_N:-5000}
ANCHOR_N=${TINY_ANCHOR_N:-1000}
DISPY_LAT_N=${TINY_DISPY_LAT_N:-300}
PAR_LAT_N=${TINY_PAR_LAT_N:-200}
for v in REPS PW_N PW_LAT_N ANCHOR_N DISPY_LAT_N PAR_LAT_N; do posint "$v" "${!v}"; done
NP=$(nproc)

for b in piworker pisubmit; do
    [ -x "target/release/$b" ] || die "target/release/$b missing: run \`make bench\` (or cargo build --release)"
done
command -v parallel >/dev/null || die "GNU parallel missing: run bench/install-anchors.sh (as root)"
have_dispy || die "no dispy in $DISPY_PY: run bench/install-anchors.sh (as root)"
DISPY_VERSION=$(dispy_version)
PAR_VERSION=$(parallel --version | awk 'NR == 1 { print $3 }')

tmp=$(mktemp -d)
WORKER=''
cleanup() {
    stop_children "$WORKER"
    stop_dispynode
    rm -rf "$tmp"
}
trap cleanup EXIT
trap_signals

# Snapshots, so that a concurrent `cargo build` cannot swap the binaries
# out from under a half-done run.
cp target/release/piworker target/release/pisubmit "$tmp/"
seq "$PW_N" | sed 's/^/0 /' >"$tmp/pw.in"
seq "$ANCHOR_N" | sed 's/^/0 /' >"$tmp/pw_small.in"
seq "$ANCHOR_N" >"$tmp/anchor.in"
seq "$PAR_LAT_N" >"$tmp/par_lat.in"

port=$(free_port)
"$tmp/piworker" --listen "127.0.0.1:$port" --no-discovery --shutdown-grace 0 2>"$tmp/piworker.log" &
WORKER=$!
wait_for_port "$port" || die "piworker did not start: $(tail -3 "$tmp/piworker.log")"

# A dispynode on loopback serving every CPU (bench/lib.sh), its files
# under $tmp, which goes away.
mkdir "$tmp/dispynode"
start_dispynode "$tmp/dispynode"

# kv KEY FILE: the value of the KEY=value line in FILE.
kv() {
    local v
    v=$(sed -n "s/^$1=//p" "$2" | head -n1)
    [ -n "$v" ] || die "no $1= in $2: $(cat "$2")"
    echo "$v"
}

# rate N MS: N tasks in MS milliseconds, in tasks/s
rate() { awk -v n="$1" -v ms="$2" 'BEGIN { printf "%.1f", n / (ms / 1000) }'; }

# pw_farm IN: runs the lines of IN through pisubmit farm, checks that every
# line came back in order, sets MS (whole command) and JOB_MS (wall_ms).
JOB_MS=
pw_farm() {
    timed "$1" "$tmp/pw.json" "$tmp/pisubmit" --hosts "127.0.0.1:$port" --quiet --json farm spin
    JOB_MS=$(python3 - "$1" "$tmp/pw.json" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
out = json.load(open(sys.argv[2]))
if out["results"] != lines:
    bad = next((i for i, (a, b) in enumerate(zip(lines, out["results"])) if a != b), None)
    sys.exit(f"pisubmit farm: {len(out['results'])} results for {len(lines)} tasks, "
             f"first difference at {bad}")
print(out["wall_ms"])
EOF
    ) || die "pisubmit farm's answers are wrong"
}

# par_echo JOBS IN: `parallel -j JOBS -k echo` on the lines of IN; checks the
# output is IN; sets MS.
par_echo() {
    timed "$2" "$tmp/par.out" parallel --will-cite -j "$1" -k echo
    cmp -s "$2" "$tmp/par.out" || die "parallel -j $1 -k echo printed something else than its input"
}

pw_tput=() pw_job_tput=() pw_small_tput=() pw_lat=()
dispy_tput=() dispy_lat=() dispy_setup=()
par_tput=() par_lat=()
PAR_J1_US=

# round R: every measure once.
round() {
    local r=$1 line
    pw_farm "$tmp/pw.in"
    local p_tput p_job p_small p_lat d_tput d_lat d_setup d_setup2 a_tput a_lat
    p_tput=$(rate "$PW_N" "$MS") p_job=$(rate "$PW_N" "$JOB_MS")
    timed /dev/null "$tmp/dispy.out" "$DISPY_PY" bench/tiny_dispy.py --node-port "$NODE_PORT" \
        --mode throughput -n "$ANCHOR_N"
    d_tput=$(kv tasks_per_s "$tmp/dispy.out") d_setup=$(kv setup_s "$tmp/dispy.out")
    [ "$(kv cpus "$tmp/dispy.out")" = "$NP" ] || die "dispynode serves $(kv cpus "$tmp/dispy.out") CPUs, not $NP"
    par_echo "$NP" "$tmp/anchor.in"
    a_tput=$(rate "$ANCHOR_N" "$MS")
    pw_farm "$tmp/pw_small.in"
    p_small=$(rate "$ANCHOR_N" "$MS")

    timed /dev/null "$tmp/pw_lat.out" python3 bench/tiny_latency.py -n "$PW_LAT_N" --warmup 200 \
        -- "$tmp/pisubmit" --hosts "127.0.0.1:$port" --quiet farm spin
    p_lat=$(kv median_us "$tmp/pw_lat.out")
    timed /dev/null "$tmp/dispy_lat.out" "$DISPY_PY" bench/tiny_dispy.py --node-port "$NODE_PORT" \
        --mode latency -n "$DISPY_LAT_N"
    d_lat=$(kv median_us "$tmp/dispy_lat.out")
    d_setup2=$(kv setup_s "$tmp/dispy_lat.out")
    timed /dev/null "$tmp/par_lat.out" python3 bench/tiny_latency.py -n "$PAR_LAT_N" --warmup 10 \
        --task '{i}' -- parallel --will-cite -j1 -u echo
    a_lat=$(kv median_us "$tmp/par_lat.out")

    line="round $r/$REPS"
    printf '  %-11s throughput/s: piworker %8.0f (own wall_ms %8.0f; %s tasks %7.0f)  dispy %6.1f  parallel %6.1f\n' \
        "$line" "$p_tput" "$p_job" "$ANCHOR_N" "$p_small" "$d_tput" "$a_tput"
    printf '  %-11s latency µs:   piworker %8.1f  dispy %8.1f  parallel %8.1f   (dispy cluster setup s: %s)\n' \
        "" "$p_lat" "$d_lat" "$a_lat" "$d_setup $d_setup2"
    pw_tput+=("$p_tput") pw_job_tput+=("$p_job") pw_small_tput+=("$p_small") pw_lat+=("$p_lat")
    dispy_tput+=("$d_tput") dispy_lat+=("$d_lat") dispy_setup+=("$d_setup" "$d_setup2")
    par_tput+=("$a_tput") par_lat+=("$a_lat")
}

start=${EPOCHREALTIME/./}
echo "Tiny tasks on $NP cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), loopback only"
echo "  throughput N: piworker $PW_N (\`0 i\` lines), dispy $DISPY_VERSION $ANCHOR_N (compute(n) -> n),"
echo "  GNU parallel $PAR_VERSION $ANCHOR_N (-j $NP -k echo); latency: one task at a time, median of"
echo "  $PW_LAT_N (piworker), $DISPY_LAT_N (dispy), $PAR_LAT_N (parallel -j1 -u) after a warm-up"
echo "  load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# A short warm-up (not kept): page cache, the worker's threads, parallel's perl.
pw_farm "$tmp/pw_small.in"
par_echo "$NP" "$tmp/par_lat.in"
for r in $(seq "$REPS"); do
    round "$r"
    if [ "$r" = 1 ]; then
        # For reference, once: parallel -j1 over many tasks, its start-up included.
        par_echo 1 "$tmp/par_lat.in"
        PAR_J1_US=$(awk -v ms="$MS" -v n="$PAR_LAT_N" 'BEGIN { printf "%.1f", ms * 1000 / n }')
        echo "              parallel -j1 -k echo, $PAR_LAT_N tasks: wall / N = $PAR_J1_US µs a task (start-up included)"
    fi
done

# med SAMPLES...: their median; stats DIGITS SAMPLES...: "median (min-max)"
med() { printf '%s\n' "$@" | median; }
stats() {
    local d=$1
    shift
    printf "%.${d}f (%.${d}f-%.${d}f)" "$(med "$@")" "$(printf '%s\n' "$@" | sort -g | head -n1)" \
        "$(printf '%s\n' "$@" | sort -g | tail -n1)"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
pt=$(med "${pw_tput[@]}") pl=$(med "${pw_lat[@]}")
echo
echo "Summary: median (min-max) over $REPS rounds"
echo "  throughput, tasks/s:"
printf '    %-44s %s\n' "piworker, $PW_N tasks, whole command" "$(stats 0 "${pw_tput[@]}")"
printf '    %-44s %s\n' "piworker, $PW_N tasks, pisubmit's wall_ms" "$(stats 0 "${pw_job_tput[@]}")"
printf '    %-44s %s\n' "piworker, $ANCHOR_N tasks, whole command" "$(stats 0 "${pw_small_tput[@]}")"
printf '    %-44s %-24s -> piworker %sx\n' "dispy, $ANCHOR_N jobs" "$(stats 1 "${dispy_tput[@]}")" \
    "$(ratio "$pt" "$(med "${dispy_tput[@]}")")"
printf '    %-44s %-24s -> piworker %sx\n' "GNU parallel -j $NP -k echo, $ANCHOR_N tasks" "$(stats 1 "${par_tput[@]}")" \
    "$(ratio "$pt" "$(med "${par_tput[@]}")")"
echo "  latency, one task at a time, µs:"
printf '    %-44s %s\n' "piworker (pisubmit farm, closed loop)" "$(stats 1 "${pw_lat[@]}")"
printf '    %-44s %-24s -> piworker %sx\n' "dispy (submit, job())" "$(stats 1 "${dispy_lat[@]}")" \
    "$(ratio "$(med "${dispy_lat[@]}")" "$pl")"
printf '    %-44s %-24s -> piworker %sx\n' "GNU parallel -j1 -u (closed loop)" "$(stats 1 "${par_lat[@]}")" \
    "$(ratio "$(med "${par_lat[@]}")" "$pl")"
printf '    %-44s %s (once)\n' "GNU parallel -j1, wall / N" "$PAR_J1_US"
echo "  dispy cluster setup (JobCluster to first result), s: $(stats 3 "${dispy_setup[@]}")"

dispy_anchor="dispy $DISPY_VERSION (dispynode on this machine)"
par_anchor="GNU parallel $PAR_VERSION"
measure="throughput, tiny tasks, $NP cores"
bench_row "Tiny tasks" "$measure" tasks/s higher "${pw_tput[*]}" "$dispy_anchor" "${dispy_tput[*]}" "ratio>=10" \
    "piworker: $PW_N \`0 i\` farm tasks, whole pisubmit command; dispy: $ANCHOR_N compute(n) -> n, first submit to last result"
bench_row "Tiny tasks" "$measure" tasks/s higher "${pw_tput[*]}" "$par_anchor -j $NP -k echo" "${par_tput[*]}" "-" \
    "parallel: $ANCHOR_N tasks, whole command"
measure="latency, one tiny task at a time"
bench_row "Tiny tasks" "$measure" µs lower "${pw_lat[*]}" "$dispy_anchor" "${dispy_lat[*]}" "-" \
    "median of $PW_LAT_N (piworker, line in to line out of pisubmit farm) and $DISPY_LAT_N (submit to job())"
bench_row "Tiny tasks" "$measure" µs lower "${pw_lat[*]}" "$par_anchor -j1 -u echo" "${par_lat[*]}" "-" \
    "median of $PAR_LAT_N, line in to line out of a running parallel"
echo "bench/tiny.sh: 4 rows to ${BENCH_ROWS:-target/bench/rows.tsv}; took $(((${EPOCHREALTIME/./} - start) / 1000000)) s"
