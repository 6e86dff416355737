# Shared by scripts/install-test.sh, scripts/netns-cluster.sh and
# scripts/emu-cluster.sh (sourced): a test "switch" on the host and test
# hosts plugged into it, each in its own network namespace, and lossy
# ports. Callers remove what they made.

# bridge_up BRIDGE [ADDR/PREFIX]: the switch, with the head's address on it
# when the head is the host itself (none when the head has its own namespace).
bridge_up() {
    ip link add "$1" type bridge
    [ -z "${2:-}" ] || ip addr add "$2" dev "$1"
    ip link set "$1" up
}

# host_up NAMESPACE VETH ADDR/PREFIX BRIDGE: a host whose eth0 is plugged
# into BRIDGE through the host-side end VETH.
host_up() {
    ip netns add "$1"
    ip link add "$2" type veth peer name eth0 netns "$1"
    ip link set "$2" master "$4" up
    ip -n "$1" addr add "$3" dev eth0
    ip -n "$1" link set eth0 up
    ip -n "$1" link set lo up
}

# lossy_port NAMESPACE VETH PERCENT TABLE: the host in NAMESPACE (plugged in
# through the host-side end VETH) drops PERCENT% of its packets, each way.
# This kernel has no netem, so loss is nftables dropping on a random number
# (numgen), in the host's own namespace: the table goes with the namespace.
# Both directions, so a lost Data frame and a lost ACK both happen.
lossy_port() {
    # A veth hands the stack 64 KiB super-packets (GSO): one segment each
    # makes every rule decision about one wire-sized packet, as on a switch.
    ip -n "$1" link set eth0 gso_max_segs 1
    ip link set "$2" gso_max_segs 1
    ip netns exec "$1" nft -f - <<EOF
table inet $4 {
    chain in {
        type filter hook input priority 0;
        iifname "eth0" numgen random mod 100 < $3 counter drop
    }
    chain out {
        type filter hook output priority 0;
        oifname "eth0" numgen random mod 100 < $3 counter drop
    }
}
EOF
}

# dropped_packets NAMESPACE TABLE: packets lossy_port's rules have dropped
# there, both ways together.
dropped_packets() {
    ip netns exec "$1" nft list table inet "$2" |
        awk '/counter packets/ { for (i = 1; i < NF; i++) if ($i == "packets") n += $(i + 1) } END { print n + 0 }'
}

# remove_namespaces NAMESPACE...: stops what runs in each (a frozen worker
# is thawed first; anything left would keep the namespace alive) and
# deletes it.
remove_namespaces() {
    local ns pid
    for ns in "$@"; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -CONT "$pid" 2>/dev/null
            kill -KILL "$pid" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null
    done
    return 0
}

# remove_links REGEX: the host's links whose names match. A veth goes with
# its peer's namespace (the kernel may take a moment); one is left for good
# only by an `up` that stopped half-way.
remove_links() {
    local link
    for link in $(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E "$1"); do
        ip link del "$link" 2>/dev/null
    done
    return 0
}
