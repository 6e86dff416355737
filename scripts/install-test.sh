#!/usr/bin/env bash
# The install test: boots two minimal Debian systems with a real systemd
# (systemd-nspawn), each in its own network namespace with an address in
# 198.18.0.0/15, installs target/debian/piworker_*_amd64.deb in them the way
# a user would, and checks what a user relies on: the service starts and
# answers pisubmit from the host, restarts rebind at once, the unit is
# hardened, bad set-ups fail loudly, one job runs across both "Pis", a
# rolling upgrade to the next release during a job loses nothing, and
# remove and purge are clean. The second Pi gets the package the
# other way a user would: from the head's signed apt repository (make
# repo, served by python3 -m http.server), which also brings the upgrade
# to both with `apt upgrade`; an unsigned or wrongly signed repository is
# refused. Purge leaves nothing, and the next boot has the system's own
# sysctl values again. Needs root; run by `make test` in CI
# through tests/packaging_install.rs. Everything it creates is removed on
# exit, also on failure (the Debian base image is kept in target/nspawn).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$ROOT/target/nspawn
BASE=$WORK/base
PISUBMIT=$ROOT/target/release/pisubmit
BRIDGE=pwtest0
HEAD_IP=198.18.0.1
PIS=(pwpi1 pwpi2)
declare -A IP=([pwpi1]=198.18.0.11 [pwpi2]=198.18.0.12)
declare -A NSPAWN_PID INIT_PID
# The head's apt repositories, served over HTTP from the bridge's address.
SERVED=$WORK/served
REPO_PORT=8080
REPO_URL=http://$HEAD_IP:$REPO_PORT

say() { echo "[install-test] $*"; }
fail() {
    echo "[install-test] FAIL: $*" >&2
    for pi in "${PIS[@]}"; do
        [ -n "${INIT_PID[$pi]:-}" ] || continue
        echo "--- journal of piworker on $pi (last 30 lines) ---" >&2
        inside "$pi" journalctl -u piworker --no-pager -n 30 >&2 || true
    done
    exit 1
}

[ "$(id -u)" = 0 ] || { echo "install-test: needs root (it creates network namespaces and boots containers)" >&2; exit 2; }
for tool in debootstrap systemd-nspawn nsenter ip gpg apt-ftparchive python3; do
    command -v "$tool" >/dev/null || { echo "install-test: $tool is missing: run 'make build-deps'" >&2; exit 2; }
done
DEB=$(find "$ROOT/target/debian" -maxdepth 1 -name 'piworker_*_amd64.deb' 2>/dev/null | sort -V | tail -1)
[ -n "$DEB" ] || { echo "install-test: no amd64 package: run 'make deb' first" >&2; exit 2; }
[ -x "$PISUBMIT" ] || { echo "install-test: no $PISUBMIT: run 'make build'" >&2; exit 2; }
NEXT_DEB=$(find "$ROOT/target/next" -maxdepth 1 -name 'piworker_*_amd64.deb' 2>/dev/null | sort -V | tail -1)
[ -n "$NEXT_DEB" ] || { echo "install-test: no next release to upgrade to: run 'make deb-next'" >&2; exit 2; }

# stop_pi PI: powers the Pi off (nspawn does that on SIGTERM) and waits.
stop_pi() {
    local pid=${NSPAWN_PID[$1]:-}
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    NSPAWN_PID[$1]=
    INIT_PID[$1]=
    return 0
}

cleanup() {
    set +e
    for pi in "${PIS[@]}"; do
        stop_pi "$pi"
        ip netns del "$pi" 2>/dev/null
        ip link del "veth-$pi" 2>/dev/null
        rm -rf "${WORK:?}/$pi"
    done
    ip link del "$BRIDGE" 2>/dev/null
    [ -n "${CLIENT_PID:-}" ] && kill "$CLIENT_PID" 2>/dev/null
    [ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null
    [ -n "${ROLLING_JOB_PID:-}" ] && kill "$ROLLING_JOB_PID" 2>/dev/null
    rm -rf "${WORK:?}/next-head" "${SERVED:?}" "${WORK:?}/other-gnupg"
}
trap cleanup EXIT

inside() { local pi=$1; shift; nsenter -t "${INIT_PID[$pi]}" -a "$@"; }

# The daemon's journal lines. By identifier as well as by unit: the lines of
# a process that exits at once can reach journald after its cgroup is gone,
# and then carry no unit.
daemon_log() {
    inside "$1" journalctl --no-pager -u piworker
    inside "$1" journalctl --no-pager -t piworker
}

# Whether the daemon's journal on $1 has a line matching $2, allowing
# journald a few seconds to catch up. (Not `daemon_log | grep -q`: with
# pipefail, grep's early exit fails the pipeline with SIGPIPE.)
log_has() {
    local log
    for _ in $(seq 25); do
        log=$(daemon_log "$1")
        grep -q -- "$2" <<<"$log" && return 0
        sleep 0.2
    done
    return 1
}

# --- a Debian base with systemd, made once and reused ---
if [ ! -f "$BASE/.complete" ]; then
    say "debootstrap bookworm (minbase + systemd) into $BASE"
    rm -rf "$BASE" "$BASE.tmp"
    mkdir -p "$WORK"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,iproute2 \
        bookworm "$BASE.tmp" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed"; }
    # No consoles to log in on, nothing to fetch at boot.
    rm -f "$BASE.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
    mv "$BASE.tmp" "$BASE"
    touch "$BASE/.complete"
fi

# --- the "switch": a bridge on the host, one namespace and veth per Pi ---
# shellcheck source=netns-lib.sh
. "$ROOT/scripts/netns-lib.sh"
# shellcheck source=install-test-apt.sh
. "$ROOT/scripts/install-test-apt.sh"
# shellcheck source=install-test-rolling.sh
. "$ROOT/scripts/install-test-rolling.sh"
bridge_up "$BRIDGE" "$HEAD_IP/24"
for pi in "${PIS[@]}"; do
    host_up "$pi" "veth-$pi" "${IP[$pi]}/24" "$BRIDGE"
done

# start_pi PI: boots $WORK/PI under systemd-nspawn in the Pi's namespace.
start_pi() {
    # /proc/sys/net writable (it is per network namespace), so the package's
    # sysctl snippet can really be applied inside, as on a Pi.
    SYSTEMD_NSPAWN_API_VFS_WRITABLE=network systemd-nspawn -D "$WORK/$1" --boot --register=no --keep-unit -q --console=passive \
        --machine="$1" --network-namespace-path="/run/netns/$1" >"$WORK/$1.console" 2>&1 &
    NSPAWN_PID[$1]=$!
}

# wait_booted PI: waits for the Pi's systemd to finish booting; sets INIT_PID.
wait_booted() {
    local pi=$1 state child p
    for _ in $(seq 100); do
        # The container's init: a process named systemd descended from nspawn.
        for child in $(pgrep -P "${NSPAWN_PID[$pi]}") ; do
            for p in "$child" $(pgrep -P "$child"); do
                [ "$(cat /proc/"$p"/comm 2>/dev/null)" = systemd ] && INIT_PID[$pi]=$p
            done
        done
        [ -n "${INIT_PID[$pi]:-}" ] && break
        sleep 0.1
    done
    [ -n "${INIT_PID[$pi]:-}" ] || { cat "$WORK/$pi.console" >&2; fail "$pi: no systemd found"; }
    # systemctl fails at once until systemd's own socket exists: retry.
    state=""
    for _ in $(seq 90); do
        state=$(timeout 90 nsenter -t "${INIT_PID[$pi]}" -a systemctl is-system-running --wait 2>/dev/null || true)
        case "$state" in running|degraded) break;; esac
        sleep 1
    done
    case "$state" in running|degraded) ;; *) cat "$WORK/$pi.console" >&2; fail "$pi did not boot (state: '$state')";; esac
    say "$pi booted ($state), address ${IP[$pi]}"
}

# --- boot each Pi from its own copy of the base ---
for pi in "${PIS[@]}"; do
    rm -rf "${WORK:?}/$pi"
    cp -a "$BASE" "$WORK/$pi"
    echo "$pi" >"$WORK/$pi/etc/hostname"
    cp "$DEB" "$WORK/$pi/root/piworker.deb"
    # The Pis reach nothing but the head: no Debian mirror in their lists.
    : >"$WORK/$pi/etc/apt/sources.list"
    start_pi "$pi"
done
for pi in "${PIS[@]}"; do
    wait_booted "$pi"
done

PI1=${PIS[0]}
A1=${IP[$PI1]}
# The system's own values of the snippet's sysctls, before piworker: purge
# and the next boot must bring these back.
SYSCTL_BEFORE=$(sysctl_values "$PI1")
[ -n "$SYSCTL_BEFORE" ] || fail "none of the snippet's sysctls is readable on $PI1"

# --- install as a user would: the first Pi from the .deb file, the second
# from the head's signed repository ---
serve_repositories "$DEB"
for pi in "${PIS[@]}"; do
    if [ "$pi" = "$PI1" ]; then
        inside "$pi" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/piworker.deb \
            >"$WORK/$pi.apt.log" 2>&1 || { cat "$WORK/$pi.apt.log" >&2; fail "$pi: apt-get install failed"; }
    else
        install_from_repository "$pi"
    fi
    [ "$(inside "$pi" systemctl is-enabled piworker)" = enabled ] || fail "$pi: unit not enabled"
    # As a user on this network would: let the head's range in (the default
    # allows loopback and the private ranges, not 198.18.0.0/15).
    sed -i 's|^PIWORKER_OPTS=.*|PIWORKER_OPTS="--listen 0.0.0.0:31415 --allow 198.18.0.0/24"|' "$WORK/$pi/etc/default/piworker"
    inside "$pi" systemctl start piworker || fail "$pi: systemctl start piworker failed"
    [ "$(inside "$pi" systemctl is-active piworker)" = active ] || fail "$pi: not active after start"
done
say "installed and started on ${PIS[*]}: $(basename "$DEB")"
# The sysctl snippet took effect at install (in the Pi's own network namespace).
wmem=$(inside "${PIS[0]}" cat /proc/sys/net/ipv4/tcp_wmem | tr -s '[:space:]' ' ')
[ "$wmem" = "4096 131072 4194304 " ] || [ "$wmem" = "4096 131072 4194304" ] \
    || fail "the sysctl snippet was not applied on install: tcp_wmem is '$wmem'"
[ "$(sysctl_values "$PI1")" != "$SYSCTL_BEFORE" ] || fail "the sysctl snippet changed nothing on install"
say "sysctl snippet applied on install (tcp_wmem $wmem)"

json_field() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval('v'+sys.argv[1]))" "$1"; }

out=$("$PISUBMIT" --hosts "$A1" --json ping) || fail "pisubmit ping $A1 failed"
arch=$(echo "$out" | json_field "['hosts'][0]['arch']")
[ "$arch" = amd64 ] || fail "ping reports arch $arch"
out=$("$PISUBMIT" --hosts "$A1" --json loopsum) || fail "loopsum on $A1 failed"
[ "$(echo "$out" | json_field "['result']")" = 64032004000000 ] || fail "wrong loopsum: $out"
out=$("$PISUBMIT" --hosts "$A1" --json primes --from 1 --to 1000000) || fail "primes failed"
[ "$(echo "$out" | json_field "['result']")" = 78498 ] || fail "wrong primes: $out"
say "answers from $A1 are right (loopsum 64032004000000, 78498 primes below 10^6)"

# --- status under the hardened unit: the facts it may read are there ---
out=$("$PISUBMIT" --hosts "$A1" --json status) || fail "pisubmit status $A1 failed"
for field in "['hosts'][0]['load']" "['hosts'][0]['uptime_s']" "['hosts'][0]['mem_total_kib']" \
             "['hosts'][0]['sysctl']['net.ipv4.tcp_wmem']"; do
    value=$(echo "$out" | json_field "$field") && [ -n "$value" ] && [ "$value" != None ] \
        || fail "status under the unit lacks $field: $out"
done
echo "$out" | json_field "['hosts'][0]['addresses']" | grep -q "$A1" || fail "status does not list $A1: $out"
say "status under the hardened unit has load, uptime, memory, sysctls and the address $A1"
out=$("$PISUBMIT" discover --subnet 198.18.0.0/24 --wait 1) || fail "discover failed"
echo "$out" | grep -q "^$A1:31415" || fail "discover did not find $A1: $out"
say "discover finds $A1 by broadcast"

# --- job programs under the hardened unit: the package's directories, an
# administrator's program run with its limits, its children killed ---
[ -x "$WORK/$PI1/usr/lib/piworker/jobs/primes" ] || fail "the package does not ship /usr/lib/piworker/jobs/primes"
[ -d "$WORK/$PI1/etc/piworker/jobs.d" ] || fail "the package did not create /etc/piworker/jobs.d"
printf '#!/bin/sh\nulimit -v\necho "piece $PIW_PIECE of $PIW_JOB: $PIW_START..$PIW_END as $(id -u)"\n' \
    >"$WORK/$PI1/etc/piworker/jobs.d/hello"
chmod 755 "$WORK/$PI1/etc/piworker/jobs.d/hello"
out=$("$PISUBMIT" --hosts "$A1" exec hello --range 0..4 --pieces 2 --memory-limit 256M 2>"$WORK/exec.err") \
    || { cat "$WORK/exec.err" >&2; fail "exec hello under the unit failed"; }
expected="262144
piece 0 of hello: 0..2 as $(inside "$PI1" stat -c %u "/proc/$(inside "$PI1" systemctl show -p MainPID --value piworker)")
262144
piece 1 of hello: 2..4 as $(inside "$PI1" stat -c %u "/proc/$(inside "$PI1" systemctl show -p MainPID --value piworker)")"
[ "$out" = "$expected" ] || fail "exec hello under the unit printed '$out', expected '$expected'"
out=$("$PISUBMIT" --hosts "$A1" --json jobs) || fail "pisubmit jobs failed: $out"
echo "$out" | grep -q '"name":"hello"' && echo "$out" | grep -q '"name":"primes"' || fail "jobs lists: $out"
say "job programs run under the unit (256 MiB RLIMIT_AS, the daemon's uid); jobs lists hello and primes"

# --- the hardened unit still pins compute threads, and is hardened ---
main=$(inside "$PI1" systemctl show -p MainPID --value piworker)
user=$(inside "$PI1" stat -c %u "/proc/$main")
[ "$user" != 0 ] || fail "the daemon runs as root"
pinned=$(inside "$PI1" sh -c "for t in /proc/$main/task/*; do
    if grep -q '^compute' \$t/comm; then grep Cpus_allowed_list \$t/status | awk '{print \$2}'; fi; done" | sort -n | tr '\n' ' ')
expected=$(seq 0 $(($(nproc) - 1)) | tr '\n' ' ')
[ "$pinned" = "$expected" ] || fail "compute threads pinned to '$pinned', expected one each on '$expected'"
exposure=$(inside "$PI1" systemd-analyze security piworker.service --no-pager 2>/dev/null \
    | sed -n 's/.*Overall exposure level for piworker.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || fail "systemd-analyze security gave no exposure level"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || fail "exposure $exposure is above 2.0"
say "runs as uid $user (DynamicUser), compute threads pinned to CPUs $pinned, exposure $exposure"

# An administrator's CPUAffinity= narrows the pool to the CPUs it names.
last_cpu=$(($(nproc) - 1))
dropin=$WORK/$PI1/etc/systemd/system/piworker.service.d
mkdir -p "$dropin"
printf '[Service]\nCPUAffinity=%s\n' "$last_cpu" >"$dropin/affinity.conf"
inside "$PI1" systemctl daemon-reload
inside "$PI1" systemctl restart piworker
out=$("$PISUBMIT" --hosts "$A1" --json ping) || fail "no answer with CPUAffinity=$last_cpu"
[ "$(echo "$out" | json_field "['hosts'][0]['threads']")" = 1 ] || fail "CPUAffinity=$last_cpu not honoured: $out"
main=$(inside "$PI1" systemctl show -p MainPID --value piworker)
pinned=$(inside "$PI1" sh -c "grep -h Cpus_allowed_list /proc/$main/task/*/status | awk '{print \$2}' | sort -u | tr '\n' ' '")
[ "$pinned" = "$last_cpu " ] || fail "with CPUAffinity=$last_cpu threads are allowed '$pinned'"
rm -r "$dropin"
inside "$PI1" systemctl daemon-reload
inside "$PI1" systemctl restart piworker
say "CPUAffinity=$last_cpu from a drop-in: 1 compute thread, every thread on CPU $last_cpu"

# The cluster key, handed to the service as a systemd credential (as
# docs/SECURITY.md says to).
mkdir -p "$WORK/$PI1/etc/piworker"
head -c 32 /dev/urandom | base64 >"$WORK/$PI1/etc/piworker/key"
chmod 600 "$WORK/$PI1/etc/piworker/key"
install -m 600 "$WORK/$PI1/etc/piworker/key" "$WORK/head.key"
mkdir -p "$dropin"
printf '[Service]\nLoadCredential=key:/etc/piworker/key\nExecStart=\nExecStart=/usr/bin/piworker $PIWORKER_OPTS --key %%d/key\n' \
    >"$dropin/key.conf"
inside "$PI1" systemctl daemon-reload
inside "$PI1" systemctl restart piworker || fail "did not start with the key as a credential"
"$PISUBMIT" --hosts "$A1" --key "$WORK/head.key" loopsum >/dev/null || fail "the key did not let the head in"
if "$PISUBMIT" --hosts "$A1" --connect-timeout 2 loopsum >/dev/null 2>&1; then fail "a head without the key got in"; fi
rm -r "$dropin" "$WORK/$PI1/etc/piworker"
inside "$PI1" systemctl daemon-reload
inside "$PI1" systemctl restart piworker
say "cluster key as a systemd credential: the head with the key gets in, one without is refused"

# --- ten restarts while a client keeps submitting ---
stop_flag=$WORK/client.stop
rm -f "$stop_flag"
(
    ok=0 failed=0
    for _ in $(seq 3000); do
        [ -f "$stop_flag" ] && break
        if "$PISUBMIT" --hosts "$A1" --connect-timeout 2 pi --samples 20000 >/dev/null 2>&1; then
            ok=$((ok + 1))
        else
            failed=$((failed + 1))
            sleep 0.05    # count refusals by time, not by how fast we retry
        fi
    done
    echo "$ok $failed" >"$WORK/client.counts"
) &
CLIENT_PID=$!
for i in $(seq 10); do
    # An idle connection the daemon closes first leaves TIME_WAIT on its port.
    exec 3<>"/dev/tcp/$A1/31415"
    inside "$PI1" systemctl restart piworker || fail "restart $i failed"
    exec 3>&-
    "$PISUBMIT" --hosts "$A1" --json loopsum >/dev/null || fail "no answer right after restart $i"
done
time_wait=$(inside "$PI1" ss -Htan state time-wait '( sport = :31415 )' | wc -l)
touch "$stop_flag"
wait "$CLIENT_PID" || true
CLIENT_PID=
read -r ok failed <"$WORK/client.counts"
log=$(daemon_log "$PI1")
if grep -q "already in use" <<<"$log"; then
    fail "a restart could not rebind the port"
fi
[ "$ok" -gt 0 ] || fail "the client never got an answer during the restarts"
say "10 restarts rebound at once ($time_wait sockets in TIME_WAIT on :31415); client meanwhile: $ok jobs done, $failed attempts refused while restarting"

# --- bad set-ups fail loudly ---
inside "$PI1" systemctl stop piworker
inside "$PI1" systemd-run --unit=squatter -p DynamicUser=yes /usr/bin/piworker --listen 0.0.0.0:31415 >/dev/null
sleep 1
if inside "$PI1" systemctl start piworker 2>/dev/null; then fail "started although the port was taken"; fi
log_has "$PI1" "cannot listen on 0.0.0.0:31415: the port is already in use" \
    || fail "the journal does not name the taken port"
holder=$(inside "$PI1" ss -Hltnp 'sport = :31415')
grep -q piworker <<<"$holder" || fail "ss does not show who holds the port: $holder"
inside "$PI1" systemctl stop piworker squatter
inside "$PI1" systemctl reset-failed piworker squatter 2>/dev/null || true
say "port taken: unit fails, journal names the port, 'ss -ltnp' shows the holder"

restarts_before=$(inside "$PI1" systemctl show -p NRestarts --value piworker)
cp "$WORK/$PI1/etc/default/piworker" "$WORK/default.bak"
echo 'PIWORKER_OPTS="--listen 0.0.0.0:31415 --allow 198.18.0.0/24 --frobnicate"' >"$WORK/$PI1/etc/default/piworker"
if inside "$PI1" systemctl start piworker 2>/dev/null; then fail "started with a broken /etc/default/piworker"; fi
sleep 3
restarts=$(inside "$PI1" systemctl show -p NRestarts --value piworker)
[ "$restarts" = "$restarts_before" ] || fail "a usage error was restarted $((restarts - restarts_before)) times"
log_has "$PI1" "--frobnicate" || fail "the usage error is not in the journal"
log_has "$PI1" "USAGE" || fail "the usage text is not in the journal"
cp "$WORK/default.bak" "$WORK/$PI1/etc/default/piworker"
inside "$PI1" systemctl reset-failed piworker
inside "$PI1" systemctl start piworker || fail "could not start again after fixing /etc/default/piworker"
say "broken /etc/default/piworker: fails at once (0 restarts), usage in the journal"

# --- one job across both Pis: the same bits as on one ---
job=(loopsum --t-range 0..30001 --u-len 30001)
one=$("$PISUBMIT" --hosts "${IP[pwpi1]}" --json "${job[@]}") || fail "the one-Pi job failed"
out=$("$PISUBMIT" --hosts "${IP[pwpi1]},${IP[pwpi2]}" --json "${job[@]}") || fail "the two-Pi job failed"
[ "$(echo "$out" | json_field "['result']")" = "$(echo "$one" | json_field "['result']")" ] \
    || fail "two Pis and one Pi disagree: $out vs $one"
for h in 0 1; do
    [ "$(echo "$out" | json_field "['hosts'][$h]['pieces']")" -gt 0 ] || fail "host $h did no piece: $out"
done
say "one job across both Pis: $(echo "$out" | json_field "['result']") (as on one Pi), pieces $(echo "$out" | json_field "['hosts'][0]['pieces']") + $(echo "$out" | json_field "['hosts'][1]['pieces']")"

# --- a rolling upgrade through the repository during a job, then remove
# and purge ---
# The next release (scripts/build-next.sh: version and protocol minor one
# higher), added to the head's repository; the first Pi, installed from the
# file, gets the repository's two lines now, as a lab moving to the
# repository would. install-test-rolling.sh says what is checked.
rolling_upgrade "$NEXT_DEB"
say "apt upgrade from the head's repository: $(dpkg-deb -f "$NEXT_DEB" Version) on ${PIS[*]}, one at a time, during a job"

# The dynamic user: the unit's DynamicUser=yes makes no account in
# /etc/passwd and lends a uid only while the service runs; after purge no
# file and no process may still carry that uid.
main=$(inside "$PI1" systemctl show -p MainPID --value piworker)
uid=$(inside "$PI1" stat -c %u "/proc/$main")
[ "$uid" != 0 ] || fail "the daemon runs as root"
inside "$PI1" systemctl show -p DynamicUser --value piworker | grep -qx yes || fail "the unit has no DynamicUser"
inside "$PI1" env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q piworker >/dev/null 2>&1 || fail "remove failed"
[ ! -e "$WORK/$PI1/usr/bin/piworker" ] || fail "remove left /usr/bin/piworker"
conffiles=$(dpkg-deb --info "$DEB" conffiles)
[ -n "$conffiles" ] || fail "the package lists no conffiles"
for conffile in $conffiles; do
    [ -f "$WORK/$PI1$conffile" ] || fail "remove deleted the conffile $conffile"
done
if "$PISUBMIT" --hosts "$A1" --connect-timeout 1 ping >/dev/null 2>&1; then fail "still answering after remove"; fi
procs=$(inside "$PI1" sh -c "grep -l '^Uid:[[:space:]]*${uid}[[:space:]]' /proc/[0-9]*/status 2>/dev/null; true")
[ -z "$procs" ] || fail "processes of the dynamic user $uid run after remove: $procs"
inside "$PI1" env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q piworker >/dev/null 2>&1 || fail "purge failed"
[ "$(inside "$PI1" dpkg-query -W -f='${db:Status-Abbrev}' piworker 2>/dev/null)" != "ii " ] || fail "piworker still installed after purge"
for conffile in $conffiles; do
    [ ! -e "$WORK/$PI1$conffile" ] || fail "purge left the conffile $conffile"
done
left=$(find "$WORK/$PI1" -xdev -name '*piworker*' -not -path "$WORK/$PI1/root/*" -not -path "$WORK/$PI1/proc/*" \
    -not -path "$WORK/$PI1/usr/share/keyrings/piworker-archive-keyring.gpg" -not -path "$WORK/$PI1/etc/apt/sources.list.d/piworker.sources" \
    -not -path "$WORK/$PI1/var/lib/apt/lists/*" -not -path "$WORK/$PI1/var/cache/apt/*" 2>/dev/null | sed "s|^$WORK/$PI1||")
[ -z "$left" ] || fail "purge left: $left"
if grep -q piworker "$WORK/$PI1/etc/passwd" "$WORK/$PI1/etc/group"; then fail "an account named piworker is in /etc/passwd or /etc/group"; fi
owned=$(find "$WORK/$PI1" -xdev -uid "$uid" -not -path "$WORK/$PI1/proc/*" 2>/dev/null | sed "s|^$WORK/$PI1||")
[ -z "$owned" ] || fail "files of the dynamic user $uid left after purge: $owned"
say "remove keeps the conffiles ($(echo $conffiles)), purge deletes them and leaves nothing named piworker (but the repository's two lines), nothing of uid $uid, no account"

# The next boot: a fresh network namespace (a rebooted Pi's kernel starts
# from its defaults) and the Pi's own boot, whose systemd-sysctl no longer
# finds the snippet.
stop_pi "$PI1"
ip netns del "$PI1"
ip link del "veth-$PI1" 2>/dev/null || true
host_up "$PI1" "veth-$PI1" "$A1/24" "$BRIDGE"
start_pi "$PI1"
wait_booted "$PI1"
after=$(sysctl_values "$PI1")
[ "$after" = "$SYSCTL_BEFORE" ] || fail "after purge and a reboot the sysctls are
$after
and were before install
$SYSCTL_BEFORE"
say "after purge and a reboot the system's own sysctl values are back: $(tr '\n' ';' <<<"$after")"

say "PASS"
