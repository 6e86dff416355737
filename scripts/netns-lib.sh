# Shared by scripts/install-test.sh and scripts/netns-cluster.sh (sourced):
# a test "switch" on the host and test hosts plugged into it, each in its
# own network namespace. Callers remove what they made.

# bridge_up BRIDGE ADDR/PREFIX: the switch, with the head's address on it.
bridge_up() {
    ip link add "$1" type bridge
    ip addr add "$2" dev "$1"
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
