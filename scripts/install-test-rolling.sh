# shellcheck shell=bash
# Sourced by scripts/install-test.sh: a rolling upgrade, as a lab does it
# (README: "Upgrading a running cluster"). Both Pis run version N and a
# long job from the head; they are upgraded one at a time with `apt
# upgrade` from the head's repository to N+1 (scripts/build-next.sh: the
# next patch version and protocol minor). The package's upgrade restarts
# piworker, which drains: pieces running past --shutdown-grace are handed
# back and the head runs them again. The job's output must be the same
# bytes as a run without upgrades, each piece logged once; `pisubmit
# doctor` reports the skew while it lasts and nothing once the Pis and the
# head are all at N+1. Uses install-test.sh's inside, say, fail, json_field,
# PIS, IP, WORK, PISUBMIT and install-test-apt.sh's functions.

# The job: 60 pieces of 2 s on 2 Pis of 2 cores, about 30 s, against a
# grace of 1 s: long enough to outlast both upgrades, and a piece running
# at SIGTERM is handed back half the time.
ROLLING_JOB=(exec slow --range 0..6000 --pieces 60)
ROLLING_PROGRAM='#!/bin/sh
sleep 2
i=$PIW_START
while [ "$i" -lt "$PIW_END" ]; do echo "piece $PIW_PIECE: $i squared is $((i * i))"; i=$((i + 1)); done
'

# pieces_logged_on HOST JOBLOG: how many pieces the job log shows done on HOST.
pieces_logged_on() {
    [ -f "$2" ] || { echo 0; return; }
    awk -F'\t' -v host="$1" '$1 !~ /^#/ && $3 == host && $8 == "ok" { n++ } END { print n + 0 }' "$2"
}

# doctor_checks PISUBMIT: the doctor's findings on both Pis as "check host"
# lines (its exit status says whether it found problems; not needed here).
doctor_checks() {
    local hosts json
    hosts=$(for pi in "${PIS[@]}"; do printf '%s,' "${IP[$pi]}"; done)
    json=$("$1" --hosts "${hosts%,}" --json doctor 2>/dev/null || true)
    [ -n "$json" ] || fail "$1 doctor printed nothing"
    python3 -c 'import json,sys
for f in json.load(sys.stdin)["findings"]: print(f["check"], f["host"] or "cluster", "|", f["message"])' <<<"$json"
}

# rolling_upgrade NEXT.deb: the whole check. Leaves both Pis on NEXT's
# version, serving, with the repository "good" as their source.
rolling_upgrade() {
    local next_deb=$1 next_version next_software pi addr before after since log joblog checks head_next
    next_version=$(dpkg-deb -f "$next_deb" Version)
    next_software=${next_version%-*}
    make_repository good "$next_deb"
    add_repository "${PIS[0]}" good
    for pi in "${PIS[@]}"; do
        mkdir -p "$WORK/$pi/etc/piworker/jobs.d"
        printf '%s' "$ROLLING_PROGRAM" >"$WORK/$pi/etc/piworker/jobs.d/slow"
        chmod 755 "$WORK/$pi/etc/piworker/jobs.d/slow"
        sed -i 's|^PIWORKER_OPTS="\(.*\)"$|PIWORKER_OPTS="\1 --shutdown-grace 1"|' "$WORK/$pi/etc/default/piworker"
        inside "$pi" systemctl restart piworker || fail "$pi: restart with --shutdown-grace 1 failed"
    done
    local hosts="${IP[${PIS[0]}]},${IP[${PIS[1]}]}" one
    # A head upgraded first: the next pisubmit runs jobs on workers at N.
    head_next=$WORK/next-head
    rm -rf "$head_next"
    dpkg-deb -x "$next_deb" "$head_next"
    one=$("$head_next/usr/bin/pisubmit" --hosts "$hosts" --json loopsum) || fail "pisubmit $next_software on workers at N failed"
    [ "$(json_field "['result']" <<<"$one")" = 64032004000000 ] || fail "pisubmit $next_software on workers at N: $one"
    say "a head upgraded first: pisubmit $next_software runs a job on both Pis at $(inside "${PIS[0]}" dpkg-query -W -f='${Version}' piworker)"
    "$PISUBMIT" --hosts "$hosts" "${ROLLING_JOB[@]}" --output "$WORK/rolling.reference" 2>"$WORK/rolling.reference.err" \
        || { cat "$WORK/rolling.reference.err" >&2; fail "the job without upgrades failed"; }

    joblog=$WORK/rolling.joblog
    rm -f "$joblog" "$WORK/rolling.out"
    "$PISUBMIT" --hosts "$hosts" --joblog "$joblog" "${ROLLING_JOB[@]}" --output "$WORK/rolling.out" \
        >/dev/null 2>"$WORK/rolling.err" &
    ROLLING_JOB_PID=$!
    for pi in "${PIS[@]}"; do
        addr="${IP[$pi]}:31415"
        # In the job's rotation: two pieces done there, so it runs more now.
        for _ in $(seq 100); do
            [ "$(pieces_logged_on "$addr" "$joblog")" -ge 2 ] && break
            sleep 0.2
        done
        [ "$(pieces_logged_on "$addr" "$joblog")" -ge 2 ] || fail "$pi never ran a piece of the job"
        kill -0 "$ROLLING_JOB_PID" 2>/dev/null || fail "the job ended before $pi was upgraded: make it longer"
        before=$(inside "$pi" systemctl show -p MainPID --value piworker)
        since=$(date +%s)
        apt_update "$pi" || fail "$pi: apt-get update failed: $APT_OUT"
        inside "$pi" env DEBIAN_FRONTEND=noninteractive apt-get upgrade -y -q >"$WORK/$pi.upgrade.log" 2>&1 \
            || { cat "$WORK/$pi.upgrade.log" >&2; fail "$pi: apt-get upgrade failed"; }
        after=$(inside "$pi" systemctl show -p MainPID --value piworker)
        [ "$(inside "$pi" dpkg-query -W -f='${Version}' piworker)" = "$next_version" ] || fail "$pi: apt upgrade did not bring $next_version"
        [ "$(inside "$pi" systemctl is-active piworker)" = active ] || fail "$pi: not active after the upgrade"
        [ "$before" != "$after" ] || fail "$pi: the upgrade did not restart the running daemon"
        "$PISUBMIT" --hosts "$addr" --json ping | grep -q "\"version\":\"$next_software\"" \
            || fail "$pi: does not answer as piworker $next_software right after the upgrade"
        log=$(inside "$pi" journalctl --no-pager -u piworker --since "@$since")
        grep -q "SIGTERM: no longer accepting connections" <<<"$log" || fail "$pi: the upgrade did not drain the daemon: $log"
        say "$pi upgraded to $next_version during the job (drained, restarted, answering at once)"
        if [ "$pi" = "${PIS[0]}" ]; then
            checks=$(doctor_checks "$PISUBMIT")
            grep -q "^version_skew $addr" <<<"$checks" || fail "doctor did not report $pi's newer version: $checks"
            grep -q "^mixed_versions cluster .*$next_software on $addr" <<<"$checks" \
                || fail "doctor did not report the mixed versions: $checks"
            say "doctor meanwhile: $(grep '^mixed_versions' <<<"$checks" | cut -d'|' -f2)"
        fi
    done
    wait "$ROLLING_JOB_PID" || { cat "$WORK/rolling.err" >&2; fail "the job failed during the rolling upgrade"; }
    ROLLING_JOB_PID=
    cmp -s "$WORK/rolling.reference" "$WORK/rolling.out" \
        || fail "the output differs from the run without upgrades: $(cmp "$WORK/rolling.reference" "$WORK/rolling.out" 2>&1)"
    [ "$(wc -l <"$WORK/rolling.out")" = 6000 ] || fail "the output has $(wc -l <"$WORK/rolling.out") lines, not 6000"
    local logged unique
    logged=$(awk -F'\t' '$1 !~ /^#/ && $8 == "ok"' "$joblog" | wc -l)
    unique=$(awk -F'\t' '$1 !~ /^#/ && $8 == "ok" { print $2 }' "$joblog" | sort -u | wc -l)
    [ "$logged" = 60 ] && [ "$unique" = 60 ] || fail "the job log shows $logged pieces done, $unique different, not 60"
    grep -q "handed back, runs elsewhere" "$WORK/rolling.err" \
        || say "(no piece was running past the grace this time; tests/e2e_lifecycle.rs checks the hand-back)"
    say "the job's 6000 lines are the same bytes as without upgrades; 60 pieces logged once each; $(grep -c 'handed back' "$WORK/rolling.err") handed back"

    # Once it is over, with the head's pisubmit at N+1 too: nothing to report.
    checks=$(doctor_checks "$head_next/usr/bin/pisubmit")
    if grep -q "^version_skew\|^mixed_versions" <<<"$checks"; then fail "doctor still reports skew after the upgrade: $checks"; fi
    grep -q "^reachable ${IP[${PIS[1]}]}.*piworker $next_software" <<<"$checks" || fail "doctor does not see $next_software: $checks"
    say "doctor after the upgrade (head at $next_software too): no version skew"
    # The administrator's program goes, so that purge can leave nothing.
    for pi in "${PIS[@]}"; do rm "$WORK/$pi/etc/piworker/jobs.d/slow"; done
}
