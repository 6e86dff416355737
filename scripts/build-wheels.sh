#!/usr/bin/env bash
# Builds the Python package's wheels for the head machines people have, into
# target/wheels/ (what `make wheels` runs):
#
#   x86_64   a PC or laptop as head         piworker-V-cp39-abi3-manylinux_2_X_x86_64.whl
#   aarch64  a Pi 3/4/5 on a 64-bit OS     piworker-V-cp39-abi3-manylinux_2_X_aarch64.whl
#   armv7    a Pi 2/3/4/5 on a 32-bit OS   piworker-V-cp39-abi3-manylinux_2_X_armv7l.whl
#
# abi3 (PyO3's abi3-py39 feature, python/Cargo.toml): one wheel per machine
# serves every CPython from 3.9 on. Such an extension does not link
# libpython, so PyO3 needs no interpreter of the target to cross-compile it
# (no PYO3_CROSS_LIB_DIR or sysconfigdata): its build script takes the
# stable ABI of the minimum version, 3.9, and maturin tags the wheel
# cp39-abi3. The cross linkers are those of .cargo/config.toml.
#
# The platform tag is maturin's own audit of the linked symbols: it tags a
# wheel manylinux_2_X with the lowest X whose glibc has every versioned
# symbol the extension uses, and refuses to build if a library outside the
# manylinux set (libc, libm, libgcc_s, ...) is linked. Built on Debian 12
# (glibc 2.36) against its glibc, Rust's std uses symbols from up to glibc
# 2.34 (pthread_* moved into libc then), so the tag is manylinux_2_34 on
# every arch and not manylinux2014 (glibc 2.17): pip installs it on Debian
# 12, Ubuntu 22.04, Raspberry Pi OS bookworm and later, and refuses it,
# rightly, on older systems (bullseye's glibc 2.31). --compatibility is not
# forced, so the tag follows the symbols if they change.
#
# Stripped (the workspace's release profile, strip = true) and LTO-built:
# a wheel is about a megabyte. The host's wheel is built in target/release
# and the arm ones in target/<triple>/release, next to the binaries, so
# warm builds reuse what `cargo build --release` and scripts/arm-test.sh
# already built.
#
# maturin comes from PyPI into a venv under target/ (made on first use;
# `make build-deps` makes it too). Usage:
#   bash scripts/build-wheels.sh          build the three wheels
#   bash scripts/build-wheels.sh --tools  only make sure maturin is there
set -euo pipefail

cd "$(dirname "$0")/.."
TARGET_DIR=${CARGO_TARGET_DIR:-target}
TOOLS=$TARGET_DIR/wheel-tools
OUT=$TARGET_DIR/wheels
MATURIN_SPEC='maturin>=1.5,<2'   # the range python/pyproject.toml builds with
CROSS=(aarch64-unknown-linux-gnu armv7-unknown-linux-gnueabihf)
PYTHON=${PYTHON:-python3}

die() {
    echo "build-wheels: $*" >&2
    exit 1
}

# The venv holding maturin; Debian's python3 needs python3-venv for it.
if [ ! -x "$TOOLS/bin/maturin" ]; then
    rm -rf "$TOOLS"
    "$PYTHON" -m venv "$TOOLS" \
        || die "cannot make a venv with $PYTHON (Debian: apt-get install python3-venv, or make build-deps)"
    "$TOOLS/bin/pip" install --quiet --disable-pip-version-check "$MATURIN_SPEC" \
        || { rm -rf "$TOOLS"; die "cannot install $MATURIN_SPEC from PyPI into $TOOLS"; }
fi
[ "${1:-}" = --tools ] && exit 0
[ $# -eq 0 ] || die "unknown argument '$1' (usage: build-wheels.sh [--tools])"

SYSROOT=$(rustc --print sysroot)
for t in "${CROSS[@]}"; do
    [ -d "$SYSROOT/lib/rustlib/$t/lib" ] || die "the rustup target $t is missing (make build-deps)"
done
for linker in aarch64-linux-gnu-gcc arm-linux-gnueabihf-gcc; do
    command -v "$linker" >/dev/null || die "the cross linker $linker is missing (make build-deps)"
done

mkdir -p "$OUT"
rm -f "$OUT"/piworker-*.whl   # a wheel of an older version would be installed by mistake
build() {
    "$TOOLS/bin/maturin" build --release --quiet -m python/Cargo.toml --out "$OUT" "$@" \
        || die "maturin build $* failed"
}
build
for t in "${CROSS[@]}"; do
    build --target "$t"
done
ls -l "$OUT"/piworker-*.whl
