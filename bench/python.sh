#!/usr/bin/env bash
# The Python package (python/) against pisubmit on the same jobs, and a
# 1 GiB NumPy array folded from memory against pisubmit's 1 GiB file:
# bench/python_calls.py times both in one process, rounds interleaved, on
# one piworker on 127.0.0.1 (a compute thread per core, as bench/pi.sh). Rows under "Python package". Builds the
# package into target/pyvenv first (scripts/python-test.sh's venv).
# Knobs: BENCH_REPS (5), PY_REDUCE_BYTES (1 GiB).
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

mkdir -p target/bench
start_worker target/bench/python-worker.log
trap 'stop_children $WORKER_PID' EXIT
trap_signals

rows=$(mktemp)
"$VENV/bin/python" bench/python_calls.py "$WORKER" "$REPS" "$rows"
while IFS=$'\t' read -r -a f; do
    bench_row "${f[@]}"
done <"$rows"
rm -f "$rows"
