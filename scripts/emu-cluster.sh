#!/usr/bin/env bash
# An emulated Raspberry Pi cluster on one machine: a head and N "Pis", each
# in its own network namespace, on a star through a switch (the bridge
# emubr0 in the root namespace), every link shaped to a named profile, each
# Pi's piworker held to a CPU quota, optionally a share of packets lost.
#
#   scripts/emu-cluster.sh up --profile pi4-gigabit|pi3-usb|lab-100 --pis N
#                          [--loss PCT] [--threads T] [--quota-ms Q]
#                          [--dilation auto|F] [--job-dir DIR] [--piworker PATH]
#   scripts/emu-cluster.sh hosts          # the --hosts spec of the Pis, one line
#   scripts/emu-cluster.sh info           # KEY=VALUE lines: rates, dilation, ...
#   scripts/emu-cluster.sh run-head CMD...   # CMD in the head's namespace
#   scripts/emu-cluster.sh time-head CMD...  # the same, then its wall time on
#                                            # stderr, emulated and on real Pis
#   scripts/emu-cluster.sh dropped        # packets the loss rules dropped, all Pis
#   scripts/emu-cluster.sh down           # removes everything; idempotent
#
# Names and addresses (none clash with netns-cluster.sh's pwc*, vpwc*,
# pwclu0, 198.18.1.0/24 or the install test's pwpi*, pwtest0, 198.18.0.0/24):
# head namespace emuhead, eth0 = 198.18.2.1/24, plugged in through vemuh;
# Pi K: namespace emupiK, eth0 = 198.18.2.(10+K)/24 through vemuK, piworker
# on :31415 in the cpu cgroup /sys/fs/cgroup/cpu/emupiK; logs and state in
# /run/emu-cluster. Nothing outside 198.18.2.0/24 is ever touched.
#
# LINKS. Both directions of every link are shaped with tbf (netem is not in
# this kernel): on the bridge side of each veth (traffic towards the host)
# and on eth0 inside the host's namespace (traffic from it). The head has one
# such link, so all the workers' traffic to and from the head shares its
# rate, as through a real switch. Loss (--loss) is nftables dropping PCT% of
# each Pi's packets in and out (netns-lib.sh's lossy_port).
#
# THE CPU QUOTA, AND WHY THE LINKS ARE SLOWED TOO (time dilation).
# The yardstick is sysbench 1.0.20's cpu test (trial division of the
# numbers up to 10000, the same C on both machines), whose published Raspberry
# Pi figures (leoncode.co.uk/articles/raspberry-pi-benchmarks, `sysbench cpu
# --threads=4 --time=60 run`) are 5900.85 events/s for a Pi 4 (4 Cortex-A72)
# and 2459.22 for a Pi 3B+ (4 Cortex-A53). One core of
# this machine does about 3600 events per CPU-second (`sysbench cpu
# --threads=1`; `up` measures it again, by CPU time, not wall time), so a
# Pi 4 is about 1.6 of these cores, a Pi 3B+ about 0.7. This machine has 2
# cores for the head and all N Pis, so N x quota <= ~1.6 cores: 8 Pis can have
# 0.2 core each, 8x less than a Pi 4. The quota is the same for every N
# (default 20 ms of CPU per 100 ms), so a Pi is the same Pi on 1 host and
# on 8 and speed-ups compare like with like.
# A Pi slower than a real one on a real-speed link would make every job look
# more compute-bound than it is. So instead the links are slowed by the same
# factor D = (the Pi's published 4-core rate) / (quota x this machine's
# one-core rate): the ratio of compute speed to link speed is a real Pi's,
# and every emulated time is D times the real one. `up` measures this
# machine's rate (3 s of sysbench on one core) unless --dilation F gives D;
# --dilation 1 shapes the links to the profile's own rate (for tests that
# check correctness, not speed). `info` prints D, `time-head` divides a
# command's time by it, and the bench its emulated times, to give times on
# real Pis.
# What this does not emulate, and the error it implies: (1) the round trip:
# a real switch adds ~0.1-0.3 ms, veths ~0.02 ms, and without netem it cannot
# be stretched by D, so phases that wait on round trips (Life's border
# rounds, many tiny pieces) look up to D times better than on real Pis
# relative to compute; (2) the cfs quota gives CPU in slices (1 ms of every
# 5 ms at 20%), adding up to 4 ms of latency to an answer that waits on a
# throttled worker; (3) one kernel's ratio: sysbench is integer division,
# while the sieve is cache-bound and the darts float-bound; an A72 and this
# x86 core may differ by some tens of percent more or less on those, so D
# (and with it a link-bound/compute-bound verdict near the boundary) is an
# estimate, good to perhaps +-30% (a guess: no Pi here to check against); (4) the quota is a ceiling: when the machine's other users
# take CPU the Pis get less. The head (pisubmit) runs unthrottled.
set -euo pipefail
# shellcheck source=netns-lib.sh
. "$(dirname "$0")/netns-lib.sh"

BRIDGE=emubr0
HEAD_NS=emuhead
HEAD_VETH=vemuh
NET=198.18.2
PORT=31415
STATE=/run/emu-cluster
CGROUP_ROOT=/sys/fs/cgroup/cpu
LOSS_TABLE=emuloss
# Published sysbench cpu events/s of the profile's Pi, all 4 cores (above).
PI4_EVENTS=5900.85
PI3B_PLUS_EVENTS=2459.22

say() { echo "[emu-cluster] $*" >&2; }
fail() {
    say "$*"
    exit 2
}

pi_namespaces() { ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^emupi[0-9]+$' || true; }

down() {
    set +e
    local cg
    remove_namespaces $(pi_namespaces) $(ip netns list 2>/dev/null | awk '{print $1}' | grep -x "$HEAD_NS")
    remove_links '^vemu(h|[0-9]+)$'
    ip link del "$BRIDGE" 2>/dev/null
    for cg in "$CGROUP_ROOT"/emupi*; do
        [ -d "$cg" ] && [[ "$(basename "$cg")" =~ ^emupi[0-9]+$ ]] || continue
        # A killed process leaves its group a moment later (bounded: 5 s).
        for _ in $(seq 50); do
            [ -z "$(cat "$cg/cgroup.procs" 2>/dev/null)" ] && break
            xargs -r kill -KILL <"$cg/cgroup.procs" 2>/dev/null
            sleep 0.1
        done
        rmdir "$cg" || say "down: could not remove $cg"
    done
    rm -rf "$STATE"
    set -e
    return 0
}

# shape NAMESPACE|"" IFACE KBIT: a token bucket on IFACE's way out. The
# bucket holds 4 ms of traffic (at least 32 KiB, one GSO packet of 64 KiB is
# cut to fit) and the queue 50 ms, a switch port's buffer.
shape() {
    local burst=$(($3 * 1000 / 8 / 250))
    [ "$burst" -ge 32768 ] || burst=32768
    tc ${1:+-n "$1"} qdisc add dev "$2" root tbf rate "${3}kbit" burst "$burst" latency 50ms
}

# This machine's sysbench events per second of one core's CPU time: the
# user time of 4000 events, not the wall time, so that other work on the
# machine does not make it look slower (median of 3 runs, about 1 s each).
here_events() {
    command -v sysbench >/dev/null ||
        fail "up: --dilation auto needs sysbench (apt-get install sysbench), or give --dilation F"
    local TIMEFORMAT=%U
    for _ in 1 2 3; do
        { time sysbench cpu --threads=1 --events=4000 --time=0 run >/dev/null; } 2>&1 |
            awk '{ if ($1 > 0) printf "%.1f\n", 4000 / $1 }'
    done | sort -g | sed -n 2p
}

# start_pi K: Pi K's piworker, in its namespace and its cpu cgroup, and
# waits (10 s at most) until the head can connect to it.
start_pi() {
    local k=$1 cg=$CGROUP_ROOT/emupi$1 addr=$NET.$((10 + $1))
    local extra=()
    [ -z "$JOB_DIR" ] || extra=(--job-dir "$JOB_DIR")
    mkdir "$cg"
    echo "$PERIOD_US" >"$cg/cpu.cfs_period_us"
    echo "$QUOTA_US" >"$cg/cpu.cfs_quota_us"
    # The shell joins the group, then becomes piworker (through `ip netns
    # exec`, which execs it too): no moment outside the group. The group is
    # joined first because `ip netns exec` mounts a /sys without cgroups.
    bash -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' _ "$cg" ip netns exec "emupi$k" \
        "$PIWORKER" --listen "$addr:$PORT" --allow "$NET.0/24" --no-discovery --threads "$THREADS" \
        "${extra[@]}" </dev/null >"$STATE/pi$k.log" 2>&1 &
    for _ in $(seq 100); do
        ip netns exec "$HEAD_NS" bash -c "exec 3<>/dev/tcp/$addr/$PORT" 2>/dev/null && return 0
        kill -0 $! 2>/dev/null || break
        sleep 0.1
    done
    fail "up: the piworker of emupi$k ($PIWORKER) does not answer at $addr:$PORT;" \
        "its log says: $(tail -3 "$STATE/pi$k.log" | grep . || echo nothing)"
}

up() {
    local profile='' n='' loss=0 dilation=auto mbit pi_events here k
    THREADS=2 QUOTA_MS=20 JOB_DIR='' PIWORKER=${PIWORKER:-$(dirname "$0")/../target/release/piworker}
    while [ $# -gt 0 ]; do
        [ $# -ge 2 ] || fail "up: $1 needs a value"
        case $1 in
            --profile) profile=$2 ;;
            --pis) n=$2 ;;
            --loss) loss=$2 ;;
            --threads) THREADS=$2 ;;
            --quota-ms) QUOTA_MS=$2 ;;
            --dilation) dilation=$2 ;;
            --job-dir) JOB_DIR=$(realpath "$2") ;;
            --piworker) PIWORKER=$2 ;;
            *) fail "up: unknown option '$1' (see the top of $0)" ;;
        esac
        shift 2
    done
    case $profile in
        pi4-gigabit) mbit=1000 pi_events=$PI4_EVENTS ;;
        pi3-usb) mbit=300 pi_events=$PI3B_PLUS_EVENTS ;;
        lab-100) mbit=100 pi_events=$PI4_EVENTS ;;
        *) fail "up: --profile must be pi4-gigabit, pi3-usb or lab-100, not '$profile'" ;;
    esac
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 32 ] || fail "up: --pis must be 1..32, not '$n'"
    [[ "$loss" =~ ^[0-9]+$ ]] && [ "$loss" -le 100 ] || fail "up: --loss must be a percentage 0..100, not '$loss'"
    [[ "$THREADS" =~ ^[0-9]+$ ]] && [ "$THREADS" -ge 1 ] || fail "up: --threads must be a count, not '$THREADS'"
    [[ "$QUOTA_MS" =~ ^[0-9]+$ ]] && [ "$QUOTA_MS" -ge 1 ] && [ "$QUOTA_MS" -le 200 ] ||
        fail "up: --quota-ms must be 1..200 (ms of CPU per 100 ms), not '$QUOTA_MS'"
    [ -x "$PIWORKER" ] || fail "up: no piworker at $PIWORKER (run 'make build', or give --piworker PATH)"
    [ "$loss" = 0 ] || command -v nft >/dev/null || fail "up: --loss needs nft (apt-get install nftables)"
    command -v tc >/dev/null || fail "up: the tc command (iproute2) is missing"
    [ -f "$CGROUP_ROOT/cpu.cfs_quota_us" ] || fail "up: no cgroup v1 cpu controller at $CGROUP_ROOT"
    # The kernel wants a quota of at least 1 ms: a short period keeps the
    # throttled gaps short (1 ms of every 5 ms at 20%, not 20 of every 100).
    if [ $((QUOTA_MS * 50)) -ge 1000 ]; then
        PERIOD_US=5000 QUOTA_US=$((QUOTA_MS * 50))
    else
        PERIOD_US=$((100000 / QUOTA_MS)) QUOTA_US=1000
    fi
    if [ "$dilation" = auto ]; then
        here=$(here_events)
        dilation=$(awk -v p="$pi_events" -v q="$QUOTA_MS" -v h="$here" 'BEGIN { printf "%.3f", p / (q / 100 * h) }')
    else
        here=-
        awk -v d="$dilation" 'BEGIN { exit !(d + 0 > 0 && d + 0 <= 1000) }' ||
            fail "up: --dilation must be auto or a factor in (0, 1000], not '$dilation'"
    fi
    local kbit
    kbit=$(awk -v m="$mbit" -v d="$dilation" 'BEGIN { printf "%d", m * 1000 / d }')
    [ "$kbit" -ge 100 ] || fail "up: a link of $mbit Mbit/s slowed $dilation times is below 100 kbit/s"

    down
    # A failed or interrupted `up` leaves nothing behind.
    trap 'say "up failed or was interrupted: removing what was made"; down' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    mkdir -p "$STATE"
    bridge_up "$BRIDGE"
    host_up "$HEAD_NS" "$HEAD_VETH" "$NET.1/24" "$BRIDGE"
    shape "" "$HEAD_VETH" "$kbit"
    shape "$HEAD_NS" eth0 "$kbit"
    for k in $(seq "$n"); do
        host_up "emupi$k" "vemu$k" "$NET.$((10 + k))/24" "$BRIDGE"
        shape "" "vemu$k" "$kbit"
        shape "emupi$k" eth0 "$kbit"
        [ "$loss" = 0 ] || lossy_port "emupi$k" "vemu$k" "$loss" "$LOSS_TABLE"
    done
    for k in $(seq "$n"); do
        start_pi "$k"
    done
    cat >"$STATE/info" <<EOF
profile=$profile
pis=$n
profile_mbit=$mbit
shaped_kbit=$kbit
dilation=$dilation
pi_sysbench_events=$pi_events
here_sysbench_events=$here
quota_ms_per_100ms=$QUOTA_MS
cfs_quota_us=$QUOTA_US
cfs_period_us=$PERIOD_US
threads=$THREADS
loss_percent=$loss
head_ns=$HEAD_NS
head_addr=$NET.1
head_veth=$HEAD_VETH
EOF
    trap - EXIT INT TERM
    say "up: $profile, $n Pis at $NET.11..$NET.$((10 + n)):$PORT, head $NET.1 in $HEAD_NS;" \
        "links ${kbit} kbit/s (${mbit} Mbit/s slowed ${dilation}x), ${QUOTA_MS}% of a core and $THREADS threads" \
        "a Pi, ${loss}% loss"
}

need_up() { [ -f "$STATE/info" ] || fail "$1: no emulated cluster is up (scripts/emu-cluster.sh up ...)"; }

hosts() {
    need_up hosts
    local n
    n=$(sed -n 's/^pis=//p' "$STATE/info")
    seq "$n" | awk -v net="$NET" -v port="$PORT" '{ printf "%s%s.%d:%d", (NR > 1 ? "," : ""), net, 10 + $1, port } END { print "" }'
}

dropped() {
    need_up dropped
    local ns total=0
    for ns in $(pi_namespaces); do
        total=$((total + $(dropped_packets "$ns" "$LOSS_TABLE" 2>/dev/null || echo 0)))
    done
    echo "$total"
}

[ "$(id -u)" = 0 ] || fail "needs root (it creates network namespaces, qdiscs and cgroups)"
command -v ip >/dev/null || fail "the ip command (iproute2) is missing"
cmd=${1:-}
[ $# -eq 0 ] || shift
case $cmd in
    up) up "$@" ;;
    hosts) hosts ;;
    info) need_up info && cat "$STATE/info" ;;
    run-head)
        need_up run-head
        [ $# -gt 0 ] || fail "run-head: give a command"
        exec ip netns exec "$HEAD_NS" "$@"
        ;;
    time-head)
        need_up time-head
        [ $# -gt 0 ] || fail "time-head: give a command"
        start=$EPOCHREALTIME rc=0
        ip netns exec "$HEAD_NS" "$@" || rc=$?
        awk -v a="$start" -v b="$EPOCHREALTIME" -v d="$(sed -n 's/^dilation=//p' "$STATE/info")" \
            'BEGIN { printf "[emu-cluster] %.3f s emulated, about %.3f s on real Pis (dilation %s)\n", b - a, (b - a) / d, d }' >&2
        exit "$rc"
        ;;
    dropped) dropped ;;
    down) down ;;
    *) fail "usage: $0 up --profile P --pis N [...] | hosts | info | run-head CMD... | time-head CMD... | dropped | down" ;;
esac
