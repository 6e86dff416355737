#!/usr/bin/env bash
# The Python package's tests (python/tests, pytest) against real piworkers
# on loopback: builds the extension into a venv under target/ with
# maturin, then runs pytest. The venv sees the system's site-packages, so
# Debian's python3-numpy is the NumPy under test (the no-NumPy paths hide
# it); `make build-deps` installs python3-venv and python3-numpy.
# Run with `bash scripts/python-test.sh [PYTEST ARGS]`; `make test` runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-/usr/bin/python3}
VENV=target/pyvenv
if ! "$PYTHON" -c 'import numpy' 2>/dev/null; then
    echo "python-test: FAIL: $PYTHON has no numpy (install python3-numpy: make build-deps)" >&2
    exit 1
fi
if [ ! -x "$VENV/bin/maturin" ] || [ ! -x "$VENV/bin/pytest" ]; then
    "$PYTHON" -m venv --system-site-packages "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'maturin>=1.5,<2' 'pytest>=7'
fi
# The workers the tests start, and pisubmit for reference answers.
cargo build --release --quiet
VIRTUAL_ENV=$PWD/$VENV PATH=$PWD/$VENV/bin:$PATH \
    "$VENV/bin/maturin" develop --quiet --release -m python/Cargo.toml
cd python
exec "../$VENV/bin/python" -m pytest -q "$@" tests
