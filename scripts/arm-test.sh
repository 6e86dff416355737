#!/usr/bin/env bash
# Proves the arm64 and armhf binaries run and speak the same protocol as the
# amd64 ones, without a Pi: under qemu-user (run explicitly, so binfmt_misc
# need not be registered).
#
#  1. builds the release binaries for the host, aarch64-unknown-linux-gnu
#     (arm64) and armv7-unknown-linux-gnueabihf (armhf);
#  2. runs the protocol's golden vectors (tests/protocol_doc.rs, which reads
#     docs/PROTOCOL.md) on each arm target, through the qemu `runner` of
#     .cargo/config.toml;
#  3. checks from the ELF headers that the arm binaries really are AArch64
#     and 32-bit ARM EABI5 hard-float;
#  4. starts an arm64 and an armhf piworker under qemu and a native one on
#     127.0.0.1, runs every job kind through the host's pisubmit against
#     each, and against all three at once, and requires the answers to be
#     identical to the native worker's; the arm pisubmits (under qemu) run a
#     few jobs against all three workers too;
#  5. runs tests/e2e_memory.rs against the arm64 and the armhf worker under
#     qemu: oversized jobs are refused naming the memory budget.
#
# Needs what `make build-deps` installs. Exits non-zero on any mismatch.
# Run with `bash scripts/arm-test.sh`; tests/arm_qemu.rs runs it.
set -euo pipefail

cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
ARM64=aarch64-unknown-linux-gnu
ARMHF=armv7-unknown-linux-gnueabihf
QEMU_ARM64=(qemu-aarch64-static -L /usr/aarch64-linux-gnu)
QEMU_ARMHF=(qemu-arm-static -L /usr/arm-linux-gnueabihf)
HOST_BIN=$TARGET_DIR/release
ARM64_BIN=$TARGET_DIR/$ARM64/release
ARMHF_BIN=$TARGET_DIR/$ARMHF/release
BUILD_TIMEOUT=${ARM_TEST_BUILD_TIMEOUT:-1800} # seconds per cargo command
JOB_TIMEOUT=${ARM_TEST_JOB_TIMEOUT:-120}      # seconds per pisubmit run

WORK=$(mktemp -d -t piworker-arm-test.XXXXXX)
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    # Bounded: an idle worker exits at once on SIGTERM; anything still
    # there after 5 s is killed.
    for _ in $(seq 50); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
    echo "arm-test: FAIL: $*" >&2
    exit 1
}

step() {
    echo
    echo "== $*"
}

# --- prerequisites -----------------------------------------------------------
[ "$(uname -m)" = x86_64 ] || die "this check expects an amd64 (x86_64) host, not $(uname -m)"
for tool in qemu-aarch64-static qemu-arm-static aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc python3 timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not on PATH; run \`make build-deps\` (as root)"
done
for dir in /usr/aarch64-linux-gnu/lib /usr/arm-linux-gnueabihf/lib; do
    [ -d "$dir" ] || die "$dir is missing (libc6-dev-*-cross); run \`make build-deps\` (as root)"
done
SYSROOT=$(rustc --print sysroot)
for t in "$ARM64" "$ARMHF"; do
    [ -d "$SYSROOT/lib/rustlib/$t/lib" ] || die "the rustup target $t is not installed; run \`rustup target add $t\`"
done

START=$(date +%s%N)
elapsed() { awk -v ns=$(($(date +%s%N) - START)) 'BEGIN { printf "%.1f s", ns / 1e9 }'; }

# --- 1. build ----------------------------------------------------------------
step "building release binaries for the host, $ARM64 and $ARMHF"
timeout "$BUILD_TIMEOUT" "$CARGO" build --release --bins
timeout "$BUILD_TIMEOUT" "$CARGO" build --release --bins --target "$ARM64"
timeout "$BUILD_TIMEOUT" "$CARGO" build --release --bins --target "$ARMHF"
echo "built ($(elapsed))"

# --- 2. golden vectors under qemu --------------------------------------------
for t in "$ARM64" "$ARMHF"; do
    step "golden vectors of docs/PROTOCOL.md on $t (under qemu, via the cargo runner)"
    if ! timeout "$BUILD_TIMEOUT" "$CARGO" test --release --target "$t" --test protocol_doc \
        >"$WORK/golden-$t.log" 2>&1; then
        cat "$WORK/golden-$t.log" >&2
        die "tests/protocol_doc.rs fails on $t"
    fi
    grep -E "Running|^test |test result" "$WORK/golden-$t.log" | sed 's/^/  /'
done

# --- 3. ELF headers ----------------------------------------------------------
step "ELF headers of the binaries"
python3 - "$HOST_BIN" "$ARM64_BIN" "$ARMHF_BIN" <<'EOF'
import struct, sys

EM = {62: "x86-64", 183: "AArch64", 40: "ARM"}
# (directory, e_machine, ELF class, interpreter)
WANT = [
    (sys.argv[1], 62, 2, "/lib64/ld-linux-x86-64.so.2"),
    (sys.argv[2], 183, 2, "/lib/ld-linux-aarch64.so.1"),
    (sys.argv[3], 40, 1, "/lib/ld-linux-armhf.so.3"),
]

def describe(path):
    with open(path, "rb") as f:
        elf = f.read()
    if elf[:4] != b"\x7fELF":
        raise SystemExit(f"arm-test: FAIL: {path} is not an ELF file")
    cls, data = elf[4], elf[5]
    if data != 1:
        raise SystemExit(f"arm-test: FAIL: {path} is not little-endian")
    if cls == 2:
        (e_type, machine, _, _, phoff, _, flags, _, phentsize, phnum) = struct.unpack_from("<HHIQQQIHHH", elf, 16)
    else:
        (e_type, machine, _, _, phoff, _, flags, _, phentsize, phnum) = struct.unpack_from("<HHIIIIIHHH", elf, 16)
    interp = None
    for i in range(phnum):
        at = phoff + i * phentsize
        p_type = struct.unpack_from("<I", elf, at)[0]
        if p_type == 3:  # PT_INTERP
            if cls == 2:
                off, _, _, size = struct.unpack_from("<QQQQ", elf, at + 8)
            else:
                off, _, _, size = struct.unpack_from("<IIII", elf, at + 4)
            interp = elf[off:off + size].rstrip(b"\0").decode()
    return cls, machine, flags, interp

bad = False
for directory, machine, cls, interp in WANT:
    for name in ("piworker", "pisubmit"):
        path = f"{directory}/{name}"
        got_cls, got_machine, flags, got_interp = describe(path)
        text = f"ELF {32 * got_cls}-bit LSB, {EM.get(got_machine, got_machine)}"
        ok = (got_cls, got_machine, got_interp) == (cls, machine, interp)
        if got_machine == 40:
            eabi = flags >> 24
            hard = bool(flags & 0x400)  # EF_ARM_ABI_FLOAT_HARD
            text += f", EABI{eabi}, {'hard' if hard else 'soft'}-float"
            ok = ok and eabi == 5 and hard
        text += f", interpreter {got_interp}"
        print(f"  {path:<48} {text}{'' if ok else '   <-- WRONG'}")
        bad = bad or not ok
if bad:
    raise SystemExit("arm-test: FAIL: a binary is not built for the architecture its directory names")
EOF

# --- 4. workers ---------------------------------------------------------------
# shellcheck source=loopback-workers.sh
. scripts/loopback-workers.sh

step "starting piworkers on 127.0.0.1"
start_worker amd64 "$HOST_BIN/piworker"
AMD64_ADDR=$ADDR
start_worker arm64 "${QEMU_ARM64[@]}" "$ARM64_BIN/piworker"
ARM64_ADDR=$ADDR
start_worker armhf "${QEMU_ARMHF[@]}" "$ARMHF_BIN/piworker"
ARMHF_ADDR=$ADDR
ALL_ADDR=$AMD64_ADDR,$ARM64_ADDR,$ARMHF_ADDR

# --- 5. inputs ----------------------------------------------------------------
python3 - "$WORK" <<'EOF'
import random, struct, sys
work = sys.argv[1]
rng = random.Random(7)
# Seed 002's long integers, negatives too: exact i128 sums on every arch.
with open(f"{work}/longs.txt", "w") as f:
    for i in range(40000):
        f.write("%d\n" % (rng.choice((1, -1)) * (1234567890123456 + rng.randrange(10**15))))
# Decimals and a comment: the text sum falls back to the exact f64 sum.
with open(f"{work}/decimals.txt", "w") as f:
    f.write("# decimals\n")
    for i in range(40000):
        f.write("%.6f\n" % rng.uniform(-1e6, 1e6))
# Big-endian i64 near the ends of the range: the sum needs more than 64 bits.
with open(f"{work}/values.i64", "wb") as f:
    for i in range(100000):
        f.write(struct.pack(">q", rng.choice((1, -1)) * rng.randrange(2**62, 2**63 - 1)))
# Big-endian f64 over many magnitudes: a naive sum would depend on the order.
with open(f"{work}/values.f64", "wb") as f:
    for i in range(100000):
        f.write(struct.pack(">d", rng.uniform(-1, 1) * 10.0 ** rng.randrange(-20, 21)))
EOF

# --- 6. jobs ------------------------------------------------------------------
JOBS=(
    "ping"
    "loopsum"
    "loopsum --t-range -300..9001 --u-len 7001 --c 0.1"
    "pi --samples 200000 --seed 7"
    "primes --from 1 --to 2000000"
    "powers --nums 1.5,2,3 --exps 1,2,0.5,-3"
    "reduce --op sum --input $WORK/longs.txt"
    "reduce --op sum --input $WORK/decimals.txt"
    "reduce --op max --input $WORK/decimals.txt"
    "reduce --op sum --dtype i64be --input $WORK/values.i64"
    "reduce --op min --dtype i64be --input $WORK/values.i64"
    "reduce --op sum --dtype f64be --input $WORK/values.f64"
    "reduce --op count --dtype f64be --input $WORK/values.f64"
    "echo --bytes 3000000"
)

# Runs one pisubmit (the command prefix in the array named by $1) with
# --json against the hosts $3; $4 is the job, split on spaces; the JSON goes
# to $2. Bounded twice: --timeout and timeout(1).
submit() {
    local -n cmd=$1
    local out=$2 hosts=$3 job=$4
    local -a args
    read -ra args <<<"$job"
    if ! timeout "$JOB_TIMEOUT" "${cmd[@]}" --hosts "$hosts" --json --timeout $((JOB_TIMEOUT - 10)) \
        "${args[@]}" </dev/null >"$out" 2>"$out.err"; then
        echo "arm-test: pisubmit $job against $hosts failed:" >&2
        cat "$out.err" >&2
        return 1
    fi
}

HOST_SUBMIT=("$HOST_BIN/pisubmit")
ARM64_SUBMIT=("${QEMU_ARM64[@]}" "$ARM64_BIN/pisubmit")
ARMHF_SUBMIT=("${QEMU_ARMHF[@]}" "$ARMHF_BIN/pisubmit")

step "jobs from the host's pisubmit (amd64) to each worker, and to all three at once"
FAILED=0
n=0
for job in "${JOBS[@]}"; do
    n=$((n + 1))
    submit HOST_SUBMIT "$WORK/$n.amd64.json" "$AMD64_ADDR" "$job" || FAILED=1
    submit HOST_SUBMIT "$WORK/$n.arm64.json" "$ARM64_ADDR" "$job" || FAILED=1
    submit HOST_SUBMIT "$WORK/$n.armhf.json" "$ARMHF_ADDR" "$job" || FAILED=1
    submit HOST_SUBMIT "$WORK/$n.all3.json" "$ALL_ADDR" "$job" || FAILED=1
done

# The arm pisubmits too: a 32-bit head must plan and combine like a 64-bit one.
ARM_SUBMIT_JOBS=(3 4 7 10 12)
for i in "${ARM_SUBMIT_JOBS[@]}"; do
    job=${JOBS[$((i - 1))]}
    submit ARM64_SUBMIT "$WORK/$i.head-arm64.json" "$ALL_ADDR" "$job" || FAILED=1
    submit ARMHF_SUBMIT "$WORK/$i.head-armhf.json" "$ALL_ADDR" "$job" || FAILED=1
done
[ "$FAILED" = 0 ] || die "a pisubmit run failed (see above)"

# Compares every answer field (all but wall_ms and hosts) with the native
# worker's and prints the table.
python3 - "$WORK" "${ARM_SUBMIT_JOBS[*]}" "${JOBS[@]}" <<'EOF'
import json, sys
work, arm_heads, jobs = sys.argv[1], set(sys.argv[2].split()), sys.argv[3:]
IGNORED = {"wall_ms", "hosts"}
ARCHS = {"amd64": ["amd64"], "arm64": ["arm64"], "armhf": ["armhf"], "all3": ["amd64", "arm64", "armhf"]}

def load(n, who):
    with open(f"{work}/{n}.{who}.json") as f:
        return json.load(f)

def answer(doc):
    return {k: v for k, v in doc.items() if k not in IGNORED}

def short(v, width=34):
    s = v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))
    return s if len(s) <= width else s[: width - 3] + "..."

mismatches = []
labels = [job.replace(work + "/", "") for job in jobs]
W = max(len(label) for label in labels)
print(f"  {'job':<{W}}  {'answer (amd64 worker)':<34}  arm64 armhf all3  "
      f"{'ms amd64':>8} {'arm64':>7} {'armhf':>7}")
for n, (job, label) in enumerate(zip(jobs, labels), 1):
    ref = load(n, "amd64")
    marks = []
    for who in ("arm64", "armhf", "all3"):
        doc = load(n, who)
        archs = [h.get("arch") for h in doc.get("hosts", [])]
        want = answer(ref)
        if job == "ping":
            want["result"] = len(ARCHS[who])  # ping answers with the number of workers
        ok = True
        if answer(doc) != want:
            ok = False
            mismatches.append(f"{label}: the {who} worker(s) answered {json.dumps(answer(doc))}, "
                              f"expected (from the amd64 worker) {json.dumps(want)}")
        if archs != ARCHS[who]:
            ok = False
            mismatches.append(f"{label}: the {who} run reports arch {archs}, expected {ARCHS[who]}")
        marks.append("  =  " if ok else " DIFF")
    ref_archs = [h.get("arch") for h in ref.get("hosts", [])]
    if ref_archs != ["amd64"]:
        mismatches.append(f"{label}: the native worker reports arch {ref_archs}, expected ['amd64']")
    if job == "ping":
        shown = "arch " + "/".join(h["arch"] for h in load(n, "all3")["hosts"])
    else:
        extra = "".join(f" {k}={ref[k]}" for k in ("inside", "max") if k in ref)
        shown = short(short(ref.get("result"), 34 - len(extra)) + extra)
    ms = [load(n, w).get("wall_ms", 0) for w in ("amd64", "arm64", "armhf")]
    print(f"  {label:<{W}}  {shown:<34}  {' '.join(marks)} {ms[0]:>8.1f} {ms[1]:>7.1f} {ms[2]:>7.1f}")

print()
print("  the arm pisubmits (under qemu) against all three workers:")
for n, (job, label) in enumerate(zip(jobs, labels), 1):
    if str(n) not in arm_heads:
        continue
    ref = load(n, "amd64")
    marks = []
    for who in ("head-arm64", "head-armhf"):
        doc = load(n, who)
        ok = answer(doc) == answer(ref)
        if not ok:
            mismatches.append(f"{label}: the {who} pisubmit got {json.dumps(answer(doc))}, "
                              f"the amd64 one {json.dumps(answer(ref))}")
        marks.append(f"{who[5:]} {'=' if ok else 'DIFF'}")
    print(f"  {label:<{W}}  {short(ref.get('result')):<34}  {'  '.join(marks)}")

if mismatches:
    print(file=sys.stderr)
    for m in mismatches:
        print("arm-test: MISMATCH: " + m, file=sys.stderr)
    raise SystemExit("arm-test: FAIL: %d answer(s) differ between architectures" % len(mismatches))
EOF

# --- 7. memory budget --------------------------------------------------------
# tests/e2e_memory.rs (built for the host) against each arm worker under
# qemu: the 23-byte life Submit that aborted the 32-bit build, every kind at
# and past its limits, and the per-worker budget, each refused with an Error
# frame naming the budget while the worker answers the next job.
for t in "$ARM64" "$ARMHF"; do
    case $t in
        "$ARM64") cmd="${QEMU_ARM64[*]} $ARM64_BIN/piworker" ;;
        *) cmd="${QEMU_ARMHF[*]} $ARMHF_BIN/piworker" ;;
    esac
    step "memory budget on $t (tests/e2e_memory.rs against a worker under qemu)"
    if ! PIWORKER_WORKER_CMD="$cmd" timeout "$BUILD_TIMEOUT" "$CARGO" test --release --test e2e_memory \
        >"$WORK/memory-$t.log" 2>&1; then
        cat "$WORK/memory-$t.log" >&2
        die "tests/e2e_memory.rs fails against the $t worker"
    fi
    grep -E "^test |test result" "$WORK/memory-$t.log" | sed 's/^/  /'
done

step "arm-test: OK: arm64 and armhf (under qemu) answer every job exactly as amd64 does ($(elapsed))"
