# Shared by the bench scripts (sourced, not run): a free loopback port,
# waiting for a worker to listen, medians and JSON fields.

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to 5 s for something to listen on 127.0.0.1:$1.
wait_for_port() {
    for _ in $(seq 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}

# The median of the numbers on stdin, one per line.
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Field $1 of the JSON object on stdin.
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
