#!/usr/bin/env bash
# Runs every cargo-fuzz target, one after another (the machine's cores are
# shared), each for FUZZ_SECS seconds with libFuzzer's memory limits set to
# the budget the checks start jobs with (fuzz/checks.rs FUZZ_JOB_MEMORY and
# FUZZ_WORKER_MEMORY): -malloc_limit_mb per job, -rss_limit_mb per worker.
# A target that finds something does not stop the others: each finding is
# copied into fuzz/regressions/<target>/ (which tests/fuzz_regressions.rs
# replays in `make test`), and all are listed at the end; the exit status
# is 1 if there was any. Run it with `make fuzz`; see fuzz/README.md.
set -uo pipefail

cd "$(dirname "$0")/.."
SECS=${FUZZ_SECS:-300}
JOB_MB=${FUZZ_JOB_MB:-128}
WORKER_MB=${FUZZ_WORKER_MB:-512}
TARGETS=${FUZZ_TARGETS:-frame handshake job_params job_results reduce_stream metrics_request}

cargo fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked || exit 1

findings=()
for t in $TARGETS; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    before=$(mktemp)
    ls "fuzz/artifacts/$t" >"$before"
    echo "== $t: ${SECS}s, -malloc_limit_mb=$JOB_MB -rss_limit_mb=$WORKER_MB"
    RUSTC_BOOTSTRAP=1 cargo fuzz run "$t" "fuzz/corpus/$t" "fuzz/regressions/$t" -- \
        -max_total_time="$SECS" -max_len=16384 -malloc_limit_mb="$JOB_MB" -rss_limit_mb="$WORKER_MB"
    status=$?
    for f in $(ls "fuzz/artifacts/$t" | grep -vxF -f "$before"); do
        cp "fuzz/artifacts/$t/$f" "fuzz/regressions/$t/found-$f"
        findings+=("$t: fuzz/regressions/$t/found-$f")
    done
    rm -f "$before"
    if [ "$status" -ne 0 ] && [ "${#findings[@]}" -eq 0 ]; then
        findings+=("$t: cargo fuzz exited with status $status and left no artifact")
    fi
done

echo
if [ "${#findings[@]}" -eq 0 ]; then
    echo "fuzz: every target ($TARGETS) ran ${SECS}s each and found nothing"
    exit 0
fi
echo "fuzz: ${#findings[@]} finding(s), saved as regression inputs (shrink them, rename found-* to crash-<what>, fix, commit):"
printf '  %s\n' "${findings[@]}"
exit 1
