#!/usr/bin/env bash
# The seed workloads on emulated Pi clusters (scripts/emu-cluster.sh): every
# profile, 1, 2, 4 and 8 Pis: wall time, speed-up and efficiency against the
# same job on 1 Pi, and for the transfers (reduce, echo, primes --output) the
# rate the head's link achieved (bytes through its veth, whichever way is the
# busier, over the job's wall time) against its shaped rate. Times are the
# emulated ones; the notes give them scaled back to real Pis (divided by the
# dilation D: see the top of scripts/emu-cluster.sh). Records rows for
# `make bench-net`'s table in docs/PERFORMANCE.md. Needs root.
#
# Knobs (environment):
#   NET_PROFILES   profiles to run (lab-100 pi4-gigabit pi3-usb)
#   NET_PIS        cluster sizes (1 2 4 8); speed-ups need 1 among them
#   NET_WORKLOADS  (loopsum pi primes primes-output reduce echo life exec farm);
#                  also life-head: life with --borders head, to compare
#   NET_REPS       runs of each job on each cluster (2); the table shows the median
#   NET_TRANSFER_SECS  the transfers are sized to take this long on the
#                  shaped link (6): reduce and echo move rate x SECS bytes,
#                  primes --output goes as far as makes that many bytes
#   NET_PI_DARTS (8e8), NET_LOOPSUM_T (40001), NET_LOOPSUM_U (45001),
#   NET_PRIMES_TO (7e9), NET_LIFE_SIZE (8192), NET_LIFE_GENS (1000),
#   NET_EXEC_UNITS (16000), NET_FARM_TASKS (48), NET_FARM_MS (400):
#                  the compute sizes, about 10 s each on 1 emulated Pi
#                  (Life about 50 s: fewer generations and loading the board
#                  and gathering it back, over the head link, is all it measures)
#   NET_GOAL_PRIMES  1 (default) also runs issue 18's goal job, primes
#                  --output to 10^9 on 8 Pis over lab-100 (when both are
#                  in NET_PROFILES and NET_PIS), once
#   NET_DILATION   the dilation factor (default: measured once, at the start)
#   NET_QUOTA_MS   each Pi's CPU quota, ms per 100 ms (20, emu-cluster.sh's
#                  default); D is measured for it, so a lower quota is the
#                  same Pi, slower, with links slowed alike: 8 Pis at 12 take
#                  ~1 of this machine's 2 cores, leaving the head its own
#   PISUBMIT_PACK_STDOUT  0: exec's stdout goes unpacked (as before protocol
#                  1.6), for a before/after pair of rows
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
[ "$(id -u)" = 0 ] || die "needs root (network namespaces, qdiscs, cgroups)"
profiles=${NET_PROFILES:-lab-100 pi4-gigabit pi3-usb}
pis=${NET_PIS:-1 2 4 8}
workloads=${NET_WORKLOADS:-loopsum pi primes primes-output reduce echo life exec farm}
reps=${NET_REPS:-2}
secs=${NET_TRANSFER_SECS:-6}
darts=${NET_PI_DARTS:-8e8}
loop_t=${NET_LOOPSUM_T:-40001} loop_u=${NET_LOOPSUM_U:-45001}
primes_to=${NET_PRIMES_TO:-7e9}
life_size=${NET_LIFE_SIZE:-8192} life_gens=${NET_LIFE_GENS:-1000}
exec_units=${NET_EXEC_UNITS:-16000}
farm_tasks=${NET_FARM_TASKS:-48} farm_ms=${NET_FARM_MS:-400}
emu=scripts/emu-cluster.sh
bin=$PWD/target/release
[ -x "$bin/pisubmit" ] && [ -x "$bin/piworker" ] || die "no release build: run 'make build'"
command -v sysbench >/dev/null || { apt-get update -qq && apt-get install -y -qq sysbench >/dev/null; }

tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'stop_children; bash $emu down; rm -rf "$tmp"' EXIT
trap_signals
# The exec job (bench/lib.sh's write_crunch), sent packed unless
# PISUBMIT_PACK_STDOUT=0, which this script passes through.
write_crunch "$tmp/jobs"
seq "$farm_tasks" | awk -v ms="$farm_ms" '{ print ms, "task" $1 }' >"$tmp/farm.txt"

dilation=${NET_DILATION:-}
quota_ms=${NET_QUOTA_MS:-20}
if [ -z "$dilation" ]; then
    bash $emu up --profile lab-100 --pis 1 --dilation auto --quota-ms "$quota_ms" 2>/dev/null
    dilation=$(bash $emu info | sed -n 's/^dilation=//p')
    here=$(bash $emu info | sed -n 's/^here_sysbench_events=//p')
    echo "net: this machine does $here sysbench events per CPU-second; a Pi 4 at ${quota_ms}% of a core here is ${dilation}x slower"
fi
# D per profile: the Pi 3B+ of pi3-usb is slower than a Pi 4 (emu-cluster.sh).
profile_dilation() {
    case $1 in
        pi3-usb) awk -v d="$dilation" 'BEGIN { printf "%.3f", d * 2459.22 / 5900.85 }' ;;
        *) echo "$dilation" ;;
    esac
}

# pi(X) ~ X / (ln X - 1): the X whose primes take $1 bytes on the wire at
# about a byte each (protocol 1.4 streams primes as gaps: 1.0005 bytes a
# prime below 10^9, docs/PERFORMANCE.md "Primes on the wire").
primes_for_bytes() {
    python3 -c "
import math
want = $1
x = 1e6
while x / (math.log(x) - 1) < want: x *= 1.01
print(int(x))"
}

# i64 file of $1 bytes (0, 1, 2, ...), made once per size.
ints_file() {
    local file=$tmp/ints-$1.i64
    [ -s "$file" ] || /usr/bin/python3 -c "import numpy; numpy.arange($1 // 8, dtype='>i8').tofile('$file')"
    echo "$file"
}

head_bytes() { cat /sys/class/net/vemuh/statistics/tx_bytes /sys/class/net/vemuh/statistics/rx_bytes; }

# job_args WORKLOAD: sets ARGS (pisubmit's job arguments), INPUT (its stdin)
# and LABEL (the row's words).
job_args() {
    INPUT=/dev/null
    case $1 in
        loopsum) ARGS=(loopsum --t-range "0..$loop_t" --u-len "$loop_u") LABEL="loopsum ${loop_t}x${loop_u}" ;;
        pi) ARGS=(pi --samples "$darts") LABEL="pi, $darts darts" ;;
        primes) ARGS=(primes --from 1 --to "$primes_to") LABEL="primes count to $primes_to" ;;
        primes-output)
            ARGS=(primes --from 1 --to "$out_to" --output "$tmp/primes.txt")
            LABEL="primes --output to $out_to ($(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1e6 }') MB as gaps)"
            ;;
        reduce)
            ARGS=(reduce --op sum --dtype i64be --input "$(ints_file "$bytes")")
            LABEL="reduce of a $(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1e6 }') MB file"
            ;;
        primes-goal) ARGS=(primes --from 1 --to 1e9 --output "$tmp/primes.txt") LABEL="primes --output to 10^9 (51 MB as gaps)" ;;
        echo) ARGS=(echo --bytes "$bytes") LABEL="echo of $(awk -v b="$bytes" 'BEGIN { printf "%.0f", b / 1e6 }') MB" ;;
        life)
            # The head's checkpoint every 10 s (a gather of the whole board)
            # is dilated with the rest: every 10 x D emulated seconds.
            ARGS=(life --random 0.3 --width "$life_size" --height "$life_size" --generations "$life_gens"
                --checkpoint-every "$(awk -v d="$d" 'BEGIN { printf "%.0fs", 10 * d }')")
            LABEL="life ${life_size}x${life_size}, $life_gens generations"
            ;;
        life-head)
            # The same, with the borders relayed through the head (as
            # before protocol 1.5), to compare with the direct swap.
            job_args life
            ARGS+=(--borders head)
            LABEL="$LABEL, borders through the head"
            ;;
        exec)
            ARGS=(exec crunch --range "0..$exec_units" --pieces 32 --output /dev/null)
            LABEL="exec, 32 pieces (2 MiB of CSV out$([ "${PISUBMIT_PACK_STDOUT:-1}" != 0 ] || echo ", not packed"))"
            ;;
        farm) ARGS=(farm spin) INPUT=$tmp/farm.txt LABEL="farm of $farm_tasks spin tasks of $farm_ms ms" ;;
        *) die "unknown workload '$1' in NET_WORKLOADS" ;;
    esac
}

# run_job WORKLOAD N: runs it NET_REPS times; appends the wall times (s) to
# T[$profile/$1/$N] and the head link's rates (MB/s) to R[...].
declare -A T R L
FAILED=()
run_job() {
    local key=$profile/$1/$2 before after moved secs_taken rate
    job_args "$1"
    L[$1]=$LABEL
    for _ in $(seq "$reps"); do
        mapfile -t before < <(head_bytes)
        # Timeouts are dilated too: a heartbeat that a real Pi answers in
        # 3 s, an emulated one answers in 3 x D.
        if ! TIMED_SOFT=1 timed "$INPUT" "$tmp/out" bash $emu run-head "$bin/pisubmit" --hosts "$hosts" \
            --heartbeat-timeout "$heartbeat" --json "${ARGS[@]}"; then
            FAILED+=("$1 on $2 Pis ($profile): $(tail -2 "$tmp/out.err" | tr '\n' ' ')")
            echo "  $1 $profile $2 Pis: FAILED: ${FAILED[-1]}"
            continue
        fi
        mapfile -t after < <(head_bytes)
        moved=$(((after[0] - before[0]) > (after[1] - before[1]) ? after[0] - before[0] : after[1] - before[1]))
        secs_taken=$(awk -v ms="$MS" 'BEGIN { printf "%.3f", ms / 1000 }')
        rate=$(awk -v b="$moved" -v ms="$MS" 'BEGIN { printf "%.3f", b / 1e6 / (ms / 1000) }')
        T[$key]+="$secs_taken " R[$key]+="$rate "
        printf '  %-13s %-11s %d Pis: %8.2f s, head link %7.2f MB/s of %.2f (%.3f MB)\n' "$1" "$profile" "$2" \
            "$secs_taken" "$rate" "$shaped_mbs" "$(awk -v b="$moved" 'BEGIN { printf "%.3f", b / 1e6 }')"
        if [[ $1 == life* ]]; then
            python3 -c 'import json, sys; v = json.load(sys.stdin); print("    life:", ", ".join(
                f"{k} {v.get(k)}" for k in ("borders", "rounds", "exchange_every", "round_ms", "compute_ms",
                                            "exchange_ms", "snapshots", "snapshot_ms", "wall_ms")))' \
                <"$tmp/out"
        fi
        rm -f "$tmp/primes.txt"
    done
}

med() { tr ' ' '\n' | grep . | median; }

# rows PROFILE WORKLOAD: the rows of one workload on one profile.
rows() {
    local p=$1 w=$2 n one t note speedup target d real pis_word
    d=$(profile_dilation "$p")
    one=${T[$p/$w/1]:-}
    for n in $pis; do
        t=${T[$p/$w/$n]:-}
        [ -n "$t" ] || continue
        pis_word=Pis
        [ "$n" != 1 ] || pis_word=Pi
        real=$(echo "$t" | med | awk -v d="$d" '{ printf "%.2f", $1 / d }')
        note="≈ $real s on real Pis"
        target=-
        if [ -n "$one" ] && [ "$n" != 1 ]; then
            speedup=$(awk -v a="$(echo "$one" | med)" -v b="$(echo "$t" | med)" 'BEGIN { printf "%.2f", a / b }')
            note="speed-up $speedup, efficiency $(awk -v s="$speedup" -v n="$n" 'BEGIN { printf "%.2f", s / n }'); $note"
            # Issue 18's goal: Life on 8 Pis over gigabit at 80% efficiency.
            [ "$w/$p/$n" != life/pi4-gigabit/8 ] || target="ratio>=6.4"
            bench_row "Emulated cluster: $p" "${L[$w]}, $n $pis_word ($p)" s lower "$t" "the same on 1 Pi" "$one" \
                "$target" "$note"
        else
            bench_row "Emulated cluster: $p" "${L[$w]}, $n $pis_word ($p)" s lower "$t" - - - "$note"
        fi
        if [ -n "${R[$p/$w/$n]:-}" ] && [[ " primes-output primes-goal reduce echo " == *" $w "* ]]; then
            bench_row "Emulated cluster: $p" "${L[$w]}, $n $pis_word ($p): head link rate" MB/s higher \
                "${R[$p/$w/$n]}" "the shaped head link" "${S[$p]}" "ratio>=0.9"
        fi
    done
}

declare -A S
for profile in $profiles; do
    d=$(profile_dilation "$profile")
    heartbeat=$(awk -v d="$d" 'BEGIN { printf "%.1f", 3 * d }')
    for n in $pis; do
        bash $emu up --profile "$profile" --pis "$n" --dilation "$d" --quota-ms "$quota_ms" --job-dir "$tmp/jobs" --piworker "$bin/piworker"
        hosts=$(bash $emu hosts)
        kbit=$(bash $emu info | sed -n 's/^shaped_kbit=//p')
        shaped_mbs=$(awk -v k="$kbit" 'BEGIN { printf "%.3f", k * 1000 / 8 / 1e6 }')
        S[$profile]=$shaped_mbs
        bytes=$(awk -v k="$kbit" -v s="$secs" 'BEGIN { printf "%d", int(k * 1000 / 8 * s / 8) * 8 }')
        out_to=$(primes_for_bytes "$bytes")
        for w in $workloads; do
            run_job "$w" "$n"
        done
        if [ "${NET_GOAL_PRIMES:-1}" = 1 ] && [ "$profile/$n" = lab-100/8 ]; then
            reps=1 run_job primes-goal 8
        fi
        bash $emu down
    done
    for w in $workloads; do rows "$profile" "$w"; done
    [ -z "${T[$profile/primes-goal/8]:-}" ] || rows "$profile" primes-goal
done
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "net: ${#FAILED[@]} runs failed (no sample recorded for them):"
    printf '  %s\n' "${FAILED[@]}"
fi
