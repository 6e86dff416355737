#!/usr/bin/env bash
# A test cluster on one machine: N "hosts" as network namespaces pwc1..pwcN,
# each with eth0 = 198.18.1.(10+K)/24 and lo up, joined by veth pairs
# (host side vpwcK) to the bridge pwclu0, which holds the head's address
# 198.18.1.1/24. Faults are then host-side commands: `ip link set vpwcK
# down` pulls a cable, and `loss K P` makes host K's port a bad one.
#
#   scripts/netns-cluster.sh up N      # N in 1..49; removes any old cluster first
#   scripts/netns-cluster.sh loss K P  # host K drops P% of its packets, each way
#   scripts/netns-cluster.sh dropped K # how many packets host K has dropped
#   scripts/netns-cluster.sh down      # removes everything `up` makes; idempotent
#
# Needs root. Uses only 198.18.1.0/24 and the names pwc*, vpwc*, pwclu0 (the
# install test uses pwpi*, pwtest0 and 198.18.0.0/24). Used by
# tests/cluster_netns.rs, which starts a piworker in each namespace with
# `ip netns exec pwcK piworker --listen 198.18.1.(10+K):31415`.
set -euo pipefail
# shellcheck source=netns-lib.sh
. "$(dirname "$0")/netns-lib.sh"

BRIDGE=pwclu0
HEAD_ADDR=198.18.1.1/24

say() { echo "[netns-cluster] $*" >&2; }

down() {
    set +e
    # Anything still running in a test host (a worker left by a killed
    # test run) is stopped first.
    remove_namespaces $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^pwc[0-9]+$')
    remove_links '^vpwc[0-9]+$'
    ip link del "$BRIDGE" 2>/dev/null
    # Per-host /etc files that `ip netns exec` mounts (a test's /etc/hosts).
    for d in /etc/netns/pwc*; do
        [[ "$(basename "$d")" =~ ^pwc[0-9]+$ ]] && rm -rf "$d"
    done
    set -e
    return 0
}

up() {
    local n=$1 k ns
    [[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -ge 1 ] && [ "$n" -le 49 ] || { say "up: N must be 1..49, not '$n'"; exit 2; }
    down
    # A failed `up` leaves nothing behind.
    trap 'say "up failed: removing what was made"; down' ERR
    bridge_up "$BRIDGE" "$HEAD_ADDR"
    for k in $(seq "$n"); do
        host_up "pwc$k" "vpwc$k" "198.18.1.$((10 + k))/24" "$BRIDGE"
    done
    trap - ERR
    say "up: $n hosts pwc1..pwc$n at 198.18.1.11..198.18.1.$((10 + n)), head 198.18.1.1 on $BRIDGE"
}

# Host K's port drops P% of its packets each way (netns-lib.sh's lossy_port).
loss() {
    local k=$1 percent=$2
    [[ "$k" =~ ^[0-9]+$ ]] && [[ "$percent" =~ ^[0-9]+$ ]] && [ "$percent" -le 100 ] ||
        { say "loss: K and P must be numbers, P at most 100 (got '$k' '$percent')"; exit 2; }
    command -v nft >/dev/null || { say "loss: the nft command (nftables) is missing"; exit 2; }
    lossy_port "pwc$k" "vpwc$k" "$percent" pwloss
    say "loss: pwc$k drops $percent% of its packets in and out"
}

# Packets host K's loss rules have dropped, both ways together.
dropped() {
    dropped_packets "pwc$1" pwloss
}

[ "$(id -u)" = 0 ] || { say "needs root (it creates network namespaces)"; exit 2; }
command -v ip >/dev/null || { say "the ip command (iproute2) is missing"; exit 2; }
case "${1:-}" in
    up) up "${2:-}" ;;
    loss) loss "${2:-}" "${3:-}" ;;
    dropped) dropped "${2:-}" ;;
    down) down ;;
    *) say "usage: $0 up N | loss K PERCENT | dropped K | down"; exit 2 ;;
esac
