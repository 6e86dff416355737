#!/usr/bin/env bash
# Seed 004's lab on one machine: 240 piworker processes with one compute
# thread each on loopback ports, and pisubmit against all of them: pi and
# primes with their answers checked, status over all 240, a Game of Life
# board cut 240 ways, and pisubmit's peak RSS for each (GNU time). Then
# piworker's own footprint: idle and busy RSS of one worker.
# WORKERS (240) changes the count.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
n=${WORKERS:-240}
cargo build --release --quiet --bin piworker --bin pisubmit
bin=$PWD/target/release
tmp=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
for i in $(seq "$n"); do
    "$bin/piworker" --listen 127.0.0.1:0 --threads 1 --no-discovery 2>"$tmp/w$i.log" &
    pids+=($!)
done
for i in $(seq "$n"); do
    for _ in $(seq 100); do grep -q "listening on" "$tmp/w$i.log" && break; sleep 0.05; done
done
grep -ho "listening on [0-9.:]*" "$tmp"/w*.log | awk '{print $3}' >"$tmp/hosts"
[ "$(wc -l <"$tmp/hosts")" = "$n" ] || { echo "only $(wc -l <"$tmp/hosts") of $n workers started" >&2; exit 1; }

# Runs pisubmit under GNU time; prints "wall_s peak_rss_kib" and keeps stdout in $tmp/out.
measured() {
    /usr/bin/time -f "%e %M" -o "$tmp/time" "$bin/pisubmit" --hosts "@$tmp/hosts" "$@" >"$tmp/out"
    cat "$tmp/time"
}
echo "$n workers on loopback, one thread each ($(date -u +%F), $(nproc) CPUs):"
read -r wall rss < <(measured --json pi --samples 1e9)
echo "  pi 1e9 darts:        $(field result <"$tmp/out")  ${wall} s  pisubmit peak RSS ${rss} KiB"
read -r wall rss < <(measured --json primes --from 1 --to 1e9)
primes=$(field result <"$tmp/out")
[ "$primes" = 50847534 ] || { echo "wrong prime count $primes" >&2; exit 1; }
echo "  primes to 1e9:       $primes  ${wall} s  pisubmit peak RSS ${rss} KiB"
read -r wall rss < <(measured --json status)
up=$(python3 -c "import json; d=json.load(open('$tmp/out')); print(sum(1 for h in d['hosts'] if not h.get('error')))")
echo "  status:              $up of $n answered  ${wall} s  pisubmit peak RSS ${rss} KiB"
read -r wall rss < <(measured --json life --random 0.3 --seed 1 --width 2048 --height 2048 --generations 200)
echo "  life 2048^2 x 200:   sha256 $(field hash <"$tmp/out" | cut -c1-16)  ${wall} s  pisubmit peak RSS ${rss} KiB"

# One worker's own footprint: idle, then busy with a job on its thread.
kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
idle=$(kib "${pids[0]}")
one=$(head -1 "$tmp/hosts")
"$bin/pisubmit" --hosts "$one" primes --from 1 --to 3e9 >/dev/null &
job=$!
sleep 1
busy=$(kib "${pids[0]}")
wait $job
echo "  one piworker:        idle RSS ${idle} KiB, busy (primes) RSS ${busy} KiB"
