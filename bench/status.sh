#!/usr/bin/env bash
# What a status answer costs on this machine: HostProbe::read alone, and a
# StatusRequest's round trip against a Ping's on one connection to a
# local worker (examples/bench_status.rs). Prints one line of numbers;
# docs/PERFORMANCE.md records a run.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet --bin piworker --example bench_status
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
target/release/piworker --listen "127.0.0.1:$port" --threads 1 2>/dev/null &
worker=$!
trap 'kill $worker 2>/dev/null' EXIT
for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
echo "status cost ($(date -u +%F), $(nproc) CPUs):"
target/release/examples/bench_status "127.0.0.1:$port" 20000
