#!/usr/bin/env bash
# What a status answer costs on this machine: HostProbe::read alone, and a
# StatusRequest's round trip against a Ping's on one connection to a
# local worker (examples/bench_status.rs). Prints one line of numbers;
# docs/PERFORMANCE.md records a run.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
cargo build --release --quiet --bin piworker --example bench_status
port=$(free_port)
target/release/piworker --listen "127.0.0.1:$port" --threads 1 2>/dev/null &
worker=$!
trap 'kill $worker 2>/dev/null' EXIT
wait_for_port "$port"
echo "status cost ($(date -u +%F), $(nproc) CPUs):"
target/release/examples/bench_status "127.0.0.1:$port" 20000
