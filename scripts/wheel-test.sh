#!/usr/bin/env bash
# The wheels of `make wheels`, installed as a head would install them:
#
#  1. builds the three wheels (scripts/build-wheels.sh: warm builds reuse
#     target/) and checks their names, tags and extension modules: the ELF
#     machine of each, stripped, no libpython linked;
#  2. starts two native piworkers on 127.0.0.1 and records pisubmit --json's
#     answers to the jobs of scripts/wheel-check.py;
#  3. installs the x86_64 wheel with pip, offline, into a fresh venv (no
#     system site-packages, so no NumPy: the package's no-NumPy path) and
#     requires the same answers through the package;
#  4. does the same with the aarch64 wheel inside an arm64 Debian bookworm
#     tree (debootstrap, kept in target/wheel-arm64) under qemu-user through
#     binfmt_misc, with the tree's own python3 (3.11): a chroot in the same
#     network namespace, so 127.0.0.1 reaches the native workers.
#
# The armv7 wheel is checked by its name and ELF header only (no armhf tree).
# Needs root (chroot, mounts, binfmt_misc), debootstrap, qemu-user-static,
# binfmt-support and python3-venv: `make build-deps`. Exits non-zero on any
# failure; run with `bash scripts/wheel-test.sh`; tests/python_wheels.rs runs it.
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-target}
CARGO=${CARGO:-cargo}
BIN=$TARGET_DIR/release
WHEELS=$TARGET_DIR/wheels
ARM_TREE=$TARGET_DIR/wheel-arm64/root   # debootstrap'd once, reused
STEP_TIMEOUT=${WHEEL_TEST_STEP_TIMEOUT:-1800} # seconds for a build or debootstrap
RUN_TIMEOUT=${WHEEL_TEST_RUN_TIMEOUT:-300}    # seconds for installing and checking one wheel
# The interpreter a head has: Debian's, not one a developer put first on PATH.
PYTHON=$(command -v /usr/bin/python3 || command -v python3 || true)

WORK=$(mktemp -d -t piworker-wheel-test.XXXXXX)
INSIDE=/tmp/piworker-wheel-test   # the work directory as the arm64 tree sees it
PIDS=()

cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK" "${ARM_TREE:?}$INSIDE"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
    echo "wheel-test: FAIL: $*" >&2
    exit 1
}

step() {
    echo
    echo "== $*"
}

START=$(date +%s%N)
elapsed() { awk -v ns=$(($(date +%s%N) - START)) 'BEGIN { printf "%.1f s", ns / 1e9 }'; }

# --- prerequisites -----------------------------------------------------------
[ "$(uname -m)" = x86_64 ] || die "this check expects an amd64 (x86_64) host, not $(uname -m)"
[ "$(id -u)" = 0 ] || die "needs root (chroot into the arm64 tree, mounts, binfmt_misc)"
for tool in debootstrap qemu-aarch64-static update-binfmts unshare chroot timeout; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is not on PATH; run \`make build-deps\` (as root)"
done
[ -n "$PYTHON" ] || die "python3 is not installed"

# --- 1. the wheels -----------------------------------------------------------
step "building the wheels (scripts/build-wheels.sh) and the host's binaries"
timeout "$STEP_TIMEOUT" bash scripts/build-wheels.sh >"$WORK/build.log" 2>&1 \
    || { cat "$WORK/build.log" >&2; die "scripts/build-wheels.sh failed"; }
timeout "$STEP_TIMEOUT" "$CARGO" build --release --bins --quiet
echo "built ($(elapsed))"

step "names, tags and extension modules of the wheels"
"$PYTHON" - "$WHEELS" <<'EOF'
import glob, os, re, struct, sys, zipfile

EM = {62: "x86-64", 183: "AArch64", 40: "ARM"}
# Wheel platform -> (e_machine, ELF class); PEP 600 tags, or plain linux.
WANT = {"x86_64": (62, 2), "aarch64": (183, 2), "armv7l": (40, 1)}
NAME = re.compile(r"^piworker-(?P<version>[0-9][^-]*)-cp39-abi3-(?P<tag>manylinux_2_\d+|linux)_(?P<arch>\w+)\.whl$")

def section_names(elf, cls):
    """The names of the ELF's sections, to see that it is stripped."""
    if cls == 2:
        shoff, = struct.unpack_from("<Q", elf, 40)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 58)
        fields = lambda at: struct.unpack_from("<IIQQQQ", elf, at)
    else:
        shoff, = struct.unpack_from("<I", elf, 32)
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", elf, 46)
        fields = lambda at: struct.unpack_from("<IIIIII", elf, at)
    strtab = fields(shoff + shstrndx * shentsize)
    names_at, names_size = strtab[4], strtab[5]
    names = elf[names_at:names_at + names_size]
    out = []
    for i in range(shnum):
        name_off = fields(shoff + i * shentsize)[0]
        out.append(names[name_off:names.index(b"\0", name_off)].decode())
    return out

wheels = sorted(glob.glob(os.path.join(sys.argv[1], "piworker-*.whl")))
found, bad = {}, []
for path in wheels:
    name = os.path.basename(path)
    m = NAME.match(name)
    if not m:
        bad.append(f"{name}: not named piworker-VERSION-cp39-abi3-PLATFORM.whl")
        continue
    arch = m["arch"]
    if arch not in WANT:
        bad.append(f"{name}: unexpected platform {arch}")
        continue
    with zipfile.ZipFile(path) as z:
        sos = [n for n in z.namelist() if n.endswith(".so")]
        if sos != ["piworker/_piworker.abi3.so"]:
            bad.append(f"{name}: holds {sos}, expected piworker/_piworker.abi3.so alone")
            continue
        elf = z.read(sos[0])
        wheel_meta = z.read(f"piworker-{m['version']}.dist-info/WHEEL").decode()
    machine, cls = struct.unpack_from("<H", elf, 18)[0], elf[4]
    text = f"ELF {32 * cls}-bit, {EM.get(machine, machine)}"
    ok = (machine, cls) == WANT[arch] and elf[:4] == b"\x7fELF"
    if machine == 40:
        flags, = struct.unpack_from("<I", elf, 36)
        eabi, hard = flags >> 24, bool(flags & 0x400)  # EF_ARM_ABI_FLOAT_HARD
        text += f", EABI{eabi}, {'hard' if hard else 'soft'}-float"
        ok = ok and eabi == 5 and hard
    sections = section_names(elf, cls)
    stripped = ".symtab" not in sections and ".debug_info" not in sections
    text += ", stripped" if stripped else ", NOT stripped"
    if b"libpython" in elf:
        bad.append(f"{name}: the extension names libpython (an abi3 module must not link it)")
    if f"Tag: cp39-abi3-{m['tag']}_{arch}" not in wheel_meta:
        bad.append(f"{name}: its WHEEL file does not carry the tag of its name:\n{wheel_meta}")
    if not ok or not stripped:
        bad.append(f"{name}: {text}, expected {EM[WANT[arch][0]]}")
    found[arch] = name
    print(f"  {name:<58} {os.path.getsize(path) / 1e6:.2f} MB  {text}")
missing = sorted(set(WANT) - set(found))
if missing:
    bad.append(f"no wheel for {', '.join(missing)} in {sys.argv[1]}")
if bad:
    sys.exit("wheel-test: FAIL:\n  " + "\n  ".join(bad))
EOF
X86_WHEEL=$(ls "$WHEELS"/piworker-*_x86_64.whl)
ARM64_WHEEL=$(ls "$WHEELS"/piworker-*_aarch64.whl)

# --- 2. workers and pisubmit's answers ----------------------------------------
# shellcheck source=loopback-workers.sh
. scripts/loopback-workers.sh
step "two piworkers on 127.0.0.1, and pisubmit --json's answers"
start_worker one "$BIN/piworker"
HOSTS=$ADDR
start_worker two "$BIN/piworker"
HOSTS=$HOSTS,$ADDR
timeout "$RUN_TIMEOUT" "$PYTHON" scripts/wheel-check.py expect "$BIN/pisubmit" "$HOSTS" "$WORK" \
    || die "pisubmit's answers could not be recorded"

# --- 3. the x86_64 wheel in a fresh venv -------------------------------------
step "$(basename "$X86_WHEEL") in a fresh venv (no NumPy), $("$PYTHON" --version)"
"$PYTHON" -m venv "$WORK/venv" || die "cannot make a venv with $PYTHON (python3-venv; make build-deps)"
timeout "$RUN_TIMEOUT" "$WORK/venv/bin/pip" install --quiet --no-index --disable-pip-version-check "$X86_WHEEL" \
    || die "pip refused $(basename "$X86_WHEEL")"
# From /, so that no source tree is on the path: the wheel's package or nothing.
(cd / && timeout "$RUN_TIMEOUT" "$WORK/venv/bin/python" "$OLDPWD/scripts/wheel-check.py" check "$HOSTS" "$WORK") \
    || die "the x86_64 wheel's answers differ from pisubmit's (see above)"
echo "x86_64 wheel OK ($(elapsed))"

# --- 4. the aarch64 wheel on arm64 Debian under qemu-user --------------------
# binfmt_misc runs the tree's arm64 programs through qemu; Debian registers
# qemu-aarch64 with the F flag, so the interpreter works inside the chroot.
[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || die "cannot mount binfmt_misc"
update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 2>/dev/null \
    || die "qemu-aarch64 is not registered with binfmt_misc (qemu-user-static, binfmt-support: make build-deps)"

if [ ! -f "$ARM_TREE/.complete" ]; then
    step "debootstrap --arch arm64 bookworm (minbase, python3, python3-venv) into $ARM_TREE"
    rm -rf "$ARM_TREE" "$ARM_TREE.tmp"
    mkdir -p "$(dirname "$ARM_TREE")"
    timeout "$STEP_TIMEOUT" debootstrap --arch arm64 --variant=minbase --include=python3,python3-venv \
        bookworm "$ARM_TREE.tmp" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log" >&2; die "debootstrap of the arm64 tree failed"; }
    mv "$ARM_TREE.tmp" "$ARM_TREE"
    touch "$ARM_TREE/.complete"
    echo "made ($(elapsed))"
fi

step "$(basename "$ARM64_WHEEL") on arm64 Debian bookworm under qemu-user"
mkdir -p "$ARM_TREE$INSIDE"
cp "$ARM64_WHEEL" scripts/wheel-check.py "$WORK/expected.json" "$WORK"/*.txt "$ARM_TREE$INSIDE/"
# In a mount namespace of its own: /proc and /dev for the chroot go away
# with it, whatever happens. The network namespace is the host's.
timeout --kill-after=10 "$RUN_TIMEOUT" unshare --mount --propagation private sh -euc '
    tree=$1 inside=$2 hosts=$3 wheel=$4
    mount -t proc proc "$tree/proc"
    mount --rbind /dev "$tree/dev"
    exec chroot "$tree" /usr/bin/env -i PATH=/usr/bin:/bin HOME=/root sh -euc "
        cd /
        echo \"  \$(uname -m), \$(python3 --version), Debian \$(cat /etc/debian_version)\"
        [ \"\$(uname -m)\" = aarch64 ] || { echo \"not an aarch64 userland\" >&2; exit 1; }
        python3 -m venv $inside/venv
        $inside/venv/bin/pip install --quiet --no-index --disable-pip-version-check $inside/$wheel
        # The python3 of the tree itself (3.11 in bookworm) imports the cp39-abi3 wheel.
        $inside/venv/bin/python -c \"import sys, piworker; assert sys.version_info[:2] == (3, 11), sys.version\"
        $inside/venv/bin/python $inside/wheel-check.py check $hosts $inside
    "
' sh "$ARM_TREE" "$INSIDE" "$HOSTS" "$(basename "$ARM64_WHEEL")" \
    || die "the aarch64 wheel failed on arm64 Debian (see above)"

step "wheel-test: OK: the x86_64 and aarch64 wheels answer as pisubmit does; armv7 checked by its header ($(elapsed))"
