#!/usr/bin/env bash
# Job programs (issue 8's targets), in one run on one machine:
#   1. What starting a piece costs over the program's own start-up: 1000
#      pieces of an empty program through one worker with one thread,
#      against the same program started 1000 times in a loop here.
#   2. How fast a program's output reaches the head: 4 pieces printing
#      256 MiB each (to --output /dev/null), against `pisubmit echo` of
#      1 GiB through the same worker.
# Target: 1 within a few ms a piece; 2 at least half of echo's rate.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
cargo build --release --quiet --bin piworker --bin pisubmit
bin=target/release
tmp=$(mktemp -d)
chmod 755 "$tmp"
printf '#!/bin/sh\n' >"$tmp/empty"
printf '#!/bin/sh\nhead -c 268435456 /dev/zero\n' >"$tmp/zeros"
chmod 755 "$tmp/empty" "$tmp/zeros"
port=$(free_port)
$bin/piworker --listen "127.0.0.1:$port" --threads 1 --job-dir "$tmp" 2>/dev/null &
worker=$!
trap 'kill $worker 2>/dev/null; rm -rf "$tmp"' EXIT
wait_for_port "$port"
n=1000
local_ms=(); piece_ms=(); exec_mbs=(); echo_mbs=()
for _ in 1 2 3; do
    start=$(date +%s%N)
    for _ in $(seq $n); do "$tmp/empty"; done
    end=$(date +%s%N)
    local_ms+=("$(python3 -c "print(($end - $start) / 1e6 / $n)")")
    wall=$($bin/pisubmit --hosts "127.0.0.1:$port" --json exec empty --range 0..$n --pieces $n \
        --output /dev/null | field wall_ms)
    piece_ms+=("$(python3 -c "print($wall / $n)")")
    wall=$($bin/pisubmit --hosts "127.0.0.1:$port" --json exec zeros --range 0..4 --pieces 4 \
        --output /dev/null | field wall_ms)
    exec_mbs+=("$(python3 -c "print(1024 / ($wall / 1000))")")
    wall=$($bin/pisubmit --hosts "127.0.0.1:$port" --json echo --bytes 1073741824 | field wall_ms)
    echo_mbs+=("$(python3 -c "print(1024 / ($wall / 1000))")")
done
l=$(printf '%s\n' "${local_ms[@]}" | median)
p=$(printf '%s\n' "${piece_ms[@]}" | median)
x=$(printf '%s\n' "${exec_mbs[@]}" | median)
e=$(printf '%s\n' "${echo_mbs[@]}" | median)
echo "job programs ($(date -u +%F), $(nproc) CPUs; medians of 3):"
printf '  empty program started here:        %.3f ms\n' "$l"
printf '  empty program as a piece:          %.3f ms a piece (1000 pieces, one worker thread)\n' "$p"
printf '  cost of a piece over its start-up: %.3f ms (target: a few ms)\n' "$(python3 -c "print($p - $l)")"
printf '  program output to the head:        %.0f MiB/s (4 x 256 MiB)\n' "$x"
printf '  echo through the same worker:      %.0f MiB/s (1 GiB)\n' "$e"
printf '  output / echo:                     %.2f (target >= 0.50)\n' "$(python3 -c "print($x / $e)")"
