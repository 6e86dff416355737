#!/usr/bin/env bash
# The playbook test: packaging/ansible/site.yml run with ansible-playbook
# over ssh against three Debian "Pis" booted under systemd-nspawn, each in
# its own network namespace, with its inventory made by
# packaging/ansible/inventory.sh from a pisubmit host spec. The head (this
# machine) serves its signed apt repository (scripts/make-repo.sh) over
# HTTP (the keyring copied over ssh to two Pis, fetched over HTTP by the
# third). Checks: the three Pis go from nothing to serving jobs (the play's
# own pisubmit ping, then a job across the three with the key), the key is
# root's with mode 600 and a head without it is refused, a second run
# changes nothing, a Pi that does not answer fails the play with a clear
# message and stops the batches after it, and an upgrade run goes one batch
# at a time and leaves every Pi on the new version and answering.
#
# Needs root; run by `make test` in CI through tests/packaging_ansible.rs.
# Its names and addresses are its own (bridge pwans0, namespaces
# pwans1..3, 198.18.4.0/24, HTTP on port 8081): scripts/install-test.sh
# uses 198.18.0.0/24, the netns tests 198.18.1.0/24, emu-cluster.sh
# 198.18.2.0/24 and bench/predict.sh 198.18.3.0/24, so any of them may run
# at the same time. Everything it makes is removed on exit, also on failure;
# the Debian base with ssh and python3 is kept in target/nspawn/base-ssh.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASE=$ROOT/target/nspawn/base-ssh
WORK=$ROOT/target/nspawn/ansible
# Also the pisubmit packaging/ansible/inventory.sh runs.
export PISUBMIT=$ROOT/target/release/pisubmit
PLAYBOOK=$ROOT/packaging/ansible
BRIDGE=pwans0
HEAD_IP=198.18.4.1
REPO_PORT=8081
REPO_URL=http://$HEAD_IP:$REPO_PORT/
PIS=(pwans1 pwans2 pwans3)
declare -A IP=([pwans1]=198.18.4.11 [pwans2]=198.18.4.12 [pwans3]=198.18.4.13)
# The inventory, written as a user would write it for pisubmit.
SPEC='198.18.4.{11..13}'
declare -A NSPAWN_PID INIT_PID

say() { echo "[ansible-test] $*"; }
# fail WHY: says why, with the end of each booted Pi's piworker journal.
fail() {
    local pi
    echo "[ansible-test] FAIL: $*" >&2
    for pi in "${!INIT_PID[@]}"; do
        echo "--- $pi: journalctl -u piworker (end) ---" >&2
        nsenter -t "${INIT_PID[$pi]}" -a journalctl -u piworker --no-pager -n 20 >&2 || true
    done
    exit 1
}

[ "$(id -u)" = 0 ] || { echo "ansible-test: needs root (it creates network namespaces and boots containers)" >&2; exit 2; }
for tool in debootstrap systemd-nspawn nsenter ip gpg apt-ftparchive python3 ssh ssh-keygen ansible-playbook; do
    command -v "$tool" >/dev/null || { echo "ansible-test: $tool is missing: run 'make build-deps'" >&2; exit 2; }
done
DEB=$(find "$ROOT/target/debian" -maxdepth 1 -name 'piworker_*_amd64.deb' 2>/dev/null | sort -V | tail -1)
[ -n "$DEB" ] || { echo "ansible-test: no amd64 package: run 'make deb' first" >&2; exit 2; }
[ -x "$PISUBMIT" ] || { echo "ansible-test: no $PISUBMIT: run 'make build'" >&2; exit 2; }

inside() { local pi=$1; shift; nsenter -t "${INIT_PID[$pi]}" -a "$@"; }

cleanup() {
    set +e
    local pi pid
    for pi in "${PIS[@]}"; do
        # ssh's shared connections (ControlPersist) end with their Pi.
        [ -S "$WORK/cp/${IP[$pi]}" ] && ssh -o ControlPath="$WORK/cp/${IP[$pi]}" -O exit "${IP[$pi]}" 2>/dev/null
        pid=${NSPAWN_PID[$pi]:-}
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"    # nspawn powers the container off
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -KILL "$pid" 2>/dev/null
        fi
        ip netns del "$pi" 2>/dev/null
        ip link del "veth-$pi" 2>/dev/null
    done
    ip link del "$BRIDGE" 2>/dev/null
    [ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null
    [ -d "$WORK/gnupg" ] && GNUPGHOME=$WORK/gnupg gpgconf --kill gpg-agent 2>/dev/null
    rm -rf "${WORK:?}"
}
trap cleanup EXIT

# --- a Debian base with systemd, sshd and python3 (Ansible runs its modules
# with the Pi's python; its apt module needs python3-apt), made once ---
if [ ! -f "$BASE/.complete" ]; then
    say "debootstrap bookworm (minbase + systemd, openssh-server, python3) into $BASE"
    rm -rf "$BASE" "$BASE.tmp"
    mkdir -p "$(dirname "$BASE")"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,iproute2,openssh-server,python3,python3-apt,sudo \
        bookworm "$BASE.tmp" >"$BASE.log" 2>&1 || { tail -20 "$BASE.log" >&2; fail "debootstrap failed"; }
    rm -f "$BASE.tmp/etc/systemd/system/getty.target.wants/"* 2>/dev/null || true
    mv "$BASE.tmp" "$BASE"
    touch "$BASE/.complete"
fi
rm -rf "$WORK"
mkdir -p "$WORK/cp"

# --- the head's ssh key, and the Pis that trust it ---
ssh-keygen -q -t ed25519 -N '' -C ansible-test-head -f "$WORK/id_ed25519"

# shellcheck source=netns-lib.sh
. "$ROOT/scripts/netns-lib.sh"
bridge_up "$BRIDGE" "$HEAD_IP/24"
for pi in "${PIS[@]}"; do
    host_up "$pi" "veth-$pi" "${IP[$pi]}/24" "$BRIDGE"
    cp -a "$BASE" "$WORK/$pi"
    echo "$pi" >"$WORK/$pi/etc/hostname"
    # The Pis reach nothing but the head: no Debian mirror in their lists.
    : >"$WORK/$pi/etc/apt/sources.list"
    install -d -m 700 "$WORK/$pi/root/.ssh"
    install -m 600 "$WORK/id_ed25519.pub" "$WORK/$pi/root/.ssh/authorized_keys"
    systemd-nspawn -D "$WORK/$pi" --boot --register=no --keep-unit -q --console=passive \
        --machine="$pi" --network-namespace-path="/run/netns/$pi" >"$WORK/$pi.console" 2>&1 &
    NSPAWN_PID[$pi]=$!
done

# booted PI: waits until the Pi's sshd answers; sets INIT_PID (the
# container's pid 1, found among the processes of its network namespace).
booted() {
    local pi=$1 pid
    for _ in $(seq 300); do
        if [ -z "${INIT_PID[$pi]:-}" ]; then
            for pid in $(ip netns pids "$pi" 2>/dev/null); do
                [ "$(awk '/^NSpid:/ { print $NF }' "/proc/$pid/status" 2>/dev/null)" = 1 ] && INIT_PID[$pi]=$pid
            done
        fi
        [ -n "${INIT_PID[$pi]:-}" ] && (exec 3<>"/dev/tcp/${IP[$pi]}/22") 2>/dev/null && return 0
        sleep 0.2
    done
    cat "$WORK/$pi.console" >&2
    fail "$pi: no sshd answered on ${IP[$pi]}:22 within 60 s"
}
for pi in "${PIS[@]}"; do
    booted "$pi"
    [ "$(inside "$pi" sh -c 'command -v piworker || echo none')" = none ] || fail "$pi has piworker before the play"
done
say "booted ${PIS[*]}: sshd answers on $(for pi in "${PIS[@]}"; do printf '%s ' "${IP[$pi]}"; done)and none has piworker"

# --- the head's signed repository, served from its test address ---
# repository PACKAGE.deb: adds it to $WORK/served, signed with a key of
# this test's own (the way a lab names its key), as `make repo` does.
export GNUPGHOME=$WORK/gnupg
install -d -m 700 "$GNUPGHOME"
gpg --batch --quiet --passphrase '' --quick-gen-key "ansible test <ansible-test@localhost>" ed25519 sign never \
    || fail "gpg could not make the repository's key"
REPO_KEY=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1 == "fpr" { print $10; exit }')
repository() {
    PIWORKER_REPO_KEY=$REPO_KEY REPO_DIR=$WORK/served REPO_URL=$REPO_URL bash "$ROOT/scripts/make-repo.sh" "$1" \
        >"$WORK/make-repo.log" 2>&1 || { cat "$WORK/make-repo.log" >&2; fail "make-repo.sh failed on $1"; }
}
repository "$DEB"
python3 -m http.server "$REPO_PORT" --bind "$HEAD_IP" --directory "$WORK/served" >"$WORK/http.log" 2>&1 &
HTTP_PID=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/$HEAD_IP/$REPO_PORT") 2>/dev/null && break; sleep 0.1; done
(exec 3<>"/dev/tcp/$HEAD_IP/$REPO_PORT") 2>/dev/null || { cat "$WORK/http.log" >&2; fail "the repository is not served"; }
say "repository served at $REPO_URL ($(basename "$DEB"))"

# The cluster key, on the head, for the playbook to hand out.
head -c 32 /dev/urandom | base64 >"$WORK/cluster.key"
chmod 600 "$WORK/cluster.key"
KEY=$WORK/cluster.key

# --- the playbook, as a user runs it (README: "Many Pis") ---
# Its variables. The repository's keyring both ways the role has: copied
# from the head over ssh, and (the third Pi) fetched from the repository
# over HTTP, as the README's curl line does.
cat >"$WORK/vars.yml" <<EOF
piworker_repo_url: "$REPO_URL"
piworker_repo_keyring_file: "{{ '' if inventory_hostname == '${IP[pwans3]}' else '$WORK/served/piworker-archive-keyring.gpg' }}"
piworker_key_file: "$KEY"
piworker_allow: ["198.18.4.0/24"]
piworker_pisubmit: "$PISUBMIT"
EOF
# play NAME [ansible-playbook ARGS...]: runs it; its output in
# $WORK/NAME.out, its exit status in $PLAY_STATUS, its wall time (seconds,
# for the report only) in $PLAY_SECONDS.
play() {
    local name=$1 started=$SECONDS
    shift
    PLAY_STATUS=0
    PISUBMIT_HOSTS=$SPEC \
        ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_NOCOLOR=1 ANSIBLE_PYTHON_INTERPRETER=auto_silent \
        ANSIBLE_LOCAL_TEMP=$WORK/ansible-tmp ANSIBLE_SSH_CONTROL_PATH="$WORK/cp/%%h" \
        ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=60s -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=no" \
        ansible-playbook -i "$PLAYBOOK/inventory.sh" "$PLAYBOOK/site.yml" \
        -u root --private-key "$WORK/id_ed25519" \
        -e "@$WORK/vars.yml" \
        "$@" >"$WORK/$name.out" 2>&1 || PLAY_STATUS=$?
    PLAY_SECONDS=$((SECONDS - started))
}
# recap NAME IP: the recap line of IP in run NAME ("ok=9 changed=0 ..."), or nothing.
recap() { sed -n "s/^$2 *: //p" "$WORK/$1.out" | tr -s ' '; }
json_field() { python3 -c "import json,sys; v=json.load(sys.stdin); print(eval('v'+sys.argv[1]))" "$1"; }

play first
[ "$PLAY_STATUS" = 0 ] || { cat "$WORK/first.out" >&2; fail "the first run of the playbook failed ($PLAY_STATUS)"; }
for pi in "${PIS[@]}"; do
    r=$(recap first "${IP[$pi]}")
    { grep -q "failed=0" <<<"$r" && grep -q "unreachable=0" <<<"$r"; } || fail "$pi: first run's recap: '$r'"
    grep -qF "piworker on ${IP[$pi]} answers \`pisubmit ping\` from the head at ${IP[$pi]}:31415" "$WORK/first.out" \
        || fail "$pi: the play's pisubmit ping did not pass"
    [ "$(inside "$pi" systemctl is-enabled piworker)" = enabled ] || fail "$pi: piworker is not enabled"
    inside "$pi" apt-cache policy piworker | grep -qF "${REPO_URL%/} stable/main amd64 Packages" \
        || fail "$pi: piworker did not come from the head's repository"
    perms=$(inside "$pi" stat -c '%a %U %G' /etc/piworker/key)
    [ "$perms" = "600 root root" ] || fail "$pi: /etc/piworker/key is '$perms', not '600 root root'"
    cmp -s "$WORK/$pi/etc/piworker/key" "$KEY" || fail "$pi: /etc/piworker/key is not the cluster key"
    grep -q -- "--allow 198.18.4.0/24" "$WORK/$pi/etc/default/piworker" || fail "$pi: /etc/default/piworker lacks --allow"
    cmp -s "$WORK/$pi/usr/share/keyrings/piworker-archive-keyring.gpg" "$WORK/served/piworker-archive-keyring.gpg" \
        || fail "$pi: the repository's keyring is not the head's"
done
grep -q "^changed: \[${IP[pwans3]}\]" <<<"$(sed -n '/repository.s keyring, fetched/,/^$/p' "$WORK/first.out")" \
    || fail "pwans3 did not fetch the keyring from the repository"
say "first run (${PLAY_SECONDS} s): ${PIS[*]} installed from the repository (keyring copied over ssh, on pwans3 fetched over HTTP), key 600 root, each answered the play's pisubmit ping"

# A real job from the head across the three, with the key: the right answer.
out=$("$PISUBMIT" --hosts "$SPEC" --key "$KEY" --json primes --from 1 --to 10000000) || fail "primes across the Pis failed: $out"
[ "$(echo "$out" | json_field "['result']")" = 664579 ] || fail "wrong primes: $out"
for h in 0 1 2; do
    [ "$(echo "$out" | json_field "['hosts'][$h]['pieces']")" -gt 0 ] || fail "host $h did no piece: $out"
done
if err=$("$PISUBMIT" --hosts "${IP[pwans1]}" --connect-timeout 2 ping 2>&1); then fail "a head without the key got in"; fi
grep -q "requires the cluster key" <<<"$err" || fail "a head without the key was refused for another reason: $err"
say "primes below 10^7 across the three Pis with the key: 664579 (right); a head without the key: $(tail -1 <<<"$err")"

# --- a second run changes nothing ---
play second
[ "$PLAY_STATUS" = 0 ] || { cat "$WORK/second.out" >&2; fail "the second run failed ($PLAY_STATUS)"; }
for pi in "${PIS[@]}"; do
    r=$(recap second "${IP[$pi]}")
    { grep -q " changed=0 " <<<"$r" && grep -q "failed=0" <<<"$r"; } \
        || { cat "$WORK/second.out" >&2; fail "$pi: the second run was not idempotent: '$r'"; }
done
say "second run: changed=0 on every Pi (${PLAY_SECONDS} s)"

# --- a Pi that does not answer the head fails the play, and the batches
# after it do not start: batches of two, the head pings the first Pi with
# a wrong key. One failed Pi of two is above max_fail_percentage (10%), so
# the second batch (the third Pi) must not start; without that limit
# Ansible would go on, as the batch did not fail whole. ---
head -c 32 /dev/urandom | base64 >"$WORK/wrong.key"
chmod 600 "$WORK/wrong.key"
cat >"$WORK/refused.yml" <<EOF
piworker_serial: 2
piworker_head_key_file: "{{ '$WORK/wrong.key' if inventory_hostname == '${IP[pwans1]}' else '$KEY' }}"
EOF
play refused -e "@$WORK/refused.yml"
[ "$PLAY_STATUS" != 0 ] || fail "the play passed although the head could not ping a Pi with its key"
why=$(grep -o "piworker on ${IP[pwans1]} does not answer \`pisubmit ping\` from the head at [^\"]*" "$WORK/refused.out") \
    || { cat "$WORK/refused.out" >&2; fail "the failed ping's message is not there"; }
grep -q "cluster key" <<<"$why" || fail "the failed ping's message does not say why: $why"
grep -q "failed=1" <<<"$(recap refused "${IP[pwans1]}")" || fail "the Pi pinged with a wrong key is not failed in the recap"
grep -q "failed=0" <<<"$(recap refused "${IP[pwans2]}")" || fail "the other Pi of the batch did not pass: $(recap refused "${IP[pwans2]}")"
[ -z "$(recap refused "${IP[pwans3]}")" ] || { cat "$WORK/refused.out" >&2; fail "the second batch started after the first failed"; }
say "a Pi the head cannot ping fails the play ('$why'); its batch's other Pi passed, the next batch did not start"

# --- the upgrade, one batch at a time ---
old=$(dpkg-deb -f "$DEB" Version)
new=$old+up1
mkdir -p "$WORK/upgrade"
dpkg-deb -R "$DEB" "$WORK/upgrade/tree"
sed -i "s/^Version: .*/Version: $new/" "$WORK/upgrade/tree/DEBIAN/control"
dpkg-deb -b --root-owner-group "$WORK/upgrade/tree" "$WORK/upgrade/piworker.deb" >/dev/null \
    || fail "could not build the upgrade package"
repository "$WORK/upgrade/piworker.deb"
declare -A STARTED
for pi in "${PIS[@]}"; do
    STARTED[$pi]=$(inside "$pi" systemctl show -p ExecMainStartTimestampMonotonic --value piworker)
done
# The play's default serial (25%) makes batches of one Pi out of three.
play upgrade -e piworker_upgrade=true
[ "$PLAY_STATUS" = 0 ] || { cat "$WORK/upgrade.out" >&2; fail "the upgrade run failed ($PLAY_STATUS)"; }
for pi in "${PIS[@]}"; do
    [ "$(inside "$pi" dpkg-query -W -f='${Version}' piworker)" = "$new" ] || fail "$pi: not upgraded to $new"
    [ "$(inside "$pi" systemctl is-active piworker)" = active ] || fail "$pi: not active after the upgrade"
    grep -q "changed=[1-9]" <<<"$(recap upgrade "${IP[$pi]}")" || fail "$pi: the upgrade changed nothing"
    "$PISUBMIT" --hosts "${IP[$pi]}" --key "$KEY" ping >/dev/null || fail "$pi: no answer after the upgrade"
done
# One batch at a time: every result line of the play names the Pis in
# turn, each Pi's lines together (its ping included) before the next
# Pi's first, in the inventory's order.
order=$(sed -n 's/^\(ok\|changed\|skipping\|failed\|fatal\): \[\([0-9.]*\).*/\2/p' "$WORK/upgrade.out" | uniq | tr '\n' ' ')
[ "$order" = "${IP[pwans1]} ${IP[pwans2]} ${IP[pwans3]} " ] \
    || { cat "$WORK/upgrade.out" >&2; fail "the upgrade did not go one Pi at a time: hosts in the order $order"; }
# And the daemons: each restarted by the upgrade, in that order.
previous=0
for pi in "${PIS[@]}"; do
    now=$(inside "$pi" systemctl show -p ExecMainStartTimestampMonotonic --value piworker)
    [ "$now" -gt "${STARTED[$pi]}" ] || fail "$pi: the daemon was not restarted by the upgrade"
    [ "$now" -gt "$previous" ] || fail "$pi's daemon restarted before the previous batch's"
    previous=$now
done
out=$("$PISUBMIT" --hosts "$SPEC" --key "$KEY" --json primes --from 1 --to 10000000) || fail "primes after the upgrade failed"
[ "$(echo "$out" | json_field "['result']")" = 664579 ] || fail "wrong primes after the upgrade: $out"
say "upgrade run (${PLAY_SECONDS} s): $old -> $new one Pi per batch (order $order), daemons restarted in turn, all answering: 664579"

say "PASS"
