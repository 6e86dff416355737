#!/usr/bin/env bash
# The rolling-upgrade test's "next release": this source with the patch
# version and the protocol minor each one higher, built and packaged as an
# amd64 .deb that upgrades the one `make deb` made. scripts/install-test.sh
# upgrades running Pis to it one at a time during a job, the way a lab
# moves from one release to the next (README: "Upgrading a running
# cluster").
#
# The copy of the source is built in a target directory of its own, so
# target/release (which every other test runs) is never touched; that
# directory starts as a copy of target/release's dependencies, so only
# piworker itself is compiled. The package is `make deb`'s, opened with
# dpkg-deb, given the new binaries, version and md5sums, and closed again.
# Writes target/next/piworker_NEXT-1_amd64.deb and prints its path.
# Usage: scripts/build-next.sh [PACKAGE.deb]   (default: target/debian's amd64 one)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
NEXT=$ROOT/target/next
DEB=${1:-$(find "$ROOT/target/debian" -maxdepth 1 -name 'piworker_*_amd64.deb' 2>/dev/null | sort -V | tail -1)}
[ -n "$DEB" ] && [ -f "$DEB" ] || { echo "build-next: no amd64 package: run 'make deb' first" >&2; exit 2; }

version=$(sed -n 's/^version = "\([0-9]*\)\.\([0-9]*\)\.\([0-9]*\)"$/\1.\2.\3/p' Cargo.toml | head -1)
minor=$(sed -n 's/^pub const PROTOCOL_MINOR: u8 = \([0-9]*\);$/\1/p' src/protocol/frame.rs)
[ -n "$version" ] && [ -n "$minor" ] || { echo "build-next: cannot read the version or the protocol minor" >&2; exit 1; }
next_version=${version%.*}.$((${version##*.} + 1))
next_minor=$((minor + 1))
[ "$(dpkg-deb -f "$DEB" Version)" = "$version-1" ] \
    || { echo "build-next: $DEB is not version $version-1: run 'make deb'" >&2; exit 1; }

# The source, with the two numbers bumped. The Python package is a member
# of the workspace, so its manifest comes too (it is not built).
tree=$NEXT/source
rm -rf "$tree"
mkdir -p "$tree/python" "$tree/packaging"
cp -a Cargo.toml Cargo.lock src "$tree/"
cp -a packaging/60-piworker.conf "$tree/packaging/"   # doctor compares the sysctls with it
cp -a python/Cargo.toml python/src "$tree/python/"
sed -i "0,/^version = \"$version\"\$/s//version = \"$next_version\"/" "$tree/Cargo.toml"
sed -i "s/^pub const PROTOCOL_MINOR: u8 = $minor;\$/pub const PROTOCOL_MINOR: u8 = $next_minor;/" "$tree/src/protocol/frame.rs"
grep -q "^version = \"$next_version\"" "$tree/Cargo.toml" || { echo "build-next: could not bump the version" >&2; exit 1; }
grep -q "PROTOCOL_MINOR: u8 = $next_minor;" "$tree/src/protocol/frame.rs" || { echo "build-next: could not bump the minor" >&2; exit 1; }
# The lock file names the package's version.
sed -i "/^name = \"piworker\"\$/{n;s/^version = \"$version\"\$/version = \"$next_version\"/}" "$tree/Cargo.lock"

# Dependencies from the main build, once: only piworker is compiled here.
if [ ! -d "$NEXT/target/release/deps" ] && [ -d target/release/deps ]; then
    mkdir -p "$NEXT/target/release"
    cp -a target/release/deps target/release/build target/release/.fingerprint "$NEXT/target/release/"
fi
echo "build-next: building piworker $next_version (protocol 1.$next_minor) in $NEXT/target" >&2
cargo build --release --bins --manifest-path "$tree/Cargo.toml" --target-dir "$NEXT/target" >&2

for bin in piworker pisubmit; do
    got=$("$NEXT/target/release/$bin" --version)
    case "$got" in *"$next_version"*) ;; *) echo "build-next: $bin --version says '$got'" >&2; exit 1;; esac
done

# The package: make deb's, with the new binaries and version.
pkg=$NEXT/package
rm -rf "$pkg"
dpkg-deb -R "$DEB" "$pkg"
install -m 755 "$NEXT/target/release/piworker" "$NEXT/target/release/pisubmit" "$pkg/usr/bin/"
sed -i "s/^Version: .*/Version: $next_version-1/" "$pkg/DEBIAN/control"
bash scripts/deb-md5sums.sh "$pkg"
out=$NEXT/piworker_${next_version}-1_amd64.deb
dpkg-deb -b --root-owner-group "$pkg" "$out" >/dev/null
rm -rf "$pkg"
echo "$out"
