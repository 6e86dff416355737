#!/usr/bin/env bash
# piworker's footprint on the Pi's own architectures: the stripped arm64,
# armhf and amd64 binaries' sizes, and the resident memory of a worker
# with a compute thread per core (piworker refuses more threads than the
# CPUs it may use, so this is 2 here where a Pi 4 has 4), idle and while it
# counts primes on all of them. Native amd64 RSS comes from /proc; the arm builds run under
# qemu-user, and bench/guest_rss.py counts only the guest's pages, not
# qemu's. The same measurement of the amd64 build under qemu-x86_64 is
# recorded next to its native RSS, to show how far the method is off.
# Records rows for `make bench`'s table. Needs the cross toolchains and
# qemu-user (`make build-deps`).
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
# shellcheck source=lib.sh
. bench/lib.sh
threads=$(nproc)
tmp=$(mktemp -d)
worker=
trap '[ -n "$worker" ] && kill $worker 2>/dev/null; rm -rf "$tmp"' EXIT

declare -A TRIPLE=([arm64]=aarch64-unknown-linux-gnu [armhf]=armv7-unknown-linux-gnueabihf)
declare -A QEMU=([arm64]="qemu-aarch64-static -L /usr/aarch64-linux-gnu" [armhf]="qemu-arm-static -L /usr/arm-linux-gnueabihf")
cargo build --release --quiet --bin piworker --bin pisubmit
for arch in arm64 armhf; do
    cargo build --release --quiet --target "${TRIPLE[$arch]}" --bin piworker
done

binary() { # ARCH
    case $1 in amd64) echo target/release/piworker ;; *) echo "target/${TRIPLE[$1]}/release/piworker" ;; esac
}
for arch in arm64 armhf amd64; do
    bin=$(binary $arch)
    readelf -S "$bin" | grep -q '\.symtab' && die "$bin is not stripped"
    size=$(awk -v b="$(stat -c %s "$bin")" 'BEGIN { printf "%.3f\n", b / 1048576 }')
    echo "  $arch: stripped binary $size MiB"
    bench_row "Footprint" "piworker binary, $arch, stripped" MiB lower "$size" - - "value<=2"
done

# measure NAME HOW: starts the worker (HOW: native, or qemu to run it under
# qemu-user), reads its RSS idle, then the most it reaches while counting
# the primes to 4·10^8 on every thread, and records both. Natively the
# kernel's VmHWM is that peak; under qemu (where the job takes seconds)
# the guest's pages are sampled every 0.1 s.
measure() {
    local name=$1 how=$2 bin rss_cmd peak_cmd port to=400000000
    bin=$(binary "${name%% *}")
    port=$(free_port)
    if [ "$how" = native ]; then
        "$bin" --listen "127.0.0.1:$port" --no-discovery --threads $threads 2>"$tmp/log" &
        worker=$!
        rss_cmd() { awk '$1 == "VmRSS:" { print $2 }' "/proc/$worker/status"; }
        peak_cmd() { awk '$1 == "VmHWM:" { print $2 }' "/proc/$worker/status"; }
    else
        local qemu=${QEMU[${name%% *}]:-qemu-x86_64-static}
        # shellcheck disable=SC2086 # the qemu command and its -L prefix
        $qemu -d page -D "$tmp/qemu.log" "$bin" --listen "127.0.0.1:$port" --no-discovery --threads $threads 2>"$tmp/log" &
        worker=$!
        rss_cmd() { python3 bench/guest_rss.py "$worker" "$tmp/qemu.log" | sed 's/rss_kib=//'; }
        peak_cmd() { echo 0; }
    fi
    wait_for_port "$port" 30
    sleep 1
    local idle busy=0 now
    idle=$(rss_cmd)
    target/release/pisubmit --hosts "127.0.0.1:$port" primes --from 1 --to $to >"$tmp/primes" &
    local job=$!
    while kill -0 $job 2>/dev/null; do
        now=$(rss_cmd)
        [ "$now" -gt "$busy" ] && busy=$now
        sleep 0.1
    done
    wait $job
    now=$(peak_cmd)
    [ "$now" -gt "$busy" ] && busy=$now
    kill $worker
    wait $worker 2>/dev/null || true
    worker=
    echo "  $name: idle $(kib_to_mib "$idle") MiB, busy $(kib_to_mib "$busy") MiB"
    bench_row "Footprint" "piworker RSS idle, $name" MiB lower "$(kib_to_mib "$idle")" - - "value<=4"
    bench_row "Footprint" "piworker RSS busy (primes on $threads threads), $name" MiB lower "$(kib_to_mib "$busy")" - - "value<=4"
}
echo "piworker with $threads compute threads:"
measure "arm64 (guest pages under qemu-user)" qemu
measure "armhf (guest pages under qemu-user)" qemu
measure "amd64" native
measure "amd64 (guest pages under qemu-user, to check the method)" qemu
