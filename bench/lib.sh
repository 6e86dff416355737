# Shared by the bench scripts (sourced, not run): a free loopback port,
# waiting for a worker to listen, medians and JSON fields.

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Waits up to $2 seconds (5) for something to listen on 127.0.0.1:$1.
wait_for_port() {
    for _ in $(seq $((${2:-5} * 10))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}

# The median of the numbers on stdin, one per line.
# be_dtype PISUBMIT TYPE: the --dtype that reads big-endian TYPE (f64, i64)
# with that build: TYPEbe since f64/i64 became little-endian (CHANGELOG.md),
# TYPE for an older build given as BASE_BIN.
be_dtype() { if "$1" reduce --help 2>&1 | grep -q "${2}be"; then echo "${2}be"; else echo "$2"; fi; }

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Field $1 of the JSON object on stdin.
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }

# KiB (as /proc and GNU time give memory) in MiB.
kib_to_mib() { awk -v k="$1" 'BEGIN { printf "%.3f\n", k / 1024 }'; }

# bench_row SECTION MEASURE UNIT lower|higher "PIWORKER SAMPLES" ANCHOR "ANCHOR SAMPLES" TARGET [NOTE]
# Appends one row of the table that `make bench` writes into
# docs/PERFORMANCE.md (bench/table.py renders it). SAMPLES are the runs'
# values, space-separated, in UNIT; `lower` or `higher` says which is
# better. ANCHOR is the tool compared against ("-" and "-" for a row with
# no anchor). TARGET is "ratio>=R" (piworker's speed over the anchor's:
# above 1 means piworker is faster), "value<=V" or "value>=V" (on
# piworker's median, in UNIT), or "-".
bench_row() {
    [ $# -ge 8 ] || { echo "bench_row: need 8 or 9 arguments, got $#" >&2; return 1; }
    local rows=${BENCH_ROWS:-target/bench/rows.tsv}
    mkdir -p "$(dirname "$rows")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$7" "$8" "${9:-}" >>"$rows"
}

die() {
    echo "bench/$(basename "$0"): $*" >&2
    exit 1
}

# timed IN OUT CMD...: runs CMD with stdin from IN, stdout in OUT and
# stderr in OUT.err, and sets MS to its whole wall time in milliseconds
# (start-up and connecting included). CMD runs in the background with its
# pid in CHILD, so that a script's traps can stop it; an interrupted CMD
# exits the script with its status, a failing one stops it with its error
# (or, with TIMED_SOFT=1, makes timed return CMD's status instead).
MS='' CHILD=''
timed() {
    local in=$1 out=$2 t0 t1 rc=0
    shift 2
    t0=${EPOCHREALTIME/./}
    "$@" <"$in" >"$out" 2>"$out.err" &
    CHILD=$!
    wait "$CHILD" || rc=$?
    t1=${EPOCHREALTIME/./}
    CHILD=
    case $rc in 130 | 143) exit "$rc" ;; esac
    [ "$rc" = 0 ] || [ -z "${TIMED_SOFT:-}" ] || return "$rc"
    [ "$rc" = 0 ] || die "$* failed (exit $rc): $(tail -5 "$out.err")"
    MS=$(awk -v us=$((t1 - t0)) 'BEGIN { printf "%.3f", us / 1000 }')
}

# stop_children PID...: stops the command `timed` is running and the given
# processes (empty arguments are skipped), and waits for them. For a
# script's EXIT trap; `trap_signals` makes Ctrl-C and TERM run it too.
stop_children() {
    local pids=() pid
    for pid in "$CHILD" "$@"; do [ -z "$pid" ] || pids+=("$pid"); done
    if [ ${#pids[@]} -gt 0 ]; then
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
}
trap_signals() {
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

# start_worker LOG ARGS...: starts a piworker on a free loopback port with
# ARGS, waits until it listens, and sets WORKER_PID and WORKER (host:port).
start_worker() { start_worker_on "" "$@"; }

# start_worker_on CPUS LOG ARGS...: start_worker, the worker pinned to
# CPUS (taskset -c; all CPUs if empty), so one compute thread per CPU there.
start_worker_on() {
    local cpus=$1 log=$2 port pin=()
    shift 2
    [ -z "$cpus" ] || pin=(taskset -c "$cpus")
    port=$(free_port)
    "${pin[@]}" target/release/piworker --listen "127.0.0.1:$port" --no-discovery "$@" 2>"$log" &
    WORKER_PID=$!
    WORKER=127.0.0.1:$port
    wait_for_port "$port"
}

# MPIRUN: how the MPI anchors start (bench/pi.sh, bench/python.sh). One
# rank per core, pinned (--bind-to core), as piworker pins its compute
# threads; --allow-run-as-root: the bench runs as root (mpirun refuses
# otherwise).
MPIRUN=(mpirun --allow-run-as-root --bind-to core -np "$(nproc)")

# dispy lives in the venv bench/install-anchors.sh makes.
DISPY_PY=target/bench/venv/bin/python
have_dispy() { [ -x "$DISPY_PY" ] && "$DISPY_PY" -c 'import dispy' 2>/dev/null; }
dispy_version() { "$DISPY_PY" -c 'import dispy; print(dispy.__version__)'; }

# start_dispynode DIR: starts a dispynode serving every CPU of this machine
# on loopback, its files under DIR (which must exist; the caller removes
# it), waits until it listens, and sets NODE (its pid and process group;
# stop it with stop_dispynode) and NODE_PORT (bench/tiny_dispy.py's
# --node-port). dispynode listens on its -p plus one (dispy's ports come in
# pairs: client on P, node on P+1); the client (tiny_dispy.py) takes a free
# port of its own and names the node by address and port, so nothing is
# broadcast to the LAN: -i 127.0.0.1 binds the node to loopback, and the
# one UDP announcement it sends at start and after each client (to
# 255.255.255.255 from 127.0.0.1) is routed over lo. --dest_path_prefix:
# its files (config.pkl, per-client directories) under DIR; --clean: start
# even if an old config.pkl were left there. --daemon: do not read commands
# from stdin. Its log is DIR.log.
NODE='' NODE_PORT=''
start_dispynode() {
    local dir=$1
    NODE_PORT=$(free_port)
    setsid "$DISPY_PY" "$(dirname "$DISPY_PY")/dispynode.py" -i 127.0.0.1 -p $((NODE_PORT - 1)) -c "$(nproc)" \
        --dest_path_prefix "$dir" --clean --daemon </dev/null >"$dir.log" 2>&1 &
    NODE=$!
    wait_for_port "$NODE_PORT" || die "dispynode did not start: $(tail -5 "$dir.log")"
}

# stop_dispynode: stops start_dispynode's node, if any, with its setup and
# job processes (its process group). It normally quits on SIGTERM within a
# second, but once in testing it ignored the first one: KILL after 5 s.
stop_dispynode() {
    [ -n "$NODE" ] || return 0
    kill -TERM -- "-$NODE" 2>/dev/null || true
    for _ in $(seq 50); do
        kill -0 "$NODE" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$NODE" 2>/dev/null || true
    wait "$NODE" 2>/dev/null || true
    NODE=''
}

# write_crunch DIR: the job program `crunch` of bench/net.sh and
# bench/predict.sh, in a new job directory DIR: CPU work in proportion to
# its range (1000 awk steps a unit), then 64 KiB of text such as a real job
# program prints, whatever its range: CSV rows "piece,x,sqrt(x)" (LZ4
# packs it about 2.2 times).
write_crunch() {
    mkdir -p "$1"
    cat >"$1/crunch" <<'EOF'
#!/bin/sh
awk -v n="$((PIW_END - PIW_START))" 'BEGIN { for (i = 0; i < n * 1000; i++) s += i % 7; print s }'
awk -v p="$PIW_PIECE" -v a="$PIW_START" \
    'BEGIN { for (i = 0; i < 3000; i++) { x = a * 1000 + i; printf "%d,%d,%.6f\n", p, x, sqrt(x) } }' | head -c 65536
EOF
    chmod 755 "$1" "$1/crunch"
}
