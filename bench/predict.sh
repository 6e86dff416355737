#!/usr/bin/env bash
# `pisubmit bench --predict` against real runs. For each workload,
# `pisubmit bench` measures the wall time on 1, 2, 4, ... hosts (every
# thread of each), `pisubmit bench --predict` forecasts the same from a
# one-core sample, an echo through the head link and the round trip, and
# this prints both with the error, as a markdown table (stdout) and as
# rows in $PREDICT_OUT (tab-separated: setting, job, hosts, measured s,
# predicted s, error %, predicted limit).
#
#   bench/predict.sh loopback [N] [THREADS]   # N local workers (2) of THREADS threads (1)
#   bench/predict.sh hosts SPEC THREADS       # a cluster that is up, e.g. the emulated one:
#       PISUBMIT_WRAP="scripts/emu-cluster.sh run-head" \
#           bench/predict.sh hosts "$(scripts/emu-cluster.sh hosts)" 2
#   bench/predict.sh star PROFILE N           # root: a shaped star of its own, torn down after
#   bench/predict.sh crunch DIR               # writes exec's job program into DIR
#
# `star` is a small emulated cluster for checking the model before (or
# beside) scripts/emu-cluster.sh: a head namespace pwmh and Pis pwm1..N on
# a bridge pwm0 (198.18.3.0/24, names pwm*: nothing else uses them), every
# link shaped both ways with tbf at the profile's rate (pi4-gigabit
# 1000mbit, pi3-usb 300mbit, lab-100 100mbit), so the head's one link
# carries every worker's bytes; each Pi's piworker has one thread under a
# cgroup v1 cpu quota of PREDICT_QUOTA_US per 10 ms period (3000: 0.3
# core; a short period, so a job's end does not wait out a long throttle).
#
# Knobs: PREDICT_JOBS (space-separated names from `job_args`, default all),
# PREDICT_LIFE_SIZE (8192) and PREDICT_LIFE_GENS (1000) for life,
# BENCH_REPS (3 runs per host count, the median is compared), PREDICT_OUT
# (target/bench/predict.tsv), PISUBMIT (target/release/pisubmit),
# PIWORKER (target/release/piworker), PISUBMIT_WRAP (a command prefix
# pisubmit runs under).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
# shellcheck source=../scripts/netns-lib.sh
. scripts/netns-lib.sh

reps=${BENCH_REPS:-3}
out=${PREDICT_OUT:-target/bench/predict.tsv}
pisubmit=${PISUBMIT:-target/release/pisubmit}
piworker=${PIWORKER:-target/release/piworker}
jobs=${PREDICT_JOBS:-pi loopsum primes primes-output reduce echo life farm}
# exec is left out unless asked for: its program, crunch, must be in every
# worker's job directory (`bench/predict.sh crunch DIR` writes it;
# scripts/emu-cluster.sh up --job-dir DIR hands it to the emulated Pis).
wrap=${PISUBMIT_WRAP:-}
tmp=$(mktemp -d)
worker_pids=()
star=''
cleanup() {
    [ ${#worker_pids[@]} -eq 0 ] || stop_children "${worker_pids[@]}"
    [ -z "$star" ] || star_down
    rm -rf "$tmp"
}
trap cleanup EXIT
trap_signals

# The workload NAME's job and its options.
job_args() {
    case $1 in
    pi) echo "pi --samples 5e8" ;;
    loopsum) echo "loopsum --t-range 0..30001 --u-len 30001" ;;
    primes) echo "primes --from 1 --to 4e9" ;;
    primes-output) echo "primes --from 1 --to 2e8 --output $tmp/primes.txt" ;;
    reduce) echo "reduce --op sum --dtype i64be --input $tmp/ints.i64" ;;
    echo) echo "echo --bytes 64e6" ;;
    life) echo "life --width ${PREDICT_LIFE_SIZE:-8192} --height ${PREDICT_LIFE_SIZE:-8192} --random 0.3 --generations ${PREDICT_LIFE_GENS:-1000}" ;;
    farm) echo "farm spin" ;;
    exec) echo "exec crunch --range 0..${PREDICT_EXEC_UNITS:-16000} --pieces 32 --output /dev/null" ;;
    *) die "unknown workload $1 (pi loopsum primes primes-output reduce echo life farm exec)" ;;
    esac
}

# compare SETTING HOSTS THREADS COUNT: every workload on 1, 2, 4, ...
# COUNT hosts, measured then predicted.
compare() {
    local setting=$1 spec=$2 threads=$3 count=$4 name cores n
    cores=$(n=1; while [ "$n" -lt "$count" ]; do printf '%s,' $((n * threads)); n=$((n * 2)); done; echo $((count * threads)))
    [ -s "$tmp/ints.i64" ] || python3 -c "
import struct, sys
n = 8 << 20  # 64 MiB of i64
sys.stdout.buffer.write(b''.join(struct.pack('>q', i) for i in range(n)))" >"$tmp/ints.i64"
    mkdir -p "$(dirname "$out")"
    echo "| setting | job | hosts | measured (s) | predicted (s) | error | predicted limit |"
    echo "|---|---|---:|---:|---:|---:|---|"
    for name in $jobs; do
        if [ "$name" = life ] || [ "$name" = farm ] || [ "$name" = exec ]; then
            compare_whole "$name" "$setting" "$spec" "$count"
            continue
        fi
        # shellcheck disable=SC2046
        $wrap "$pisubmit" --hosts "$spec" --json bench --repeat "$reps" --cores "$cores" $(job_args "$name") \
            >"$tmp/measured.json" 2>"$tmp/measured.err" || die "$name: bench failed: $(tail -3 "$tmp/measured.err")"
        # shellcheck disable=SC2046
        $wrap "$pisubmit" --hosts "$spec" --json bench --predict $(job_args "$name") \
            >"$tmp/predicted.json" 2>"$tmp/predicted.err" || die "$name: predict failed: $(tail -3 "$tmp/predicted.err")"
        python3 - "$setting" "$name" "$threads" "$tmp/measured.json" "$tmp/predicted.json" "$out" <<'EOF'
import json, sys
setting, name, threads, measured, predicted, out = sys.argv[1:]
m = json.load(open(measured))
p = {r["hosts"]: r for r in json.load(open(predicted))["rows"]}
with open(out, "a") as rows:
    for r in m["rows"]:
        hosts = r["cores"] // int(threads)
        guess = p[hosts]
        err = 100.0 * (guess["wall_s"] - r["wall_s"]) / r["wall_s"]
        line = [setting, name, hosts, f"{r['wall_s']:.3f}", f"{guess['wall_s']:.3f}", f"{err:+.0f}%", guess["limit"]]
        rows.write("\t".join(map(str, line)) + "\n")
        print("| " + " | ".join(map(str, line)) + " |")
EOF
    done
}

# compare_whole NAME SETTING HOSTS COUNT: life, farm and exec are not cut
# into pieces over chosen cores, so bench cannot time them: the job runs on the
# first 1, 2, 4, ... COUNT hosts (BENCH_REPS times; the median of its own
# wall time, life's wall_ms or the farm's "ms wall", is compared) against
# one `bench --predict` over all of them (exec's wall_ms too). The farm's tasks:
# PREDICT_FARM_TASKS (48) of PREDICT_FARM_MS (400) ms, on stdin.
compare_whole() {
    local name=$1 setting=$2 spec=$3 count=$4 n first
    seq "${PREDICT_FARM_TASKS:-48}" | awk -v ms="${PREDICT_FARM_MS:-400}" '{ print ms, "task" $1 }' >"$tmp/tasks.txt"
    # shellcheck disable=SC2046
    $wrap "$pisubmit" --hosts "$spec" --json bench --predict $(job_args "$name") <"$tmp/tasks.txt" \
        >"$tmp/predicted.json" 2>"$tmp/predicted.err" || die "$name: predict failed: $(tail -3 "$tmp/predicted.err")"
    : >"$tmp/whole-measured.tsv"
    n=1
    while :; do
        first=$(tr ',' '\n' <<<"$spec" | head -n "$n" | paste -sd,)
        for _ in $(seq "$reps"); do
            # shellcheck disable=SC2046
            $wrap "$pisubmit" --hosts "$first" --json $(job_args "$name") <"$tmp/tasks.txt" >"$tmp/whole.json" \
                2>"$tmp/whole.err" || die "$name on $n hosts failed: $(tail -3 "$tmp/whole.err")"
            python3 - "$n" "$tmp/whole.json" "$tmp/whole.err" >>"$tmp/whole-measured.tsv" <<'EOF'
import json, re, sys
n, out, err = sys.argv[1:]
try:
    print(n, json.load(open(out))["wall_ms"] / 1e3)
except (ValueError, KeyError):
    print(n, float(re.search(r"([0-9.]+) ms wall", open(err).read()).group(1)) / 1e3)
EOF
        done
        [ "$n" -lt "$count" ] || break
        n=$((n * 2 < count ? n * 2 : count))
    done
    python3 - "$name" "$setting" "$tmp/whole-measured.tsv" "$tmp/predicted.json" "$out" <<'EOF'
import json, statistics, sys
name, setting, measured, predicted, out = sys.argv[1:]
runs = {}
for line in open(measured):
    hosts, wall = line.split()
    runs.setdefault(int(hosts), []).append(float(wall))
p = {r["hosts"]: r for r in json.load(open(predicted))["rows"]}
with open(out, "a") as rows:
    for hosts, walls in sorted(runs.items()):
        wall = statistics.median(walls)
        guess = p[hosts]
        err = 100.0 * (guess["wall_s"] - wall) / wall
        line = [setting, name, hosts, f"{wall:.3f}", f"{guess['wall_s']:.3f}", f"{err:+.0f}%", guess["limit"]]
        rows.write("\t".join(map(str, line)) + "\n")
        print("| " + " | ".join(map(str, line)) + " |")
EOF
}

loopback() {
    local n=${1:-2} threads=${2:-1} k port spec=''
    for k in $(seq "$n"); do
        port=$(free_port)
        "$piworker" --listen "127.0.0.1:$port" --threads "$threads" 2>"$tmp/worker$k.log" &
        worker_pids+=($!)
        wait_for_port "$port"
        spec+="${spec:+,}127.0.0.1:$port"
    done
    compare "loopback, $n x $threads thread" "$spec" "$threads" "$n"
}

star_down() {
    set +e
    local ns k
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pwm(h|[0-9]+)$'); do
        for k in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$k" 2>/dev/null; done
        ip netns del "$ns"
    done
    ip link del pwm0 2>/dev/null
    for k in /sys/fs/cgroup/cpu/pwm[0-9]*; do [ -d "$k" ] && rmdir "$k"; done
    set -e
}

# shape NAMESPACE VETH RATE BURST: tbf both ways on one link.
shape() {
    tc qdisc add dev "$2" root tbf rate "$3" burst "$4" latency 50ms
    tc -n "$1" qdisc add dev eth0 root tbf rate "$3" burst "$4" latency 50ms
}

star() {
    local profile=$1 n=$2 rate burst k cg spec=''
    case $profile in
    pi4-gigabit) rate=1000mbit burst=512kb ;;
    pi3-usb) rate=300mbit burst=128kb ;;
    lab-100) rate=100mbit burst=64kb ;;
    *) die "star: profile is pi4-gigabit, pi3-usb or lab-100, not '$profile'" ;;
    esac
    [[ "$n" =~ ^[1-8]$ ]] || die "star: 1 to 8 Pis, not '$n'"
    [ "$(id -u)" = 0 ] || die "star: needs root (namespaces, tc, cgroups)"
    star=up
    star_down
    ip link add pwm0 type bridge
    ip link set pwm0 up
    host_up pwmh vpwmh 198.18.3.1/24 pwm0
    shape pwmh vpwmh "$rate" "$burst"
    for k in $(seq "$n"); do
        host_up "pwm$k" "vpwm$k" "198.18.3.$((10 + k))/24" pwm0
        shape "pwm$k" "vpwm$k" "$rate" "$burst"
        cg=/sys/fs/cgroup/cpu/pwm$k
        mkdir -p "$cg"
        echo 10000 >"$cg/cpu.cfs_period_us"
        echo "${PREDICT_QUOTA_US:-3000}" >"$cg/cpu.cfs_quota_us"
        # The shell joins the group first, so piworker starts in it.
        sh -c "echo \$\$ >$cg/cgroup.procs; exec ip netns exec pwm$k $piworker \
            --listen 198.18.3.$((10 + k)):31415 --allow 198.18.3.0/24 --threads 1" 2>"$tmp/worker$k.log" &
        worker_pids+=($!)
        spec+="${spec:+,}198.18.3.$((10 + k)):31415"
    done
    sleep 1
    wrap="ip netns exec pwmh"
    compare "star $profile, $n x 1 thread at ${PREDICT_QUOTA_US:-3000}/10000 cpu" "$spec" 1 "$n"
}

case ${1:-} in
loopback) loopback "${2:-2}" "${3:-1}" ;;
hosts) [ $# -eq 3 ] || die "hosts SPEC THREADS"; compare "hosts $2" "$2" "$3" "$(tr ',' '\n' <<<"$2" | wc -l)" ;;
crunch) [ $# -eq 2 ] || die "crunch DIR"; write_crunch "$2" ;;
star) [ $# -eq 3 ] || die "star PROFILE N"; star "$2" "$3" ;;
*) die "usage: bench/predict.sh loopback [N] [THREADS] | hosts SPEC THREADS | star PROFILE N | crunch DIR" ;;
esac
