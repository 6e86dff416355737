# Sourced by scripts/arm-test.sh and scripts/wheel-test.sh: piworkers on
# loopback for a check script. The caller defines WORK (a directory for the
# logs), PIDS (an array; its EXIT trap stops every worker listed there) and
# die.

# Starts a worker in the background on a free loopback port and waits
# (bounded) for its "listening on" line; sets ADDR. Not in a $(...)
# subshell: the worker would hold the pipe open and PIDS would be lost.
ADDR=""
start_worker() {
    local name=$1
    shift
    local log="$WORK/worker-$name.log"
    RUST_LOG=info "$@" --listen 127.0.0.1:0 </dev/null >/dev/null 2>"$log" &
    PIDS+=($!)
    local pid=$!
    for _ in $(seq 300); do
        if grep -q "listening on" "$log"; then
            ADDR=$(grep -o "listening on 127\.0\.0\.1:[0-9]*" "$log" | head -1 | awk '{print $3}')
            [ -n "$ADDR" ] || die "the $name worker listens somewhere unexpected: $(cat "$log")"
            echo "  $name: $ADDR   $(grep -o "piworker [^ ]* listening.*" "$log")"
            return
        fi
        kill -0 "$pid" 2>/dev/null || die "the $name worker exited at start: $(cat "$log")"
        sleep 0.1
    done
    die "the $name worker did not report its port within 30 s: $(cat "$log")"
}
