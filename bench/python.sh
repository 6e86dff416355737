#!/usr/bin/env bash
# The Python package (python/) against pisubmit on the same jobs, and a
# 1 GiB NumPy array folded from memory against pisubmit's 1 GiB file:
# bench/python_calls.py times both in one process, rounds interleaved, on
# one piworker on 127.0.0.1 (a compute thread per core, as bench/pi.sh).
# Two anchors join in, on the same machine:
#   - pi, 2e9 darts: mpi4py + NumPy (bench/mpi_pi.py under $MPIRUN, see
#     bench/lib.sh) is a third side of the pi rounds, timed as a whole
#     command (mpirun's start-up included, as bench/pi.sh does), and must
#     count the same darts inside as the Python call;
#   - tiny tasks throughput: Cluster.farm of TINY_PW_N `0 i` tasks against
#     dispy (bench/tiny_dispy.py --mode throughput on a dispynode started
#     here), tasks/s, measured as bench/tiny.sh measures both.
# A missing anchor (no mpirun or mpi4py; no dispy venv) is said loudly and
# its row left out; the other rows still run. Rows under "Python package".
# Builds the package into target/pyvenv first (scripts/python-test.sh's
# venv). Only 127.0.0.1 is used; everything started here is stopped on
# exit, Ctrl-C included.
# Knobs: BENCH_REPS (5), PY_REDUCE_BYTES (1 GiB), TINY_PW_N (100000 farm
# tasks), TINY_ANCHOR_N (1000 dispy jobs).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh

REPS=${BENCH_REPS:-5}
VENV=target/pyvenv
if [ ! -x "$VENV/bin/maturin" ]; then
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.5,<2' 'pytest>=7'
fi
VIRTUAL_ENV=$PWD/$VENV PATH=$PWD/$VENV/bin:$PATH "$VENV/bin/maturin" develop --quiet --release -m python/Cargo.toml

# skipped WHAT WHY: says loudly that a row is left out, now and again at
# the end (where it does not scroll away).
SKIPPED=()
skipped() {
    SKIPPED+=("bench/python.sh: *** SKIPPED: $1 row: $2 ***")
    printf '\n%s\n\n' "${SKIPPED[-1]}" >&2
}

tmp=$(mktemp -d)
WORKER_PID=''
cleanup() {
    stop_children "$WORKER_PID"
    stop_dispynode
    rm -rf "$tmp"
}
trap cleanup EXIT
trap_signals

if ! command -v mpirun >/dev/null; then
    skipped "pi against mpi4py + NumPy" "no mpirun (run bench/install-anchors.sh as root)"
elif ! /usr/bin/python3 -c 'import mpi4py, numpy' 2>/dev/null; then
    skipped "pi against mpi4py + NumPy" "/usr/bin/python3 lacks mpi4py or numpy (run bench/install-anchors.sh as root)"
else
    export BENCH_MPI_PI="${MPIRUN[*]} /usr/bin/python3 bench/mpi_pi.py" BENCH_MPI_NP
    BENCH_MPI_NP=$(nproc)
fi
if have_dispy; then
    mkdir "$tmp/dispynode"
    start_dispynode "$tmp/dispynode"
    export BENCH_DISPY_PY=$DISPY_PY BENCH_DISPY_PORT=$NODE_PORT BENCH_DISPY_VERSION
    BENCH_DISPY_VERSION=$(dispy_version)
else
    skipped "tiny tasks against dispy" "no dispy in $DISPY_PY (run bench/install-anchors.sh as root)"
fi

mkdir -p target/bench
start_worker target/bench/python-worker.log

# In the background, so that Ctrl-C and TERM reach the traps at once;
# stop_children stops it (TERM: it stops the anchor it is running).
"$VENV/bin/python" bench/python_calls.py "$WORKER" "$REPS" "$tmp/rows" &
CHILD=$!
wait "$CHILD"
CHILD=''
while IFS=$'\t' read -r -a f; do
    bench_row "${f[@]}"
done <"$tmp/rows"
[ ${#SKIPPED[@]} = 0 ] || printf '%s\n' "" "${SKIPPED[@]}" >&2
