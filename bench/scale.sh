#!/usr/bin/env bash
# Seed 004's lab on one machine: 240 piworker processes with one compute
# thread each on loopback ports, and pisubmit against all of them: pi and
# primes with their answers checked, status over all 240, a Game of Life
# board cut 240 ways, and pisubmit's peak RSS for each (GNU time), against
# the same jobs on one worker with every core: what the extra hosts cost.
# Records rows for `make bench`'s table. WORKERS (240) changes the count.
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
# Each worker pins its one compute thread to the first CPU it may use:
# taskset spreads them over the CPUs, as 240 Pis would each have their own
# (without it all 240 would compute on CPU 0).
cpus=$(nproc)
for i in $(seq "$n"); do
    taskset -c $((i % cpus)) "$bin/piworker" --listen 127.0.0.1:0 --threads 1 --no-discovery 2>"$tmp/w$i.log" &
    pids+=($!)
done
for i in $(seq "$n"); do
    for _ in $(seq 100); do grep -q "listening on" "$tmp/w$i.log" && break; sleep 0.05; done
done
grep -ho "listening on [0-9.:]*" "$tmp"/w*.log | awk '{print $3}' >"$tmp/hosts"
[ "$(wc -l <"$tmp/hosts")" = "$n" ] || die "only $(wc -l <"$tmp/hosts") of $n workers started"

# Runs pisubmit under GNU time against HOSTS; prints "wall_s peak_rss_kib
# cpu_s" (user + system) and keeps stdout in $tmp/out.
measured() {
    local hosts=$1
    shift
    /usr/bin/time -f "%e %M %U %S" -o "$tmp/time" "$bin/pisubmit" --hosts "$hosts" "$@" >"$tmp/out"
    awk '{ printf "%s %s %.3f\n", $1, $2, $3 + $4 }' "$tmp/time"
}
# The same jobs on one worker with all the cores, for the per-host cost.
start_worker "$tmp/one.log"
pids+=("$WORKER_PID")
reps=${BENCH_REPS:-3}
section="240 workers (seed 004's lab)"

# compare NAME KEY EXPECTED JOB...: runs JOB over all the workers and on
# the one worker, REPS times each, requires KEY of the JSON answer to be
# EXPECTED (or, if EXPECTED is -, the same everywhere), and records the
# wall times, pisubmit's peak RSS, and the CPU time pisubmit spends per
# extra host.
compare() {
    local name=$1 key=$2 expected=$3 walls=() ones=() rsss=() cpus=() wall rss one answer r cpu cpu1
    shift 3
    for r in $(seq "$reps"); do
        read -r wall rss cpu < <(measured "@$tmp/hosts" --json "$@")
        answer=$(field "$key" <"$tmp/out")
        [ "$expected" = - ] && expected=$answer
        [ "$answer" = "$expected" ] || die "$name over $n workers gave $answer, not $expected"
        read -r one _ cpu1 < <(measured "$WORKER" --json "$@")
        answer=$(field "$key" <"$tmp/out")
        [ "$answer" = "$expected" ] || die "$name on one worker gave $answer, not $expected"
        walls+=("$wall") ones+=("$one") rsss+=("$(kib_to_mib "$rss")")
        cpus+=("$(awk -v a="$cpu" -v b="$cpu1" -v n="$n" 'BEGIN { printf "%.3f", (a - b) * 1000 / (n - 1) }')")
    done
    echo "  $name: $key ${expected:0:16}; $n workers ${walls[*]} s, one worker ${ones[*]} s;" \
        "pisubmit peak RSS ${rsss[*]} MiB, CPU per extra host ${cpus[*]} ms"
    bench_row "$section" "$name, $n one-thread workers" s lower "${walls[*]}" \
        "the same on 1 worker, $(nproc) threads" "${ones[*]}" "-"
    bench_row "$section" "$name: pisubmit peak RSS" MiB lower "${rsss[*]}" - - "value<=64"
    bench_row "$section" "$name: pisubmit CPU (user + system) per extra host" ms lower "${cpus[*]}" - - "-"
}

echo "$n workers on loopback, one thread each ($(date -u +%F), $(nproc) CPUs; $reps runs each):"
compare "pi, 10^9 darts" result - pi --samples 1e9
compare "primes to 10^9" result 50847534 primes --from 1 --to 1e9
compare "life 2048², 200 generations" hash - life --random 0.3 --seed 1 --width 2048 --height 2048 --generations 200
walls=() rsss=()
for r in $(seq "$reps"); do
    read -r wall rss _ < <(measured "@$tmp/hosts" --json status)
    up=$(python3 -c "import json; d=json.load(open('$tmp/out')); print(sum(1 for h in d['hosts'] if not h.get('error')))")
    [ "$up" = "$n" ] || die "only $up of $n workers answered status"
    walls+=("$wall") rsss+=("$(kib_to_mib "$rss")")
done
echo "  status: all $n answered in ${walls[*]} s; pisubmit peak RSS ${rsss[*]} MiB"
bench_row "$section" "status, all $n answered" s lower "${walls[*]}" - - "value<=1"
bench_row "$section" "status: pisubmit peak RSS" MiB lower "${rsss[*]}" - - "value<=64"
