#!/usr/bin/env bash
# Installs the tools piworker is compared against (`make bench` runs this
# first; as root on Debian). From Debian: OpenMPI and its C compiler
# wrapper, mpi4py and NumPy for Debian's python3, primesieve, GNU parallel,
# perf and valgrind for the profiles. From PyPI: dispy, in a virtual
# environment under target/bench/venv that also sees Debian's packages, so
# that every Python anchor runs on the same interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(openmpi-bin libopenmpi-dev python3-mpi4py python3-numpy python3-venv
    primesieve parallel linux-perf valgrind time)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "bench: missing Debian packages (run as root to install): ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
venv=target/bench/venv
if [ ! -x "$venv/bin/python" ]; then
    mkdir -p target/bench
    /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -c 'import dispy' 2>/dev/null || "$venv/bin/pip" install -q dispy
