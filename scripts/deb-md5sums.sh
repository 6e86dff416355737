#!/usr/bin/env bash
# Writes TREE/DEBIAN/md5sums for a package unpacked with `dpkg-deb -R`,
# by debhelper's dh_md5sums rules: every regular file of the package but
# the conffiles (dpkg keeps their sums itself), paths without a leading
# slash, sorted. Used by scripts/deb-finish.sh and scripts/build-next.sh.
# Usage: scripts/deb-md5sums.sh TREE
set -euo pipefail

[ $# = 1 ] && [ -d "$1/DEBIAN" ] || { echo "usage: $0 TREE (a package unpacked by dpkg-deb -R)" >&2; exit 2; }
cd "$1"
conffiles=DEBIAN/conffiles
[ -f "$conffiles" ] || conffiles=/dev/null
find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort \
    | grep -vxF -f <(sed 's|^/||' "$conffiles") \
    | tr '\n' '\0' | xargs -0 -r md5sum >DEBIAN/md5sums
chmod 0644 DEBIAN/md5sums
[ -s DEBIAN/md5sums ] || { echo "deb-md5sums: $1: no files to sum" >&2; exit 1; }
