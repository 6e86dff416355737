#!/usr/bin/env bash
# Finishes the .deb files cargo-deb built, before anything reads them:
# - checks that packaging/debian/changelog (shipped as changelog.Debian.gz)
#   has an entry for the package's version, so that a version bump in
#   Cargo.toml cannot ship a changelog that stops at an older version;
# - adds DEBIAN/md5sums (scripts/deb-md5sums.sh), which cargo-deb 3 does
#   not write. dpkg --verify and debsums read it to find files changed on
#   disk, and lintian reports its absence.
# Run by `make deb`, `make deb-arm64` and `make deb-armhf` right after
# cargo-deb. Running it twice on one package gives the same bytes.
# Usage: scripts/deb-finish.sh PACKAGE.deb...
set -euo pipefail

[ $# -gt 0 ] || { echo "usage: $0 PACKAGE.deb..." >&2; exit 2; }
changelog=$(cd "$(dirname "$0")/.." && pwd)/packaging/debian/changelog

for deb in "$@"; do
    [ -f "$deb" ] || { echo "deb-finish: $deb: no such package" >&2; exit 1; }
    version=$(dpkg-deb -f "$deb" Version)
    logged=$(dpkg-parsechangelog -l "$changelog" -S Version)
    if [ "$version" != "$logged" ]; then
        echo "deb-finish: $deb is version $version but the top entry of $changelog is $logged:" \
             "add an entry for $version (dch -v $version)" >&2
        exit 1
    fi
    tree=$(mktemp -d "${TMPDIR:-/tmp}/deb-finish.XXXXXX")
    trap 'rm -rf "$tree"' EXIT
    dpkg-deb -R "$deb" "$tree/root"
    bash "$(dirname "$0")/deb-md5sums.sh" "$tree/root"
    # The tree was unpacked with the archive's owners and times; rebuild it
    # owned by root and compressed with xz as cargo-deb did, and keep its
    # timestamp (the one cargo-deb gave every file) so that the same commit
    # still gives the same bytes.
    stamp=$(stat -c %Y "$tree/root/usr")
    touch -d "@$stamp" "$tree/root" "$tree/root/DEBIAN/md5sums"
    SOURCE_DATE_EPOCH=$stamp dpkg-deb --root-owner-group -Zxz -b "$tree/root" "$tree/new.deb" >/dev/null
    mv "$tree/new.deb" "$deb"
    echo "deb-finish: $deb: $(wc -l < "$tree/root/DEBIAN/md5sums") files summed"
    rm -rf "$tree"
    trap - EXIT
done
