#!/usr/bin/env bash
# Monte Carlo pi, the same darts three ways on all cores of this machine:
#   1. pisubmit pi -> one piworker on 127.0.0.1 (one pinned compute thread
#      per CPU);
#   2. bench/mpi_pi.c, C with Open MPI: mpirun -np $(nproc) --bind-to core;
#   3. bench/mpi_pi.py, mpi4py + NumPy: mpirun -np $(nproc) --bind-to core.
# All three throw darts 0..N-1 of src/jobs/pi.rs's stream (seed 1), so they
# must count exactly the same number inside; the run stops if they do not.
# What counts is each command's whole wall time (process start to exit:
# mpirun's start-up and pisubmit's connect included); the times the
# programs report themselves (pisubmit's wall_ms, MPI's barrier-to-reduce)
# are logged too. One warm-up round, then interleaved rounds; medians are
# recorded with bench_row (bench/lib.sh) under "Monte Carlo pi".
#
# Knobs (environment): PI_DARTS (2e9; digits or MeE, like 15e8),
# BENCH_REPS (5 rounds), PI_PY_REPS (mpi4py in the first that many rounds;
# default BENCH_REPS), BENCH_ROWS (where rows go). Needs the release
# binaries (`make bench` builds them) and bench/install-anchors.sh's
# packages. Only 127.0.0.1 is used; every process started here is stopped
# on exit, Ctrl-C included.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh

# Whole numbers: digits, or MeE for M * 10^E (2e9).
whole() {
    local v=$1
    if [[ $v =~ ^([0-9]+)[eE]([0-9]+)$ ]]; then
        v=${BASH_REMATCH[1]}
        for _ in $(seq "${BASH_REMATCH[2]}"); do v=${v}0; done
    fi
    [[ $v =~ ^[0-9]+$ ]] || return 1
    v=$(sed -E 's/^0+([0-9])/\1/' <<<"$v")
    # N must fit pisubmit's and MPI's u64 comfortably: at most 19 digits.
    [ ${#v} -le 19 ] || return 1
    echo "$v"
}

N=$(whole "${PI_DARTS:-2e9}") || die "PI_DARTS must be a whole number like 2000000000 or 2e9, not '${PI_DARTS}'"
REPS=${BENCH_REPS:-5}
PY_REPS=${PI_PY_REPS:-$REPS}
[[ $N != 0 ]] || die "PI_DARTS must be at least 1"
[[ $REPS =~ ^[1-9][0-9]*$ ]] || die "BENCH_REPS must be a whole number >= 1, not '$REPS'"
[[ $PY_REPS =~ ^[1-9][0-9]*$ ]] || die "PI_PY_REPS must be a whole number >= 1, not '$PY_REPS'"
[ "$PY_REPS" -le "$REPS" ] || die "PI_PY_REPS ($PY_REPS) must not exceed BENCH_REPS ($REPS)"
SEED=1
NP=$(nproc)
PY=/usr/bin/python3
# MPIRUN (bench/lib.sh): mpirun -np $NP, one pinned rank per core.

# N as a label: 2000000000 -> 2e9, 1500000000 -> 1.5e9, 123456 -> 123456.
label=$N e=0
while [[ $label == *0 ]]; do label=${label%0} e=$((e + 1)); done
if [ $e -ge 3 ]; then
    e=$((e + ${#label} - 1)) rest=${label:1}
    label=${label:0:1}${rest:+.$rest}e$e
else
    label=$N
fi

for b in piworker pisubmit; do
    [ -x "target/release/$b" ] || die "target/release/$b missing: run \`make bench\` (or cargo build --release)"
done
for t in mpirun mpicc; do
    command -v "$t" >/dev/null || die "$t missing: run bench/install-anchors.sh (as root)"
done
"$PY" -c 'import mpi4py, numpy' 2>/dev/null || die "$PY lacks mpi4py or numpy: run bench/install-anchors.sh (as root)"

tmp=$(mktemp -d)
WORKER=
cleanup() {
    stop_children "$WORKER"
    rm -rf "$tmp"
}
trap cleanup EXIT
trap_signals

# Snapshots, so that a concurrent `cargo build` cannot swap the binaries
# out from under a half-done run.
cp target/release/piworker target/release/pisubmit "$tmp/"
mkdir -p target/bench
mpicc -O2 -o target/bench/mpi_pi bench/mpi_pi.c

port=$(free_port)
"$tmp/piworker" --listen "127.0.0.1:$port" --no-discovery --shutdown-grace 0 2>"$tmp/piworker.log" &
WORKER=$!
wait_for_port "$port" || die "piworker did not start: $(tail -3 "$tmp/piworker.log")"

# kv KEY FILE: the value of KEY=value in the line that mpi_pi printed.
kv() {
    local v
    v=$(grep -o "\\b$1=[^ ]*" "$2" | head -n1 | cut -d= -f2) || true
    [ -n "$v" ] || die "no $1= in the output: $(cat "$2")"
    echo "$v"
}

INSIDE=
# check WHO INSIDE SAMPLES: every run must count N samples and the same inside.
check() {
    [ "$3" = "$N" ] || die "$1 counted $3 samples, not $N"
    [ -n "$INSIDE" ] || INSIDE=$2
    [ "$2" = "$INSIDE" ] || die "$1 counted $2 darts inside, but an earlier run counted $INSIDE (same $N darts, seed $SEED): the generators differ"
}

# one X: X with one decimal, or X itself if it is not a number ("-")
one() { if [[ $1 =~ ^[0-9.]+$ ]]; then printf '%.1f' "$1"; else echo "$1"; fi; }

pw=() pw_job=() c=() c_prog=() py=() py_prog=()
# round R: one pisubmit, one C and (while R <= PY_REPS) one mpi4py run; R=0
# is the warm-up, which is not kept.
round() {
    local r=$1 line p_ms p_job c_ms c_in y_ms=- y_in=-
    timed /dev/null "$tmp/pw.json" "$tmp/pisubmit" --hosts "127.0.0.1:$port" --json pi --samples "$N" --seed "$SEED"
    p_ms=$MS
    p_job=$(field wall_ms <"$tmp/pw.json")
    check pisubmit "$(field inside <"$tmp/pw.json")" "$(field samples <"$tmp/pw.json")"
    timed /dev/null "$tmp/c.out" "${MPIRUN[@]}" target/bench/mpi_pi "$N" "$SEED"
    c_ms=$MS
    c_in=$(kv wall_ms "$tmp/c.out")
    check "mpi_pi (C)" "$(kv inside "$tmp/c.out")" "$(kv samples "$tmp/c.out")"
    if [ "$r" -le "$PY_REPS" ]; then
        timed /dev/null "$tmp/py.out" "${MPIRUN[@]}" "$PY" bench/mpi_pi.py "$N" "$SEED"
        y_ms=$MS
        y_in=$(kv wall_ms "$tmp/py.out")
        check "mpi_pi.py (mpi4py)" "$(kv inside "$tmp/py.out")" "$(kv samples "$tmp/py.out")"
    fi
    if [ "$r" = 0 ]; then line="warm-up "; else line="round $r/$REPS"; fi
    printf '  %-11s pisubmit %7.1f ms (job %7.1f)   C %7.1f ms (program %7.1f)   mpi4py %7s ms (program %7s)\n' \
        "$line" "$p_ms" "$p_job" "$c_ms" "$c_in" "$(one "$y_ms")" "$(one "$y_in")"
    [ "$r" != 0 ] || return 0
    pw+=("$p_ms") pw_job+=("$p_job") c+=("$c_ms") c_prog+=("$c_in")
    [ "$y_ms" = - ] || { py+=("$y_ms") py_prog+=("$y_in"); }
}

start=${EPOCHREALTIME/./}
echo "Monte Carlo pi: $N darts (seed $SEED) on $NP cores ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo))"
echo "  whole-command wall times; in parentheses the time each program reports itself"
echo "  (pisubmit: first piece sent to answer; MPI: barrier after MPI_Init to reduce)"
echo "  mpirun: ${MPIRUN[*]}; load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq 0 "$REPS"); do round "$r"; done

# med SAMPLES...: their median; stats SAMPLES...: "median (min-max)"
med() { printf '%s\n' "$@" | median; }
stats() { printf '%.1f (%.1f-%.1f)' "$(med "$@")" "$(printf '%s\n' "$@" | sort -g | head -n1)" "$(printf '%s\n' "$@" | sort -g | tail -n1)"; }
# speed ANCHOR_MEDIAN PW_MEDIAN: piworker's speed over the anchor's
speed() { awk -v a="$1" -v p="$2" 'BEGIN { printf "%.2f", a / p }'; }
pw_med=$(med "${pw[@]}")
echo
echo "Summary: median (min-max) over $REPS rounds (mpi4py: $PY_REPS), whole command; inside = $INSIDE of $N in every run"
printf '  %-32s %-30s program: %s\n' "pisubmit -> piworker" "$(stats "${pw[@]}") ms" "$(stats "${pw_job[@]}") ms"
printf '  %-32s %-30s program: %s  -> piworker %sx its speed\n' "Open MPI C (mpirun -np $NP)" \
    "$(stats "${c[@]}") ms" "$(stats "${c_prog[@]}") ms" "$(speed "$(med "${c[@]}")" "$pw_med")"
printf '  %-32s %-30s program: %s  -> piworker %sx its speed\n' "mpi4py + NumPy (mpirun -np $NP)" \
    "$(stats "${py[@]}") ms" "$(stats "${py_prog[@]}") ms" "$(speed "$(med "${py[@]}")" "$pw_med")"
echo "  as the programs time themselves, piworker runs at $(speed "$(med "${c_prog[@]}")" "$(med "${pw_job[@]}")")x the C program's speed"

measure="$label darts, $NP cores, whole command"
bench_row "Monte Carlo pi" "$measure" ms lower "${pw[*]}" "Open MPI C (mpirun -np $NP)" "${c[*]}" "ratio>=1" \
    "all three count the same $INSIDE darts inside"
bench_row "Monte Carlo pi" "$measure" ms lower "${pw[*]}" "mpi4py + NumPy (mpirun -np $NP)" "${py[*]}" "-"
bench_row "Monte Carlo pi" "$label darts, $NP cores, time the programs report" ms lower "${pw_job[*]}" \
    "Open MPI C (mpirun -np $NP)" "${c_prog[*]}" "-" "pisubmit wall_ms; MPI barrier to reduce"
echo "bench/pi.sh: 3 rows to ${BENCH_ROWS:-target/bench/rows.tsv}; took $(( (${EPOCHREALTIME/./} - start) / 1000000 )) s"
